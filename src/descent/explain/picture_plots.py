"""Pictures of a picture network: misclassified pictures, filters, feature maps, and one
picture's explanation (saliency and Grad-CAM over the picture, the class probabilities).

Like `training_plots`, each function builds a matplotlib Figure without pyplot and, with
`path`, saves it. Pictures are uint8 or [0, 1] floats, (C, H, W) with C = 1 or 3.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from descent.explain.training_plots import _figure, _finish

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _show(ax: Any, picture: np.ndarray) -> None:
    """One picture (C, H, W) on an axis, gray or colour, at its true brightness."""
    p = np.asarray(picture)
    p = p.astype(np.float64) / 255.0 if p.dtype == np.uint8 else p.astype(np.float64)
    if p.shape[0] == 1:
        ax.imshow(p[0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(np.clip(np.moveaxis(p, 0, -1), 0, 1), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_misclassified(pictures: np.ndarray, y: np.ndarray, probabilities: np.ndarray,
                       classes: Sequence[str], files: Sequence[str] | None = None, *,
                       limit: int = 24, path: str | os.PathLike[str] | None = None) -> Figure:
    """A grid of the pictures the model got wrong, most confident mistakes first, each
    titled with its true class and the probability the model gave each class.

    pictures (n, C, H, W), y (n,) true classes, probabilities (n, K).

    >>> pics = np.zeros((3, 1, 4, 4), np.uint8)
    >>> fig = plot_misclassified(pics, np.array([0, 1, 0]),
    ...                          np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8]]), ["cat", "dog"])
    >>> len([ax for ax in fig.axes if ax.images])
    2
    """
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")][:limit]
    columns = min(6, max(1, len(wrong)))
    rows = max(1, math.ceil(len(wrong) / columns))
    fig = _figure(1.9 * columns + 0.4, 2.15 * rows + 0.6)
    if not len(wrong):
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified pictures", ha="center", va="center")
        return _finish(fig, path)
    for k, i in enumerate(wrong):
        ax = fig.add_subplot(rows, columns, k + 1)
        _show(ax, pictures[i])
        shares = " ".join(f"{c} {p:.2f}" for c, p in zip(classes, probabilities[i], strict=True))
        if len(classes) > 3:
            shares = f"says {classes[predicted[i]]} {probabilities[i, predicted[i]]:.2f}"
        ax.set_title(f"is {classes[y[i]]}\n{shares}", fontsize=7)
        if files is not None:
            ax.set_xlabel(os.path.basename(files[i]), fontsize=6)
    fig.suptitle(f"{len(np.flatnonzero(predicted != y))} of {len(y)} pictures misclassified "
                 f"(the {len(wrong)} most confident mistakes)", fontsize=10)
    return _finish(fig, path)


def plot_filters(weights: np.ndarray, *, title: str = "first-layer filters",
                 path: str | os.PathLike[str] | None = None) -> Figure:
    """Every filter of a convolution, weights (out, in, kh, kw): one tile per output channel
    (input channels averaged), on one symmetric colour scale: red positive, blue negative.

    >>> fig = plot_filters(np.random.default_rng(0).normal(size=(6, 1, 5, 5)))
    >>> len([ax for ax in fig.axes if ax.images])
    6
    """
    w = np.asarray(weights, dtype=np.float64).mean(axis=1)
    n = len(w)
    columns = min(8, n)
    rows = math.ceil(n / columns)
    fig = _figure(1.3 * columns + 1.2, 1.4 * rows + 0.7)
    top = float(np.abs(w).max()) or 1.0
    shade = None
    for k in range(n):
        ax = fig.add_subplot(rows, columns, k + 1)
        shade = ax.imshow(w[k], cmap="RdBu_r", vmin=-top, vmax=top, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(k), fontsize=8)
    fig.colorbar(shade, ax=fig.axes, shrink=0.8, label="weight")
    fig.suptitle(f"{title}: {weights.shape[0]} filters of {weights.shape[2]}x"
                 f"{weights.shape[3]}", fontsize=10)
    return _finish(fig, path)


def plot_feature_maps(maps: Sequence[tuple[str, np.ndarray]], *, limit: int = 8,
                      path: str | os.PathLike[str] | None = None) -> Figure:
    """The first `limit` maps (K, h, w) of each convolution block, one row per block.

    >>> fig = plot_feature_maps([("0", np.ones((3, 4, 4))), ("3", np.ones((5, 2, 2)))], limit=4)
    >>> len([ax for ax in fig.axes if ax.images])
    7
    """
    columns = min(limit, max(len(m) for _, m in maps))
    fig = _figure(1.3 * columns + 0.8, 1.5 * len(maps) + 0.5)
    for r, (name, m) in enumerate(maps):
        for k in range(min(limit, len(m))):
            ax = fig.add_subplot(len(maps), columns, r * columns + k + 1)
            ax.imshow(m[k], cmap="magma", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(f"layer {name}", fontsize=8)
    fig.suptitle("feature maps, one row per convolution block", fontsize=10)
    return _finish(fig, path)


def plot_explanation(picture: np.ndarray, saliency: np.ndarray, heatmap: np.ndarray,
                     probabilities: np.ndarray, classes: Sequence[str], *, target: int,
                     title: str = "", path: str | os.PathLike[str] | None = None) -> Figure:
    """One picture explained: the picture, its saliency |∂score/∂pixel| and its Grad-CAM
    heatmap over it, and the class probabilities.

    picture (C, H, W); saliency and heatmap (H, W); probabilities (K,); `target` is the
    class whose score was differentiated.

    >>> fig = plot_explanation(np.zeros((1, 4, 4)), np.ones((4, 4)), np.ones((4, 4)),
    ...                        np.array([0.3, 0.7]), ["cat", "dog"], target=1)
    >>> len(fig.axes)
    4
    """
    fig = _figure(12.0, 3.4)
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 1.15]})
    _show(axes[0], picture)
    axes[0].set_title("the picture", fontsize=10)
    _show(axes[1], picture)
    top = float(saliency.max()) or 1.0
    axes[1].imshow(saliency / top, cmap="inferno", alpha=0.75, vmin=0, vmax=1,
                   interpolation="nearest")
    axes[1].set_title(f"saliency |∂score({classes[target]})/∂pixel|", fontsize=10)
    _show(axes[2], picture)
    peak = float(heatmap.max()) or 1.0
    axes[2].imshow(heatmap / peak, cmap="jet", alpha=0.5, vmin=0, vmax=1,
                   interpolation="bilinear")
    axes[2].set_title(f"Grad-CAM for {classes[target]}", fontsize=10)
    order = np.argsort(-probabilities, kind="stable")[:10][::-1]
    bars = axes[3].barh([classes[k] for k in order], probabilities[order],
                        color=["tab:orange" if k == target else "tab:blue" for k in order])
    axes[3].bar_label(bars, fmt="%.3f", fontsize=8, padding=2)
    axes[3].set_xlim(0, 1.15)
    axes[3].set_xlabel("probability")
    axes[3].set_title("the network says", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    return _finish(fig, path)
