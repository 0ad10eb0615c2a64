"""Make the figures of docs/pictures.md (docs/img/pictures_*.png).

Trains the default picture network the way `descent train --images` does (seed 0), then
draws: sample pictures, the one-neuron template, two explanations, the misclassified test
pictures and the first layer's filters. Takes a few minutes on two cores.

    python bench/picture_figures.py [--out docs/img]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import descent as ds
from descent.explain import (
    first_filters,
    grad_cam,
    plot_explanation,
    plot_filters,
    plot_misclassified,
    saliency,
)
from descent.explain.training_plots import _figure, save_figure
from descent.pictures import train_images


def sample_grid(pets: ds.data.ImageSet, path: Path) -> None:
    fig = _figure(8.0, 2.4)
    rows = list(np.flatnonzero(pets.labels == 0)[:8]) + list(np.flatnonzero(pets.labels == 1)[:8])
    for k, i in enumerate(rows):
        ax = fig.add_subplot(2, 8, k + 1)
        ax.imshow(pets.images[i, 0], cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(pets.classes[pets.labels[i]], fontsize=8)
    save_figure(fig, path, dpi=110)


def neuron_template(pets: ds.data.ImageSet, train: np.ndarray, path: Path) -> None:
    X = pets.floats().reshape(len(pets), -1)
    neuron = ds.nn.MLP([784, 2], seed=0)
    ds.fit(neuron, X[train], pets.labels[train], loss="cross_entropy", optimizer="adam",
           lr=0.01, epochs=10, batch_size=64, seed=0, verbose=False)
    W = neuron[0].weight.data
    template = (W[:, 1] - W[:, 0]).reshape(28, 28)
    fig = _figure(4.2, 3.6)
    ax = fig.add_subplot()
    top = float(np.abs(template).max())
    shade = ax.imshow(template, cmap="RdBu_r", vmin=-top, vmax=top)
    fig.colorbar(shade, ax=ax, label="weight for dog − weight for cat")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("one neuron's 784 weights, as a picture", fontsize=10)
    save_figure(fig, path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img")
    parser.add_argument("--model", help="also save the trained model here")
    args = parser.parse_args()
    out = Path(args.out)
    pets = ds.data.load_cats_dogs()
    sample_grid(pets, out / "pictures_pets.png")
    train, _, _ = pets.split((0.7, 0.1, 0.2), seed=0)
    neuron_template(pets, train, out / "pictures_neuron.png")
    result = train_images(pets, seed=0, verbose=True)
    print({s.split: round(s.model["accuracy"], 4) for s in result.scores})
    model = result.model
    if args.model:
        model.save(args.model)
    test = result.splits["test"]
    # explain held-out pictures: the first test cat and the first test dog
    for name, k in (("cat", test[pets.labels[test] == 0][0]),
                    ("dog", test[pets.labels[test] == 1][0])):
        x = model.floats(pets.images[k:k + 1])
        proba = model.probabilities(pets.images[k:k + 1])[0]
        c = int(np.argmax(proba))
        fig = plot_explanation(pets.images[k], saliency(model.network, x, c)[0],
                               grad_cam(model.network, x, c).heatmap[0], proba, model.classes,
                               target=c, title=f"{pets.files[k]}: {model.classes[c]} "
                                               f"{proba[c]:.1%}")
        save_figure(fig, out / f"pictures_explain_{name}.png", dpi=90)
    save_figure(plot_misclassified(pets.images[test], pets.labels[test], result.probabilities,
                                   model.classes, [pets.files[i] for i in test], limit=12),
                out / "pictures_misclassified.png", dpi=80)
    save_figure(plot_filters(first_filters(model.network)), out / "pictures_filters.png",
                dpi=90)


if __name__ == "__main__":
    main()
