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


# ---- all three methods on one curve -------------------------------------------------------------

_METHOD_COLOURS = {"gradient descent": _PATH_COLOUR, "newton": "#d9480f", "grid search": "#2b8a3e"}


def _valleys(xs: np.ndarray, ys: np.ndarray) -> list[float]:
    """x of each local minimum of the sampled curve (strictly inside the sampled range)."""
    inside = np.isfinite(ys)
    return [float(xs[k]) for k in range(1, len(xs) - 1)
            if inside[k - 1:k + 2].all() and ys[k] < ys[k - 1] and ys[k] <= ys[k + 1]]


def separate_minima(results: Sequence[MinimizeResult]) -> bool:
    """Whether the methods ended in different places (different valleys, or one not at all).

    >>> from descent.explain.minimize import compare
    >>> separate_minima(compare(lambda x: x**4 - 3*x**2 + x, 2.0, lr=0.01).results)
    True
    """
    ends = [np.asarray(r.x, dtype=np.float64) for r in results if r.converged]
    values = [r.value for r in results if r.converged]
    if len(ends) < 2:
        return False
    far = max(float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(a))))
              for a in ends for b in ends)
    return far > 1e-4 or max(values) - min(values) > 1e-6 * max(1.0, abs(min(values)))


def plot_methods(
    f: Callable[[Tensor], Tensor] | Formula,
    x0: float,
    results: Sequence[MinimizeResult],
    path: str | Path | None = None,
    *,
    label: str | None = None,
) -> Any:
    """Draw y = f(x) once with every method's path on it: gradient descent's steps, Newton's
    jumps, grid search's best points, and every valley of f in view (a dotted line each).

    `results` come from `compare` (or any minimisers on the same f from the same x0). The
    view covers all paths and grid search's best points, so when gradient descent
    stops in one valley and grid search finds a lower one, both valleys are in the picture
    and the title says a local minimum was found. Returns the Figure (one Axes).

    >>> from descent.explain.minimize import compare
    >>> f = lambda x: x**4 - 3*x**2 + x
    >>> fig = plot_methods(f, 2.0, compare(f, 2.0, lr=0.01).results)
    >>> sorted(line.get_gid() for line in fig.axes[0].get_lines() if line.get_gid())
    ['gradient descent', 'grid search', 'newton', 'valley']
    """
    from matplotlib.figure import Figure

    if isinstance(f, Formula):
        label = label or f"y = {pretty(f.text)}"
        f = f.to_function()
    points = [float(x0)]
    for r in results:
        keep = np.isfinite(r.path) & np.isfinite(r.values)
        if r.method == "gradient descent":  # not a runaway's far jumps: see _view
            points += list(r.path[keep][np.abs(r.path[keep] - x0) <= 12 * max(
                1.0, abs(float(r.path[min(1, len(r.path) - 1)]) - x0))])
        else:
            points += list(r.path[keep])
    lo, hi = _span(points)
    lo, hi = lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo)  # room to see each valley's walls
    xs = np.linspace(lo, hi, 600)
    ys = _curve(f, xs)
    fig = Figure(figsize=(7.6, 4.8), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(xs, ys, color="0.45", lw=1.6, label="y = f(x)", zorder=1)
    finite = ys[np.isfinite(ys)]
    if finite.size:
        pad = 0.06 * max(float(finite.max() - finite.min()), 1e-12)
        ax.set_ylim(float(finite.min()) - pad, float(finite.max()) + pad)
    for k, v in enumerate(_valleys(xs, ys)):
        ax.axvline(v, color="#1a7f37", ls=":", lw=1.2, gid="valley" if k == 0 else None,
                   label="a valley of f" if k == 0 else None, zorder=0)
    for r in results:
        colour = _METHOD_COLOURS.get(r.method, "k")
        keep = np.isfinite(r.path) & np.isfinite(r.values)
        end = f"{r.method}: x = {_tidy(float(r.x), hi - lo)} in {r.steps} " \
              f"{'round' if r.method == 'grid search' else 'step'}{'s' * (r.steps != 1)}"
        if r.method == "grid search":
            ax.plot(r.path[keep][-1:], r.values[keep][-1:], "*", ms=15, color=colour,
                    gid=r.method, label=f"{end} (best point)", zorder=5)
        else:
            style = "o-" if r.method == "gradient descent" else "s--"
            ax.plot(r.path[keep], r.values[keep], style, color=colour, ms=4, lw=0.9,
                    alpha=0.85, gid=r.method, label=end, zorder=3 if style == "o-" else 4)
    ax.plot([x0], [float(_curve(f, np.array([x0]))[0])], "D", color="k", ms=6,
            label=f"start x0 = {float(x0):g}", zorder=6)
    title = f"{label or 'f'} from x0 = {float(x0):g}: three methods"
    if separate_minima(results):
        best = min((r for r in results if r.converged), key=lambda r: r.value)
        stuck = [r.method for r in results if r.converged and r.value > best.value + 1e-6 *
                 max(1.0, abs(best.value))]
        title += (f"\n{' and '.join(stuck)} found a local minimum; {best.method} found a lower "
                  f"valley at x = {_tidy(float(best.x), hi - lo)}")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x")
    ax.set_ylabel("y = f(x)")
    ax.set_xlim(lo, hi)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8, loc="best")
    if path is not None:
        suffix = Path(path).suffix.lower()
        if suffix not in _FORMATS:
            raise ValueError(f"cannot tell the image format from {str(path)!r}: end the name "
                             f"in {' or '.join(_FORMATS)}")
        fig.savefig(path, format=suffix[1:], dpi=110)
    return fig


