"""The pictures `descent train FOLDER --plots DIR` draws (headless: figures are never shown).

The loss per epoch, the confusion matrix, a grid of the misclassified pictures with the
probabilities the network gave, and the first convolution's filters.
"""

from __future__ import annotations

import os
from pathlib import Path

from descent.cli.plots import confusion_figure
from descent.data.image_set import ImageSet
from descent.explain.convolution import first_filters
from descent.explain.picture_plots import plot_filters, plot_misclassified
from descent.explain.training_plots import plot_loss, save_figure
from descent.pictures.training import ImageTrainResult


def write_picture_plots(result: ImageTrainResult, images: ImageSet,
                        folder: str | os.PathLike[str]) -> list[str]:
    """Write the four plots into `folder` (created if needed); returns the files written.

    The confusion matrix and the misclassified pictures are those of the test part (the
    validation part, or the training part, when there is no test part).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    part = result.scored_part
    rows = result.splits[part]
    y = images.labels[rows]
    classes = result.model.classes
    written = [save_figure(plot_loss(result.history, title="Loss per epoch (cross-entropy)"),
                           out / "loss.png")]
    written.append(save_figure(confusion_figure(
        y, result.probabilities.argmax(axis=1), classes, f"class, {part} pictures"),
        out / "confusion.png"))
    written.append(save_figure(plot_misclassified(
        images.images[rows], y, result.probabilities, classes,
        [images.files[i] for i in rows]), out / "misclassified.png"))
    written.append(save_figure(plot_filters(first_filters(result.model.network)),
                               out / "filters.png"))
    return written
