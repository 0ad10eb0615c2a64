"""Plots of a training run: loss curves, gradient flow, predictions, decision boundaries.

Each function builds a `matplotlib.figure.Figure` directly (no pyplot, so no global state
and no display needed) and returns it; with `path` it also saves it, as PNG or SVG (or
PDF) by the file's suffix. matplotlib is optional and imported only when a plot is made.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from descent.nn import Module

FORMATS = (".png", ".svg", ".pdf")


def _figure(width: float = 6.4, height: float = 4.4) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # an optional dependency: say how to get it
        raise ImportError("plots need matplotlib: pip install matplotlib "
                          "(or pip install 'descent[plots]')") from error
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 150) -> str:
    """Save `fig` as PNG, SVG or PDF, chosen by the suffix of `path`; returns the path.

    >>> fig = _figure(); _ = fig.add_subplot().plot([0, 1])
    >>> save_figure(fig, "plot.gif")
    Traceback (most recent call last):
    ...
    ValueError: cannot tell the image format of 'plot.gif': use a name ending in .png, .svg, .pdf
    """
    out = os.fspath(path)
    suffix = os.path.splitext(out)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the image format of {out!r}: use a name ending in "
                         f"{', '.join(FORMATS)}")
    write_figure(fig, out, suffix[1:], dpi)
    return out


def write_figure(fig: Figure, path: str | os.PathLike[str], fmt: str, dpi: int) -> None:
    """Render `fig` in memory, then write the file atomically: a full disk or a crash
    leaves the previous picture (or none), never a truncated one, and the SaveError names
    `path`."""
    import io

    from descent.io.atomic import atomic_write

    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    atomic_write(path, buffer.getbuffer())


def _finish(fig: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


def _log_if_wide(ax: Any, *series: np.ndarray) -> None:
    """Log scale when positive values span a factor of more than 30 (early epochs dwarf late)."""
    values = np.concatenate([np.asarray(s, float).ravel() for s in series])
    values = values[np.isfinite(values)]
    if values.size and values.min() > 0 and values.max() / values.min() > 30:
        ax.set_yscale("log")


# ---- loss per epoch ---------------------------------------------------------------------------

def _integer_epochs(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _history_dict(history: Any) -> Mapping[str, list[float]]:
    if isinstance(history, Mapping):
        return history
    if hasattr(history, "history"):
        return history.history
    raise TypeError(f"expected a History or a dict of lists, got {type(history).__name__}")


def plot_loss(history: Any, path: str | os.PathLike[str] | None = None,
              title: str = "Loss per epoch") -> Figure:
    """Training loss (and validation loss, when recorded) against the epoch number.

    `history`: a `History` (from `fit`) or a dict with "loss" and optionally "val_loss"
    lists, one value per epoch. Epochs are numbered from 1. The best validation epoch is
    marked.

    >>> fig = plot_loss({"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.4]})
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['training loss', 'validation loss']
    """
    logs = _history_dict(history)
    if "loss" not in logs:
        raise ValueError(f"history has no 'loss'; it has {sorted(logs)}")
    loss = np.asarray(logs["loss"], dtype=float)
    epochs = np.arange(1, len(loss) + 1)
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(epochs, loss, color="C0", lw=1.8, label="training loss")
    series = [loss]
    if "val_loss" in logs:
        val = np.asarray(logs["val_loss"], dtype=float)
        ax.plot(epochs, val, color="C1", lw=1.8, label="validation loss")
        series.append(val)
        if np.isfinite(val).any():
            best = int(np.nanargmin(val))
            ax.plot(epochs[best], val[best], "o", color="C1", ms=7, mfc="none", mew=1.8,
                    label=f"best validation (epoch {epochs[best]})")
    _log_if_wide(ax, *series)
    _integer_epochs(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3, which="both")
    ax.legend()
    return _finish(fig, path)


# ---- gradient norm per layer --------------------------------------------------------------------

def plot_gradient_norms(diagnostics: Any, path: str | os.PathLike[str] | None = None,
                        title: str = "Gradient norm per layer") -> Figure:
    """‖∂C/∂W_l‖ per layer against the epoch, on a log scale (from `Diagnostics`).

    `diagnostics`: a `Diagnostics` callback after training, or its `to_dict()`. Layers are
    coloured from the input side (dark) to the output side (light); vanishing gradients
    show as the input-side lines lying decades below the output-side ones.

    >>> fig = plot_gradient_norms({"epochs": [0, 1], "grad_norm": {"W1": [1e-4, 2e-4],
    ...                                                           "W2": [0.1, 0.2]}})
    >>> fig.axes[0].get_yscale(), len(fig.axes[0].get_lines())
    ('log', 2)
    """
    data = diagnostics if isinstance(diagnostics, Mapping) else diagnostics.to_dict()
    norms: Mapping[str, list[float]] = data["grad_norm"]
    epochs = np.asarray(data["epochs"], dtype=int) + 1
    fig = _figure(7.4, 4.4)
    ax = fig.add_subplot()
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    keys = list(norms)
    for k, key in enumerate(keys):
        where = " (input side)" if k == 0 and len(keys) > 1 else \
            " (output side)" if k == len(keys) - 1 and len(keys) > 1 else ""
        ax.plot(epochs, norms[key], marker="o", ms=3, lw=1.5,
                color=cmap(0.9 * k / max(len(keys) - 1, 1)), label=f"{key}{where}")
    ax.set_yscale("log")
    _integer_epochs(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("‖∂C/∂W‖ (mean over batches)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3, which="both")
    # beside the axes: lines of any height would hide under a legend placed inside
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _finish(fig, path)


# ---- predicted vs actual (regression) -----------------------------------------------------------

def plot_predicted_vs_actual(y_true: Any, y_pred: Any, path: str | os.PathLike[str] | None = None,
                             title: str = "Predicted vs actual") -> Figure:
    """A scatter of predictions against targets, with the line y = x and R² in the title.

    Shapes: y_true and y_pred (N,) or (N, k) (all outputs are drawn together; R² is the
    uniform average over outputs, as `descent.train.r2`).

    >>> fig = plot_predicted_vs_actual([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])
    >>> fig.axes[0].get_title().startswith("Predicted vs actual (R² = 0.97")
    True
    """
    from descent.train.metrics import r2

    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float).reshape(t.shape)
    score = r2(t, p)
    fig = _figure(5.2, 5.0)
    ax = fig.add_subplot()
    ax.scatter(t.ravel(), p.ravel(), s=14, alpha=0.6, color="C0", edgecolors="none",
               label="examples")
    lo = float(min(t.min(), p.min()))
    hi = float(max(t.max(), p.max()))
    pad = 0.03 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "--", color="0.3", lw=1,
            label="y = x (perfect)")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    for axis in (ax.xaxis, ax.yaxis):  # prices: few ticks, with thousands separators
        axis.set_major_locator(MaxNLocator(5))
        if hi - lo >= 1000:
            axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    ax.set_title(f"{title} (R² = {score:.3f})")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    return _finish(fig, path)


# ---- decision boundary (2-D classification) -----------------------------------------------------

def _outputs_are_logits(model: Module, out: np.ndarray) -> bool:
    """A sigmoid or softmax last layer gives probabilities; anything else, logits."""
    from descent.explain.deltas import dense_layers

    try:
        return dense_layers(model)[-1].activation not in ("sigmoid", "softmax")
    except ValueError:  # not a plain stack: judge by the values
        return not (out.min() >= 0 and out.max() <= 1)


def _probabilities(out: np.ndarray, logits: bool) -> np.ndarray:
    """(M, 1) outputs -> P(class 1) (M,); (M, K) -> class probabilities (M, K)."""
    if out.shape[1] == 1:
        z = out[:, 0]
        return 1 / (1 + np.exp(-np.clip(z, -500, 500))) if logits else z
    if not logits:
        return out
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def plot_decision_boundary(model: Module, X: Any, labels: Any,
                           path: str | os.PathLike[str] | None = None, *,
                           resolution: int = 200, padding: float = 0.1,
                           logits: bool | None = None,
                           title: str = "Decision boundary",
                           feature_names: Sequence[str] | None = None,
                           class_names: Sequence[str] | None = None) -> Figure:
    """The classes a 2-input model predicts over the plane, with the data points on top.

    Shapes: X (N, 2), labels (N,) of class indices. A model with one output is read as
    binary: P(class 1) is shaded and its 0.5 level drawn as the boundary; with K outputs
    each point of the plane takes the colour of its most probable class. `logits`: whether
    outputs are logits (None: yes unless the model ends in sigmoid or softmax). The grid is
    `resolution`² points over the data's range widened by `padding` of it on each side.
    The axes are named `feature_names` (default x₁, x₂) and the legend names each class by
    `class_names` (default "class 0", "class 1", ...); the title, with the accuracy on the
    drawn points, wraps rather than running off the figure.

    >>> import numpy as np, descent as ds
    >>> net = ds.nn.MLP([2, 4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    >>> X = np.random.default_rng(0).normal(size=(20, 2)); labels = (X[:, 0] > 0).astype(int)
    >>> fig = plot_decision_boundary(net, X, labels, resolution=50)
    >>> sum(len(c.get_offsets()) for c in fig.axes[0].collections[-2:])
    20
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['class 0', 'class 1']
    """
    from descent.train.fit import predict_array

    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"a decision boundary needs X of shape (N, 2), got {X.shape}")
    if len(labels) != len(X):
        raise ValueError(f"{len(labels)} labels for {len(X)} points")
    n_classes = max(int(labels.max()) + 1 if len(labels) else 0, 2)
    names = list(class_names) if class_names is not None else \
        [f"class {c}" for c in range(n_classes)]
    if len(names) < n_classes:
        raise ValueError(f"{len(names)} class names for {n_classes} classes")
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    g0 = np.linspace(lo[0] - padding * span[0], hi[0] + padding * span[0], resolution)
    g1 = np.linspace(lo[1] - padding * span[1], hi[1] + padding * span[1], resolution)
    G0, G1 = np.meshgrid(g0, g1)
    out = predict_array(model, np.column_stack([G0.ravel(), G1.ravel()]))
    out = np.asarray(out, dtype=float).reshape(G0.size, -1)
    if logits is None:
        logits = _outputs_are_logits(model, out)
    prob = _probabilities(out, logits)

    from matplotlib.colors import ListedColormap

    fig = _figure(6.0, 5.0)
    ax = fig.add_subplot()
    if prob.ndim == 1:
        P = prob.reshape(G0.shape)
        shade = ax.contourf(G0, G1, P, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.75)
        ax.contour(G0, G1, P, levels=[0.5], colors="k", linewidths=1.5)
        fig.colorbar(shade, ax=ax, label=f"P({names[1]})")
        point_colours = ListedColormap(["#2166ac", "#b2182b"])
        vmax = 1
    else:
        k = prob.shape[1]
        predicted = prob.argmax(axis=1).reshape(G0.shape)
        region_colours = ListedColormap([f"C{c % 10}" for c in range(k)])
        ax.contourf(G0, G1, predicted, levels=np.arange(k + 1) - 0.5, cmap=region_colours,
                    alpha=0.25)
        # Boundaries where class c stops being the most probable: the zero level of
        # p_c - max_{other} p, a smooth curve (the argmax image itself is a staircase).
        for c in range(k):
            others = np.delete(prob, c, axis=1).max(axis=1)
            margin = (prob[:, c] - others).reshape(G0.shape)
            if margin.min() < 0 < margin.max():
                ax.contour(G0, G1, margin, levels=[0.0], colors="k", linewidths=1.2)
        point_colours, vmax = region_colours, k - 1
    for c in range(max(n_classes, vmax + 1)):
        mine = labels == c
        if mine.any():
            ax.scatter(X[mine, 0], X[mine, 1], color=point_colours(c / max(vmax, 1)), s=22,
                       edgecolors="k", linewidths=0.6, label=str(names[c]))
    ax.legend(title="true class", loc="best", fontsize=8, title_fontsize=8, framealpha=0.85)
    ax.set_xlim(g0[0], g0[-1])
    ax.set_ylim(g1[0], g1[-1])
    axis_names = list(feature_names) if feature_names is not None else ["x₁", "x₂"]
    if len(axis_names) != 2:
        raise ValueError(f"feature_names needs 2 names, got {len(axis_names)}")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    accuracy = float(np.mean(_classes(model, X, logits) == labels))
    import textwrap

    ax.set_title("\n".join(textwrap.wrap(f"{title} (accuracy on these points {accuracy:.1%})",
                                         60)), fontsize=10)
    return _finish(fig, path)


def _classes(model: Module, X: np.ndarray, logits: bool) -> np.ndarray:
    from descent.train.fit import predict_array

    out = np.asarray(predict_array(model, X), dtype=float).reshape(len(X), -1)
    prob = _probabilities(out, logits)
    return (prob > 0.5).astype(int) if prob.ndim == 1 else prob.argmax(axis=1)
