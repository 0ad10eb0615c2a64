"""The pictures `descent train --plots DIR` draws (headless: figures are never shown).

Loss curves, and for regression predicted against actual on the test rows; for
classification the confusion matrix of the test rows (and the decision regions when the
model has exactly two input features). Built on `descent.explain.training_plots`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from descent.tabular.table_training import TrainResult
from descent.train import predict_array

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: A count in every cell up to this many classes; beyond, the cells are shaded only.
LABELLED_CLASSES = 20
#: Class names on the axes up to this many classes; beyond, numbered ticks.
NAMED_CLASSES = 40
#: The confusion matrix's side stops growing here (150 dpi: 1,800 pixels).
MAX_FIGURE_INCHES = 12.0

#: Every file `write_training_plots` may write in its folder.
PLOT_FILES = ("loss.png", "predicted_vs_actual.png", "confusion.png", "decision_boundary.png")


def confusion_figure(y: np.ndarray, predicted: np.ndarray, classes: list[str],
                     title: str) -> Figure:
    """A matplotlib Figure of the confusion matrix: rows true class, columns predicted.

    >>> fig = confusion_figure(np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b"], "t")
    >>> fig.axes[0].get_xlabel()
    'predicted class'
    """
    from matplotlib.figure import Figure

    k = len(classes)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (y, predicted), 1)
    # The figure stops growing at a readable size (300 classes once asked for a 20,000-pixel
    # square image); past LABELLED_CLASSES the cells are shaded only, and past
    # NAMED_CLASSES the class names give way to numbered ticks.
    size = min(2.5 + 0.45 * k, MAX_FIGURE_INCHES)
    fig = Figure(figsize=(size + 1.2, size), layout="constrained")
    ax = fig.add_subplot()
    shade = ax.imshow(counts, cmap="Blues", interpolation="nearest")
    fig.colorbar(shade, ax=ax, label="rows")
    if k <= LABELLED_CLASSES:
        for i in range(k):
            for j in range(k):
                dark = counts[i, j] > counts.max() / 2
                ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                        color="white" if dark else "black", fontsize=9)
    if k <= NAMED_CLASSES:
        ax.set_xticks(range(k), classes, rotation=45 if k > 4 else 0)
        ax.set_yticks(range(k), classes)
    else:
        from matplotlib.ticker import MaxNLocator

        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(MaxNLocator(10, integer=True))
    numbered = "" if k <= NAMED_CLASSES else " (number, in the model's class order)"
    ax.set_xlabel(f"predicted class{numbered}")
    ax.set_ylabel(f"true class{numbered}")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"{title} (accuracy {accuracy:.1%})")
    return fig


def write_training_plots(result: TrainResult, folder: str | os.PathLike[str]) -> list[str]:
    """Write the plots into `folder` (created if needed); returns the files written.

    The prediction plots use the test rows (the validation rows, or the training rows, when
    there is no test part).
    """
    # Imported here, not at the top: `descent train` reads PLOT_FILES on every run, and
    # descent.explain (with its plotting helpers) is only wanted when --plots is given.
    from descent.explain.training_plots import (
        plot_decision_boundary,
        plot_loss,
        plot_predicted_vs_actual,
        save_figure,
    )

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = [save_figure(plot_loss(result.history, title="Loss per epoch (standardized "
                                     "target)" if result.model.task == "regression"
                                     else "Loss per epoch (cross-entropy)"), out / "loss.png")]
    part = next(p for p in ("test", "validation", "train") if p in result.data)
    Xs, y = result.data[part]
    model = result.model
    outputs = predict_array(model.network, Xs)
    if model.task == "regression":
        pred = model.predict_outputs(outputs).values
        written.append(save_figure(plot_predicted_vs_actual(
            y, pred, title=f"{model.target}: predicted vs actual, {part} rows"),
            out / "predicted_vs_actual.png"))
        return written
    classes = [str(c) for c in model.classes or []]
    written.append(save_figure(confusion_figure(y, outputs.argmax(axis=1), classes,
                                                f"{model.target}, {part} rows"),
                               out / "confusion.png"))
    if Xs.shape[1] == 2:
        features = [f"{name} (standardized)" for name in model.encoder.feature_names_]
        written.append(save_figure(plot_decision_boundary(
            model.network, Xs, y, logits=True,
            title=f"{model.target}: the classes the network predicts over the two inputs, "
                  f"{part} rows", feature_names=features, class_names=classes),
            out / "decision_boundary.png"))
    return written
