"""The playground's first view: gradient descent, Newton and grid search on a typed formula.

`descend_view` turns a formula, a start and a rate into plain JSON-ready data for the page:
the curve (one variable) or a grid of values for the contour map (two variables), each
method's path, gradient descent's verdict and stable range of rates, and the iteration
table. Everything is computed by `descent.explain` (the safe formula parser, never eval;
`gradient_descent`, `newton`, `grid_search`), the same functions `descent descend` calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from descent.autodiff import grad, no_grad
from descent.explain.formula import parse_formula
from descent.explain.minimize import (
    MinimizeResult,
    gradient_descent,
    grid_search,
    iteration_rows,
    newton,
)

MAX_STEPS = 5000
MAX_PATH_POINTS = 2000  # more points than pixels helps no one; the path is thinned beyond
CURVE_POINTS = 400
CONTOUR_POINTS = 70

#: The verdict in the words a learner reads (gradient_descent's regime names).
VERDICTS = {"converged": "converging", "too_slow": "too slow", "oscillating": "oscillating",
            "diverging": "diverging"}


class ViewError(ValueError):
    """A setting the page sent that cannot be used; `field` names the input on the page."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _finite_or_none(values: Any) -> Any:
    """Lists of floats with inf/nan as None (JSON has no inf)."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 0:
        return float(a) if np.isfinite(a) else None
    return [_finite_or_none(v) for v in a]


def _thin(path: np.ndarray) -> np.ndarray:
    if len(path) <= MAX_PATH_POINTS:
        return path
    keep = np.unique(np.r_[np.linspace(0, len(path) - 1, MAX_PATH_POINTS).astype(int)])
    return path[keep]


def _start(x0: Any, names: tuple[str, ...]) -> float | list[float]:
    try:
        values = [float(v) for v in (x0 if isinstance(x0, list | tuple) else
                                     str(x0).split(","))]
    except (TypeError, ValueError):
        raise ViewError(f"the start must be numbers separated by commas, got {x0!r}",
                        "x0") from None
    if len(values) != len(names) or not all(np.isfinite(values)):
        raise ViewError(f"give {len(names)} finite start value(s), one for each of "
                        f"{', '.join(names)} (in that order); got {x0!r}", "x0")
    return values[0] if len(values) == 1 else values


def _method(result: MinimizeResult) -> dict[str, Any]:
    path = _thin(np.asarray(result.path, dtype=np.float64))
    verdict, _, why = result.reason.partition(": ")
    return {"method": result.method, "x": _finite_or_none(result.x),
            "value": _finite_or_none(result.value), "steps": result.steps,
            "regime": result.regime, "verdict": VERDICTS[result.regime], "reason": result.reason,
            "why": why, "suggestion": result.suggestion,
            "function_evaluations": result.evaluations.function,
            "gradient_evaluations": result.evaluations.gradient,
            "path": _finite_or_none(path),
            "values": _finite_or_none(_thin(np.asarray(result.values)))}


def _table(result: MinimizeResult, f: Any, head: int = 12, tail: int = 3) -> list[dict]:
    """The first `head` and last `tail` steps: k, x_old, f'(x_old), (f''(x_old),) x_new."""
    rows = iteration_rows(result)
    if len(rows) > head + tail:
        rows = rows[:head] + [None] + rows[-tail:]
    out = []
    second = grad(grad(f)) if result.method == "newton" and np.ndim(result.x) == 0 else None
    for row in rows:
        if row is None:
            out.append(None)
            continue
        k, x_old, slope, x_new = row
        entry = {"k": k, "x_old": _finite_or_none(x_old), "slope": _finite_or_none(slope),
                 "x_new": _finite_or_none(x_new)}
        if second is not None:
            with np.errstate(all="ignore"):
                entry["curvature"] = _finite_or_none(float(second(float(x_old))))
        out.append(entry)
    return out