# ---- two variables: the contour map with the path -----------------------------------------------

def plot_contour(
    formula: Formula,
    results: Sequence[MinimizeResult],
    path: str | Path | None = None,
    *,
    points: int = 160,
) -> Any:
    """A contour map of f(a, b) with each method's path from x0 on it (the seeds' walk down
    the mountain, seen from above). Axes are named after the formula's two variables.

    `results` hold paths of shape (k+1, 2) (gradient descent, Newton). Levels are spaced by
    the quantiles of f over the view, so a narrow valley and a steep wall both show.
    Returns the Figure.

    >>> from descent.explain.formula import Formula
    >>> from descent.explain.minimize import gradient_descent
    >>> f = Formula("(x-1)**2 + 10*(y+2)**2")
    >>> fig = plot_contour(f, [gradient_descent(f.to_function(), [0.0, 0.0], 0.05)])
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('x', 'y')
    """
    from matplotlib.figure import Figure

    if len(formula.variables) != 2:
        raise ValueError(f"plot_contour draws two variables; {formula.text!r} has "
                         f"{len(formula.variables)}")
    a, b = formula.variables
    seen = np.concatenate([r.path[np.all(np.isfinite(r.path), axis=1)] for r in results])
    start = results[0].path[0]
    step = max(1.0, float(np.linalg.norm(results[0].path[min(1, len(results[0].path) - 1)]
                                         - start)))
    seen = seen[np.linalg.norm(seen - start, axis=1) <= 12 * step]
    lo, hi = seen.min(axis=0), seen.max(axis=0)
    width = np.maximum(hi - lo, 1.0)
    mid = (lo + hi) / 2
    ga = np.linspace(mid[0] - 0.65 * width[0], mid[0] + 0.65 * width[0], points)
    gb = np.linspace(mid[1] - 0.65 * width[1], mid[1] + 0.65 * width[1], points)
    A, B = np.meshgrid(ga, gb)
    with no_grad(), np.errstate(all="ignore"):
        Z = np.asarray(formula(**{a: A, b: B}).data, dtype=np.float64) * np.ones_like(A)
    finite = Z[np.isfinite(Z)]
    levels = np.unique(np.quantile(finite, np.linspace(0, 1, 18) ** 2)) if finite.size else 10
    fig = Figure(figsize=(7.0, 5.6), layout="constrained")
    ax = fig.add_subplot()
    filled = ax.contourf(A, B, Z, levels=levels, cmap="viridis", alpha=0.8)
    ax.contour(A, B, Z, levels=levels, colors="k", linewidths=0.4, alpha=0.5)
    fig.colorbar(filled, ax=ax, label=f"f({a}, {b})")
    for r in results:
        colour = _METHOD_COLOURS.get(r.method, "k")
        p = r.path[np.all(np.isfinite(r.path), axis=1)]
        ax.plot(p[:, 0], p[:, 1], "o-" if r.method == "gradient descent" else "s--",
                color=colour if r.method != "gradient descent" else "white", mec=colour,
                ms=3.5, lw=1.2, gid=r.method,
                label=f"{r.method}: ({_tidy(p[-1, 0], width[0])}, {_tidy(p[-1, 1], width[1])}) "
                      f"in {r.steps} step{'s' * (r.steps != 1)}, {r.regime.replace('_', ' ')}")
    ax.plot([start[0]], [start[1]], "D", color="red", ms=7,
            label=f"start ({start[0]:g}, {start[1]:g})")
    ax.set_xlim(ga[0], ga[-1])
    ax.set_ylim(gb[0], gb[-1])
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    rate = next((r.lr for r in results if r.lr is not None), None)
    ax.set_title(f"f({a}, {b}) = {pretty(formula.text)}" +
                 (f", rate {rate:g}" if rate is not None else ""), fontsize=10)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    if path is not None:
        suffix = Path(path).suffix.lower()
        if suffix not in _FORMATS:
            raise ValueError(f"cannot tell the image format from {str(path)!r}: end the name "
                             f"in {' or '.join(_FORMATS)}")
        fig.savefig(path, format=suffix[1:], dpi=110)
    return fig
