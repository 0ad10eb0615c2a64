"""Pictures of gradient descent: the curve y = f(x) with the walk down it, one panel per rate.

The seed texts' mountain walk: too small a step and you never get down, a good one gets
you to the village, too big a one and you overshoot to the other side of the valley. Each
panel's title gives `gradient_descent`'s verdict for its rate.

Uses `matplotlib.figure.Figure` directly (no pyplot, so no global state and no display
needed); PNG or SVG by the file's suffix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.explain.formula import Formula
from descent.explain.minimize import MinimizeResult, gradient_descent, grid_search, newton
from descent.explain.training_plots import write_figure

_FORMATS = (".png", ".svg")
_REGIME_COLOURS = {"converged": "#1a7f37", "too_slow": "#b35900", "diverging": "#c62828",
                   "oscillating": "#c62828"}
_PATH_COLOUR = "#1f5fbf"


_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def pretty(text: str) -> str:
    """Formula text as a reader writes it: x**2 → x², x**y → x^y, 4*x → 4·x, - → −.

    >>> pretty("x**2 - 4*x + 6")
    'x² − 4·x + 6'
    """
    text = re.sub(r"\*\*(-?\d+)(?![\d.])", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    return text.replace("**", "^").replace("*", "·").replace("-", "−")


def _curve(f: Callable[[Tensor], Tensor], xs: np.ndarray) -> np.ndarray:
    """f at each x, one forward pass each: f need not be elementwise."""
    with no_grad(), np.errstate(all="ignore"):
        return np.array([float(f(Tensor(np.float64(x))).data) for x in xs])


def _find_minimum(f: Callable[[Tensor], Tensor], results: Sequence[MinimizeResult]
                  ) -> float | None:
    """A minimum to mark: where the best converged run ended, polished by Newton; failing
    that, the lowest point of f over the places the runs visited with f ≤ f(x0), if inside."""
    converged = [r for r in results if r.converged]
    if converged:
        start = min(converged, key=lambda r: r.value).x
        polished = newton(f, start, max_steps=20)
        near = abs(polished.x - start) <= 1e-3 * max(1.0, abs(start))
        return float(polished.x) if polished.converged and near else float(start)
    visited = np.concatenate([r.path[np.isfinite(r.values) & (r.values <= r.values[0])]
                              for r in results])
    lo, hi = _span(visited)
    try:
        found = grid_search(f, lo, hi, n=201, rounds=6, tol=1e-9 * max(1.0, hi - lo))
    except ValueError:  # f is nowhere finite there
        return None
    return None if found.x in (lo, hi) else float(found.x)


def _view(result: MinimizeResult, minimum: float | None) -> tuple[float, float]:
    """The x-range of a panel: the walk and the minimum, but not a runaway's far jumps
    (beyond 12 times the first step or the distance to the minimum), which would flatten
    the valley into a line."""
    path = result.path[np.isfinite(result.path) & np.isfinite(result.values)]
    x0 = path[0]
    scale = max(1e-3 * max(1.0, abs(x0)), abs(path[1] - x0) if len(path) > 1 else 0.0,
                abs(minimum - x0) if minimum is not None else 0.0)
    inside = list(path[np.abs(path - x0) <= 12 * scale])
    return _span(inside + ([minimum] if minimum is not None else []))


def _tidy(x: float, span: float) -> str:
    """x to 4 significant digits of the plotted span, so 1e-10 next to a range of 2 reads 0."""
    decimals = max(0, 3 - int(np.floor(np.log10(span))))
    return f"{round(x, decimals) + 0.0:g}"  # + 0.0 turns -0.0 into 0.0


def _verdict(result: MinimizeResult) -> str:
    steps = f"{result.steps} step{'s' * (result.steps != 1)}"
    if result.regime == "converged":
        return f"converged in {steps}"
    if result.regime == "too_slow":
        return f"too slow: x = {result.x:.2f} after {steps}"
    return f"{result.regime}: stopped after {steps}"


def _span(points: Sequence[float]) -> tuple[float, float]:
    lo, hi = float(np.min(points)), float(np.max(points))
    pad = 0.08 * max(hi - lo, 1e-3 * max(1.0, abs(lo)))
    return lo - pad, hi + pad


def _draw_panel(ax: Any, f: Callable[[Tensor], Tensor], result: MinimizeResult,
                minimum: float | None, numbered: int) -> None:
    path, values = result.path, result.values
    finite = np.isfinite(path) & np.isfinite(values)
    lo, hi = _view(result, minimum)
    xs = np.linspace(lo, hi, 400)
    ys = _curve(f, xs)
    ax.plot(xs, ys, color="0.45", lw=1.6, label="y = f(x)", gid="curve", zorder=1)
    ys = ys[np.isfinite(ys)]
    if ys.size:  # set y by the curve in view: points off to the side must not stretch it
        pad = 0.06 * max(float(ys.max() - ys.min()), 1e-12)
        ax.set_ylim(float(ys.min()) - pad, float(ys.max()) + pad)
    outside = finite & ((path < lo) | (path > hi))
    if outside.any():
        ax.text(0.5, 0.97, f"the walk leaves the view: x reaches {path[outside][-1]:.3g}",
                transform=ax.transAxes, ha="center", va="top", fontsize=8, style="italic",
                color=_REGIME_COLOURS["diverging"])
    ax.plot(path, values, "o-", color=_PATH_COLOUR, ms=3.5, lw=0.8, alpha=0.85,
            label="gradient descent path", gid="path", zorder=3)
    ax.plot(path[:1], values[:1], "s", color=_PATH_COLOUR, ms=7, label=f"start x0 = {path[0]:g}",
            zorder=4)
    # Arrows and numbers for the first steps; a step too short to see gets neither, so the
    # numbers of a slow walk do not pile on top of each other.
    readable = 0.04 * (hi - lo)
    last = 0
    for k in range(min(numbered, len(path) - 1) + 1):
        if not finite[k]:
            break
        if k > 0 and abs(path[k] - path[last]) < readable:
            continue
        if k > 0:
            ax.annotate("", xy=(path[k], values[k]), xytext=(path[last], values[last]),
                        arrowprops={"arrowstyle": "->", "color": _PATH_COLOUR, "lw": 1.1},
                        zorder=4)
        ax.annotate(str(k), (path[k], values[k]), textcoords="offset points", xytext=(-4, 7),
                    ha="right", fontsize=8, color=_PATH_COLOUR, zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.85})
        last = k
    if minimum is not None:
        f_min = float(_curve(f, np.array([minimum]))[0])
        ax.axvline(minimum, color="#1a7f37", ls=":", lw=1, zorder=0)
        ax.plot([minimum], [f_min], "*", color="#1a7f37", ms=12, zorder=5,
                label=f"minimum x = {_tidy(minimum, hi - lo)}", gid="minimum")
    ax.set_title(f"rate {result.lr:g}: {_verdict(result)}", fontsize=10,
                 color=_REGIME_COLOURS[result.regime])
    ax.set_xlabel("x")
    ax.set_ylabel("y = f(x)")
    ax.set_xlim(lo, hi)
    ax.grid(alpha=0.25)


def plot_descent(
    f: Callable[[Tensor], Tensor] | Formula,
    x0: float,
    rates: Sequence[float] = (0.01, 0.1, 1.05),
    path: str | Path | None = None,
    *,
    max_steps: int = 100,
    tol: float = 1e-8,
    label: str | None = None,
    minimum: float | None = None,
    numbered: int = 6,
) -> Any:
    """Draw y = f(x) with the gradient descent path from x0, one panel per learning rate.

    `f` maps a scalar Tensor to a scalar Tensor (or is a one-variable `Formula`). Each panel
    runs `gradient_descent(f, x0, rate, max_steps, tol)` and draws every iterate (x_k,
    f(x_k)) as a line with markers (gid "path"), arrows and step numbers for the first
    `numbered` steps, the minimum (given, or found on the plotted range) as a star, and the
    verdict in the title. Writes PNG or SVG to `path` by its suffix. Returns the matplotlib
    Figure (one Axes per rate).

    >>> from descent.explain.descent_plots import plot_descent
    >>> fig = plot_descent(lambda x: x**2 - 4*x + 6, 8.0)
    >>> [ax.get_title() for ax in fig.axes]  # doctest: +NORMALIZE_WHITESPACE
    ['rate 0.01: too slow: x = 2.80 after 100 steps', 'rate 0.1: converged in 82 steps',
     'rate 1.05: diverging: stopped after 6 steps']
    """
    from matplotlib.figure import Figure  # optional dependency: imported only when drawing

    if isinstance(f, Formula):
        if len(f.variables) != 1:
            raise ValueError(f"plot_descent draws one variable; {f.text!r} has "
                             f"{len(f.variables)}: {', '.join(f.variables)}")
        label = label or f"y = {pretty(f.text)}"
        f = f.to_function()
    if np.ndim(x0) != 0:
        raise ValueError("plot_descent draws functions of one variable: give x0 as a number")
    if not rates:
        raise ValueError("rates is empty: give at least one learning rate")
    suffix = Path(path).suffix.lower() if path is not None else None
    if path is not None and suffix not in _FORMATS:
        raise ValueError(f"cannot tell the image format from {str(path)!r}: end the name in "
                         f"{' or '.join(_FORMATS)}")
    results = [gradient_descent(f, x0, rate, max_steps, tol) for rate in rates]
    if minimum is None:
        minimum = _find_minimum(f, results)
    fig = Figure(figsize=(max(4.4 * len(rates), 7.0), 4.3), layout="constrained")
    axes = fig.subplots(1, len(rates), squeeze=False)[0]
    for ax, result in zip(axes, results, strict=True):
        _draw_panel(ax, f, result, minimum, numbered)
    fig.suptitle(f"Gradient descent on {label or 'f'} from x0 = {float(x0):g}: "
                 f"x ← x − rate · f'(x)", fontsize=11)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=9, frameon=False,
               ncol=len(labels) if len(rates) > 1 else 2)
    if path is not None:
        write_figure(fig, path, suffix[1:], dpi=110)
    return fig