def _span(points: list[np.ndarray], floor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-coordinate (lo, hi) around the points, padded, at least `floor` wide."""
    P = np.concatenate([np.atleast_2d(p) for p in points])
    P = P[np.all(np.isfinite(P), axis=1)]
    lo, hi = P.min(axis=0), P.max(axis=0)
    width = np.maximum(hi - lo, floor)
    middle = (lo + hi) / 2
    return middle - 0.6 * width, middle + 0.6 * width


def _kept(result: MinimizeResult, scale: float) -> np.ndarray:
    """The path without a runaway's far jumps (they would flatten the valley into a line)."""
    path = np.asarray(result.path, dtype=np.float64).reshape(len(result.path), -1)
    ok = np.all(np.isfinite(path), axis=1)
    path = path[ok]
    far = np.linalg.norm(path - path[0], axis=1) > 12 * scale
    return path[~far]


def descend_view(formula: str, x0: Any, lr: Any, max_steps: Any = 1000) -> dict[str, Any]:
    """Everything the formula view draws, as JSON-ready data.

    One variable: `curve` {x, y} (400 points) and `grid` (grid search's result); two:
    `contour` {x (70,), y (70,), z (70×70 rows of y)}. `gd` and `newton`: the method's path
    (k+1, n), values, verdict and reason; `stable_range` (0, 2/f'') from the largest
    curvature on gradient descent's path; `table`: its iteration rows (seeds' table).
    Raises ViewError naming the page's field ("formula", "x0", "lr", "steps").

    >>> view = descend_view("x**2 - 4*x + 6", "8", 0.1)
    >>> [round(x, 4) for x in view["gd"]["path"][:4]], view["gd"]["verdict"]
    ([8.0, 6.8, 5.84, 5.072], 'converging')
    >>> view["stable_range"]
    [0.0, 1.0]
    """
    try:
        parsed = parse_formula(str(formula))
    except ValueError as error:  # FormulaError is a ValueError
        raise ViewError(str(error), "formula") from None
    names = parsed.variables
    if not 1 <= len(names) <= 2:
        raise ViewError(f"the playground draws formulas of one or two variables; "
                        f"{parsed.text!r} has {len(names)}" +
                        (f": {', '.join(names)}" if names else ""), "formula")
    start = _start(x0, names)
    try:
        rate = float(lr)
    except (TypeError, ValueError):
        raise ViewError(f"the learning rate must be a number, got {lr!r}", "lr") from None
    if not (np.isfinite(rate) and 0 < rate <= 1e6):
        raise ViewError(f"the learning rate must be a number > 0 (and at most 1e6), got {lr!r}",
                        "lr")
    try:
        steps = int(max_steps)
    except (TypeError, ValueError):
        raise ViewError(f"steps must be a whole number, got {max_steps!r}", "steps") from None
    if not 1 <= steps <= MAX_STEPS:
        raise ViewError(f"steps must be between 1 and {MAX_STEPS}, got {steps}", "steps")
    f = parsed.to_function()
    try:
        gd = gradient_descent(f, start, rate, steps)
        nt = newton(f, start, max_steps=min(steps, 100))
    except ValueError as error:  # f(x0) not finite, ...
        raise ViewError(str(error), "x0") from None

    first_step = np.linalg.norm(np.asarray(gd.path[min(1, len(gd.path) - 1)]) - gd.path[0])
    scale = max(1.0, float(first_step) if np.isfinite(first_step) else 1.0)
    shown = [_kept(gd, scale), _kept(nt, scale)]
    view: dict[str, Any] = {
        "formula": parsed.text, "variables": list(names), "lr": rate,
        "x0": start if isinstance(start, list) else [start],
        "gd": _method(gd), "newton": _method(nt),
        "stable_range": None if gd.stable_range is None else list(gd.stable_range),
        "curvature": gd.curvature, "table": _table(gd, f), "newton_table": _table(nt, f),
    }
    if len(names) == 1:
        x_start = float(start)
        half = 2.0 * max(1.0, abs(x_start))
        lo_g, hi_g = x_start - half, x_start + half
        gs = grid_search(f, lo_g, hi_g, rounds=20, tol=1e-8)
        view["grid"] = {**_method(gs), "range": [lo_g, hi_g]}
        lo, hi = _span([*shown, np.array([[gs.x]])])
        xs = np.linspace(lo[0], hi[0], CURVE_POINTS)
        with no_grad(), np.errstate(all="ignore"):
            ys = np.asarray(parsed(**{names[0]: xs}).data, dtype=np.float64) * np.ones_like(xs)
        view["curve"] = {"x": _finite_or_none(xs), "y": _finite_or_none(ys)}
        view["minima"] = _valleys(xs, ys)
    else:
        lo, hi = _span(shown)
        gx = np.linspace(lo[0], hi[0], CONTOUR_POINTS)
        gy = np.linspace(lo[1], hi[1], CONTOUR_POINTS)
        X, Y = np.meshgrid(gx, gy)
        with no_grad(), np.errstate(all="ignore"):
            Z = np.asarray(parsed(**{names[0]: X, names[1]: Y}).data,
                           dtype=np.float64) * np.ones_like(X)
        view["contour"] = {"x": _finite_or_none(gx), "y": _finite_or_none(gy),
                           "z": _finite_or_none(Z)}
        view["grid"] = None
    return view


def _valleys(xs: np.ndarray, ys: np.ndarray) -> list[float]:
    """The x of every local minimum of the sampled curve inside the view (interior points)."""
    inside = np.isfinite(ys)
    found = []
    for k in range(1, len(xs) - 1):
        if inside[k - 1:k + 2].all() and ys[k] < ys[k - 1] and ys[k] <= ys[k + 1]:
            found.append(float(xs[k]))
    return found
