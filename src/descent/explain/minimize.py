"""Minimise a function by gradient descent, Newton–Raphson or a grid, and say how it went.

Convention: `f` takes ONE argument. When `x0` is a number, `f` receives a scalar Tensor
(shape ()); when `x0` is a sequence or 1-D array of n numbers, `f` receives one vector
Tensor of shape (n,) and picks its parts by indexing (`v[0]`, `v[1]`). `f` returns a
scalar Tensor. Work is in float64.

Every derivative comes from the engine. First derivatives from `ds.value_and_grad`;
second derivatives as exact Hessian-vector products, the engine differentiating its own
gradient (reverse over reverse):
    H(x) v = ∇_x (∇f(x) · v),
one forward pass and two backward passes each (counted as 1 function and 2 gradient
evaluations).

Gradient descent's verdict (`regime`):
- "converged":   |f'(x)| ≤ tol; or the step is below tol·max(1, |x|) while |f'(x)| ≤ √tol
                 (a small step alone is not enough: with a tiny rate every step is small)
- "diverging":   f(x) became inf/nan; or f rose at each of the last `window` steps while
                 the slope steepened; or the slope flipped sign at every step while its
                 size grew (each jump overshoots the minimum further)
- "oscillating": the slope flips sign at every step and its size does not shrink
- "too_slow":    none of the above after `max_steps` steps
The stable range of rates, 0 < lr < 2/f'' (for a quadratic: the iteration
x − c ← (1 − lr·f'')(x − c) shrinks exactly when |1 − lr·f''| < 1), uses the largest
curvature found at up to 5 points of the path where f ≤ f(x0); for n variables the
curvature is the largest Hessian eigenvalue, found by power iteration on Hessian-vector
products. Those diagnostic evaluations are not counted in `evaluations`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from descent.autodiff import Tensor, grad, no_grad, value_and_grad

Regime = Literal["converged", "too_slow", "diverging", "oscillating"]
Advice = Literal["none", "larger", "smaller", "no_minimum", "edge"]
Function = Callable[[Tensor], Tensor]



# ---- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluations:
    """How many forward passes (`function`) and backward passes (`gradient`) a method used."""

    function: int
    gradient: int

    def __str__(self) -> str:
        return f"{self.function} f, {self.gradient} f'"


@dataclass(frozen=True, eq=False)
class MinimizeResult:
    """What a minimiser did, step by step, and a verdict in words.

    Shapes for a run of k steps on n variables (n = 1: the trailing axis is absent):
    `path` (k+1, n) every iterate with x0 first (grid search: the best point of each
    round, no x0), `values` (k+1,) f at each, `grads` (k+1, n) f' at each (nan where a
    method computes none). `x` is a float for a scalar start, else an array (n,).
    """

    method: str
    x: Any
    path: np.ndarray
    values: np.ndarray
    grads: np.ndarray
    converged: bool
    regime: Regime
    reason: str
    steps: int
    evaluations: Evaluations
    suggestion: str | None = None
    lr: float | None = None
    curvature: float | None = None
    stable_range: tuple[float, float] | None = None
    spacings: tuple[float, ...] = field(default=(), repr=False)  # grid search only

    @property
    def value(self) -> float:
        """f at the final point."""
        return float(self.values[-1])

    def __str__(self) -> str:
        lines = [self.reason]
        if self.suggestion:
            lines.append(f"suggestion: {self.suggestion}")
        return "\n".join(lines)


# ---- shared machinery -------------------------------------------------------------------------


class _Counted:
    """`f` with counters: each forward pass is a function evaluation, each backward a gradient."""

    def __init__(self, f: Function) -> None:
        self.f = f
        self._value_and_grad = value_and_grad(f)
        self.function = 0
        self.gradient = 0

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.function += 1
        self.gradient += 1
        # Overflow is expected when a run diverges; the caller checks for inf/nan itself.
        with np.errstate(all="ignore"):
            value, g = self._value_and_grad(x)
        return float(value), np.asarray(g, dtype=np.float64).reshape(x.shape)

    def value(self, x: np.ndarray) -> float:
        self.function += 1
        with no_grad(), np.errstate(all="ignore"):
            out = self.f(Tensor(x))
        if not isinstance(out, Tensor) or out.size != 1:
            raise TypeError("the function must return a scalar Tensor")
        return float(out.data.reshape(()))

    def evaluations(self) -> Evaluations:
        return Evaluations(self.function, self.gradient)


def _first_point(f: Function, x0: Any) -> tuple[np.ndarray, _Counted, float, np.ndarray]:
    """x0 as an array, the counted f, and f(x0), f'(x0); refuses a start where f is not finite."""
    x = _start(x0)
    counted = _Counted(f)
    value, g = counted.value_and_grad(x)
    if not np.isfinite(value) or not np.all(np.isfinite(g)):
        raise ValueError(f"f(x0) = {value} and f'(x0) = {_fmt(g)} at x0 = {_fmt(x)}: start "
                         f"where f is defined and finite")
    return x, counted, value, g


def _start(x0: Any) -> np.ndarray:
    x = np.array(x0.data if isinstance(x0, Tensor) else x0, dtype=np.float64)
    if x.ndim > 1:
        raise ValueError(f"x0 must be a number or a vector, got shape {x.shape}")
    if x.ndim == 1 and x.size == 0:
        raise ValueError("x0 is empty: give at least one number")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be finite, got {x0!r}")
    return x


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_count(name: str, value: int, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def _check_tol(tol: float) -> float:
    if isinstance(tol, bool) or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    return float(tol)


def _norm(a: np.ndarray) -> float:
    with np.errstate(over="ignore"):  # a diverging run's slope may square to inf: fine
        return float(np.sqrt(np.sum(np.square(a))))


def _fmt(x: np.ndarray | float, digits: int = 4) -> str:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        return f"{float(a):.{digits}g}"
    return "(" + ", ".join(f"{v:.{digits}g}" for v in a) + ")"


def _steps(k: int, noun: str = "step") -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def _slope_name(x: np.ndarray) -> str:
    return "|f'(x)|" if x.ndim == 0 else "‖∇f(x)‖"


def _curvature_name(x: np.ndarray) -> str:
    return "f''" if x.ndim == 0 else "λmax"


def _hessian_vector(counted: _Counted, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H(x) v, exactly, from the engine: the gradient of the directional slope ∇f(x)·v."""
    counted.function += 1
    counted.gradient += 2
    direction = v.reshape(x.shape)

    def slope_along_v(t: Tensor) -> Tensor:
        return (grad(counted.f)(t) * direction).sum()

    with np.errstate(all="ignore"):
        return np.asarray(grad(slope_along_v)(x), dtype=np.float64).ravel()


def _hessian(counted: _Counted, x: np.ndarray) -> np.ndarray:
    """The n×n Hessian, one Hessian-vector product per coordinate direction, symmetrised."""
    n = x.size
    columns = [_hessian_vector(counted, x, np.eye(n)[j]) for j in range(n)]
    H = np.stack(columns, axis=1)
    return (H + H.T) / 2


def _power_iteration(
    apply_matrix: Callable[[np.ndarray], np.ndarray], n: int, iterations: int, rtol: float
) -> tuple[float, float]:
    """(‖Av‖, v·Av) for the last unit v of power iteration with a symmetric A."""
    v = np.linspace(1.0, 2.0, n)  # deterministic, and not orthogonal to typical eigenvectors
    v /= _norm(v)
    size = rayleigh = 0.0
    for _ in range(iterations):
        w = apply_matrix(v)
        new_size, new_rayleigh = _norm(w), float(v @ w)
        if not np.isfinite(new_size):
            return float("nan"), float("nan")
        converged = abs(new_size - size) <= rtol * new_size and \
            abs(new_rayleigh - rayleigh) <= rtol * max(new_size, 1e-300)
        size, rayleigh = new_size, new_rayleigh
        if new_size == 0 or converged:
            break
        v = w / new_size
    return size, rayleigh


def largest_curvature(
    f: Function, x: Any, *, iterations: int = 100, rtol: float = 1e-9
) -> float:
    """The largest second derivative of `f` at `x`: f''(x) for one variable, else the largest
    eigenvalue of the Hessian (n×n for x of shape (n,)).

    Hessian-vector products come from the engine (reverse over reverse). Power iteration
    first finds ρ = max|λ| (the size of Hv converges to it even when +ρ and −ρ are both
    eigenvalues), then the top eigenvalue of H + ρI, whose eigenvalues are all ≥ 0, so
    λmax = that − ρ. Each product costs one forward and two backward passes, at most
    2·`iterations` products;
    nan if the gradients are not finite.

    >>> from descent.explain.minimize import largest_curvature
    >>> round(largest_curvature(lambda x: x**2 - 4*x + 6, 8.0), 6)
    2.0
    >>> round(largest_curvature(lambda v: v[0]**2 + 5 * v[1]**2, [1.0, 1.0]), 4)
    10.0
    """
    x = _start(x)
    counted = _Counted(f)
    if x.size == 1:  # the Hessian is the 1×1 matrix f''(x): one product gives it
        return float(_hessian_vector(counted, x, np.ones(1))[0])

    def hv(v: np.ndarray) -> np.ndarray:
        return _hessian_vector(counted, x, v)

    rho, _ = _power_iteration(hv, x.size, iterations, rtol)
    if not np.isfinite(rho) or rho == 0:
        return rho
    rho *= 1.01  # ‖Hv‖ approaches ρ from below; the margin keeps H + ρI positive semidefinite
    _, top = _power_iteration(lambda v: hv(v) + rho * v, x.size, iterations, rtol)
    return top - rho


def _path_curvature(f: Function, path: np.ndarray, values: np.ndarray) -> float | None:
    """Largest curvature at up to 5 points of the path that a stable run could visit (f ≤ f(x0))."""
    keep = np.flatnonzero(np.isfinite(values) & (values <= values[0]))
    keep = keep[[np.all(np.isfinite(path[i])) for i in keep]]
    if keep.size == 0:
        return None
    picks = np.unique(keep[np.round(np.linspace(0, keep.size - 1, min(5, keep.size))).astype(int)])
    curvatures = [largest_curvature(f, path[i]) for i in picks]
    curvatures = [c for c in curvatures if np.isfinite(c)]
    return max(curvatures) if curvatures else None


# ---- verdicts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Verdict:
    regime: Regime
    reason: str
    advice: Advice


def _alternates(grads: list[np.ndarray]) -> bool:
    """Every consecutive pair of slopes points in opposite directions (x jumps across)."""
    flat = [g.ravel() for g in grads]
    return len(flat) >= 3 and all(float(a @ b) < 0 for a, b in zip(flat, flat[1:], strict=False))


def _growth(grads: list[np.ndarray]) -> float:
    """Per-step growth factor of the slope's size over the window (first vs last)."""
    first, last = _norm(grads[0]), _norm(grads[-1])
    if first == 0:
        return float("inf") if last > 0 else 1.0
    return (last / first) ** (1.0 / (len(grads) - 1))


def _watch(values: list[float], grads: list[np.ndarray], x: np.ndarray, window: int
           ) -> _Verdict | None:
    """Look at the run so far: is it diverging or oscillating? None if it looks healthy."""
    k = len(values) - 1
    value = values[-1]
    if not np.isfinite(value) or not np.all(np.isfinite(x)) or not np.all(np.isfinite(grads[-1])):
        if value == -np.inf:
            return _Verdict("diverging", f"diverging: f(x) fell to -inf at step {k}; f seems to "
                            f"have no minimum in this direction", "no_minimum")
        why = "the step left the region where f is defined" if np.isnan(value) \
            else "each step overshot further"
        return _Verdict("diverging", f"diverging: f(x) became {value} at step {k} "
                        f"(x = {_fmt(x)}): {why}", "smaller")
    if k < window:
        return None
    recent_v, recent_g = values[-window - 1:], grads[-window - 1:]
    rising = all(b > a for a, b in zip(recent_v, recent_v[1:], strict=False))
    alternating = _alternates(recent_g)
    growth = _growth(recent_g)
    sizes = f"{_norm(recent_g[0]):.3g} → {_norm(recent_g[-1]):.3g}"
    if rising and growth > 1:
        jumps = ", jumping back and forth across the minimum" if alternating else ""
        return _Verdict("diverging", f"diverging: f rose at each of the last {window} steps "
                        f"({recent_v[0]:.4g} → {recent_v[-1]:.4g}){jumps}; the slope's size "
                        f"went {sizes}", "smaller")
    if alternating and growth > 1 + 1e-6:
        return _Verdict("diverging", f"diverging: x overshoots the minimum by more at each "
                        f"step (the slope flips sign every step and its size went {sizes})",
                        "smaller")
    if alternating and growth >= 1 - 1e-6:
        return _Verdict("oscillating", f"oscillating: x jumps back and forth across the "
                        f"minimum without getting closer (the slope flips sign every step and "
                        f"its size stays about {_norm(recent_g[-1]):.3g})", "smaller")
    return None


def _verdict_at_end(path: list[np.ndarray], values: list[float], grads: list[np.ndarray],
                    tol: float, window: int, local_curvature: float | None) -> _Verdict:
    """After max_steps without convergence: oscillating, runaway, or simply too slow.

    `local_curvature` is f'' at the last point (one variable), for a distance estimate.
    """
    k, x = len(values) - 1, path[-1]
    recent_x, recent_v, recent_g = path[-window - 1:], values[-window - 1:], grads[-window - 1:]
    slope = _norm(grads[-1])
    if _alternates(recent_g):
        return _Verdict("oscillating", f"oscillating: after {_steps(k)} x still jumps back and "
                        f"forth across the minimum ({_slope_name(x)} = {slope:.3g}); the "
                        f"overshoots shrink too slowly", "smaller")
    falling = all(b < a for a, b in zip(recent_v, recent_v[1:], strict=False))
    path_sizes = [_norm(p) for p in recent_x]
    running_away = all(b > a for a, b in zip(path_sizes, path_sizes[1:], strict=False))
    if len(recent_v) > 2 and falling and running_away and _growth(recent_g) >= 1:
        return _Verdict("diverging", f"diverging: after {_steps(k)} f is still falling as x "
                        f"runs away (x = {_fmt(x)}, f = {values[-1]:.4g}) and the slope is not "
                        f"levelling off ({_slope_name(x)} = {slope:.3g}): f may have no "
                        f"minimum, or it is far away", "no_minimum")
    distance = ""
    if x.ndim == 0 and local_curvature is not None and local_curvature > 0:
        # One Newton step's length: exact for a quadratic, a rough guide otherwise.
        distance = (f"; by the local curvature that is about {slope / local_curvature:.3g} "
                    f"from the minimum")
    return _Verdict("too_slow", f"too slow: after {_steps(k)} x = {_fmt(x)} and "
                    f"{_slope_name(x)} = {slope:.3g} is still above tol = {tol:g}{distance}",
                    "larger")


def _stable_range(curvature: float | None) -> tuple[float, float] | None:
    if curvature is None or not np.isfinite(curvature) or curvature <= 0:
        return None
    return (0.0, 2.0 / curvature)


def _rate_suggestion(advice: Advice, lr: float, curvature: float | None,
                     stable: tuple[float, float] | None, x: np.ndarray) -> str | None:
    name = _curvature_name(x)
    if advice == "larger":
        if stable is None:
            return "try a larger rate, or allow more steps"
        top = stable[1]
        if lr < 0.5 * top:
            return (f"try a larger rate: rates below {top:.3g} (2/{name}, {name} ≈ "
                    f"{curvature:.3g} at most along the path) are stable here")
        rounder = "" if x.ndim == 0 else ", or rescale the variables so the valley is rounder"
        return (f"allow more steps{rounder}: a larger rate risks overshooting (rates below "
                f"{top:.3g} = 2/{name} are stable along the path)")
    if advice == "smaller":
        if stable is None or lr <= stable[1] / 2:
            return f"try a smaller rate, e.g. {lr / 4:.3g}"
        top = stable[1]
        if lr >= top:
            return (f"try a rate below {top:.3g} (2/{name}, {name} ≈ {curvature:.3g}), "
                    f"e.g. {top / 2:.3g}")
        return (f"try a smaller rate, e.g. {top / 2:.3g} (1/{name}): rates below {top:.3g} are "
                f"stable, but near that limit the overshoots die out slowly")
    if advice == "no_minimum":
        return ("check that f has a minimum (is it bounded below?); if it has, try a larger "
                "rate or more steps")
    return None


# ---- gradient descent -----------------------------------------------------------------------


def gradient_descent(
    f: Function,
    x0: float | Sequence[float] | np.ndarray,
    lr: float,
    max_steps: int = 1000,
    tol: float = 1e-8,
    *,
    window: int = 6,
    diagnose: bool = True,
) -> MinimizeResult:
    """Walk downhill: x ← x − lr·f'(x), until the slope vanishes, the run fails, or max_steps.

    `f` takes one scalar Tensor (x0 a number) or one vector Tensor of shape (n,) (x0 a
    sequence of n numbers) and returns a scalar Tensor; f' comes from the engine. Stops early
    when diverging or oscillating (judged over the last `window` steps). With `diagnose`,
    estimates the curvature along the path for `stable_range` and `suggestion`.
    Returns `path` (steps+1,) or (steps+1, n), `values` (steps+1,), `grads` like `path`.

    >>> from descent.explain.minimize import gradient_descent
    >>> result = gradient_descent(lambda x: x**2 - 4*x + 6, x0=8.0, lr=0.1)
    >>> [round(float(x), 4) for x in result.path[:5]]
    [8.0, 6.8, 5.84, 5.072, 4.4576]
    >>> result.regime, round(result.x, 6), result.stable_range
    ('converged', 2.0, (0.0, 1.0))
    """
    lr = _check_positive("lr", lr)
    max_steps = _check_count("max_steps", max_steps, 0)
    window = _check_count("window", window, 2)
    tol = _check_tol(tol)
    x, counted, value, g = _first_point(f, x0)
    path, values, grads = [x], [value], [g]
    verdict: _Verdict | None = None
    for k in range(1, max_steps + 1):
        if _norm(g) <= tol:
            break
        x_new = x - lr * g
        value, g = counted.value_and_grad(x_new)
        step, x = _norm(x_new - x), x_new
        path.append(x)
        values.append(value)
        grads.append(g)
        verdict = _watch(values, grads, x, window)
        if verdict is not None:
            break
        if step <= tol * max(1.0, _norm(x)) and _norm(g) <= np.sqrt(tol):
            verdict = _Verdict("converged", f"converged: after {_steps(k)} the step {step:.2g} "
                               f"is below tol·max(1, |x|) and {_slope_name(x)} = "
                               f"{_norm(g):.2g} is small", "none")
            break
    if verdict is None and _norm(g) <= tol:
        verdict = _Verdict("converged", f"converged: after {_steps(len(path) - 1)} "
                           f"{_slope_name(x)} = {_norm(g):.2g} is below tol = {tol:g}", "none")
    path_a, values_a = np.array(path), np.array(values)
    curvature = _path_curvature(f, path_a, values_a) if diagnose else None
    if verdict is None:
        local = largest_curvature(f, x) if diagnose and x.ndim == 0 else None
        verdict = _verdict_at_end(path, values, grads, tol, window, local)
    stable = _stable_range(curvature)
    return MinimizeResult(
        method="gradient descent", x=_as_output(x), path=path_a, values=values_a,
        grads=np.array(grads), converged=verdict.regime == "converged", regime=verdict.regime,
        reason=verdict.reason, steps=len(path) - 1, evaluations=counted.evaluations(),
        suggestion=_rate_suggestion(verdict.advice, lr, curvature, stable, x), lr=lr,
        curvature=curvature, stable_range=stable,
    )


def _as_output(x: np.ndarray) -> Any:
    return float(x) if x.ndim == 0 else x.copy()


# ---- Newton–Raphson ---------------------------------------------------------------------------


def newton(
    f: Function,
    x0: float | Sequence[float] | np.ndarray,
    max_steps: int = 50,
    tol: float = 1e-8,
    *,
    window: int = 6,
) -> MinimizeResult:
    """Newton–Raphson on f' = 0: x ← x − f'(x)/f''(x) (n variables: x ← x − H⁻¹∇f).

    f' and f'' (the Hessian H, n×n) both come from the engine: n Hessian-vector products
    per step, each one forward and two backward passes. On a quadratic one step lands on the
    minimum. Newton seeks where the slope is zero, which may be a maximum or saddle: the
    reason says so when the curvature there is not positive. Same shapes as
    `gradient_descent`.

    >>> from descent.explain.minimize import newton
    >>> result = newton(lambda x: x**2 - 4*x + 6, 8.0)
    >>> result.steps, result.x, result.regime
    (1, 2.0, 'converged')
    """
    max_steps = _check_count("max_steps", max_steps, 0)
    window = _check_count("window", window, 2)
    tol = _check_tol(tol)
    x, counted, value, g = _first_point(f, x0)
    path, values, grads = [x], [value], [g]
    verdict: _Verdict | None = None
    H = np.full((x.size, x.size), np.nan)
    for _ in range(max_steps):
        if _norm(g) <= tol:
            break
        H = _hessian(counted, x)
        try:
            if not np.all(np.isfinite(H)):
                raise np.linalg.LinAlgError
            d = np.linalg.solve(H, g.ravel())
        except np.linalg.LinAlgError:
            what = "f'' is 0" if x.ndim == 0 else "the Hessian is singular"
            verdict = _Verdict("diverging", f"stopped: {what} at x = {_fmt(x)}, so Newton's "
                               f"step is undefined", "smaller")
            break
        x = x - d.reshape(x.shape)
        value, g = counted.value_and_grad(x)
        path.append(x)
        values.append(value)
        grads.append(g)
        verdict = _watch(values, grads, x, window)
        if verdict is not None:
            break
    steps = len(path) - 1
    curvature = None if np.isnan(H).any() else float(np.linalg.eigvalsh(H)[-1])
    if verdict is None and _norm(g) <= tol:
        reason = f"converged: after {_steps(steps)} {_slope_name(x)} = {_norm(g):.2g} is below tol"
        lowest = largest_curvature(lambda v: -f(v), x)  # −(smallest eigenvalue)
        # demand a clear sign, not rounding noise
        if np.isfinite(lowest) and lowest > 1e-8 * max(1.0, abs(curvature or 0.0)):
            kind = "a maximum" if x.ndim == 0 else "a maximum or saddle"
            reason += (f"; but the curvature there is not positive ({-lowest:.3g}), so this "
                       f"is {kind}, not a minimum")
        verdict = _Verdict("converged", reason, "none")
    if verdict is None:
        local = float(H[0, 0]) if x.ndim == 0 else None
        verdict = _verdict_at_end(path, values, grads, tol, window, local)
    suggestion = {
        "smaller": "start closer to the minimum, or use gradient descent with a small rate",
        "larger": "allow more steps, or start closer: Newton is fast only near a minimum",
        "no_minimum": "check that f has a minimum (is it bounded below?)",
    }.get(verdict.advice)
    if verdict.regime == "converged" and "not a minimum" in verdict.reason:
        suggestion = "start elsewhere: Newton–Raphson finds any point where the slope is zero"
    return MinimizeResult(
        method="newton", x=_as_output(x), path=np.array(path), values=np.array(values),
        grads=np.array(grads), converged=verdict.regime == "converged", regime=verdict.regime,
        reason=verdict.reason, steps=steps, evaluations=counted.evaluations(),
        suggestion=suggestion, curvature=curvature, stable_range=_stable_range(curvature),
    )


# ---- grid search ------------------------------------------------------------------------------


def grid_search(
    f: Function, lo: float, hi: float, n: int = 101, rounds: int = 1, tol: float = 1e-8
) -> MinimizeResult:
    """Evaluate f at n evenly spaced points of [lo, hi] and keep the lowest; each further
    round repeats on the two grid cells around the best point (n−1)/2 times narrower.

    One variable only; no derivatives (`grads` is nan). Stops early once the grid spacing is
    at most `tol`. `path` and `values` (rounds,) hold the best point of each round.

    >>> from descent.explain.minimize import grid_search
    >>> result = grid_search(lambda x: x**2 - 4*x + 6, -10.0, 10.0, n=101)
    >>> result.x, result.evaluations.function
    (2.0, 101)
    """
    n = _check_count("n", n, 3)
    rounds = _check_count("rounds", rounds, 1)
    tol = _check_tol(tol)
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"grid_search needs finite lo < hi, got lo={lo!r}, hi={hi!r}")
    outer = (lo, hi)
    counted = _Counted(f)
    path: list[float] = []
    values: list[float] = []
    spacings: list[float] = []
    at_edge = False
    for _ in range(rounds):
        xs = np.linspace(lo, hi, n)
        fs = np.array([counted.value(np.float64(x)) for x in xs])
        if not np.any(np.isfinite(fs)):
            raise ValueError(f"f is not finite anywhere on the grid over [{lo:g}, {hi:g}]")
        i = int(np.argmin(np.where(np.isfinite(fs), fs, np.inf)))
        path.append(float(xs[i]))
        values.append(float(fs[i]))
        spacings.append((hi - lo) / (n - 1))
        at_edge = xs[i] in outer
        if spacings[-1] <= tol:
            break
        lo, hi = xs[max(i - 1, 0)], xs[min(i + 1, n - 1)]
    k, spacing = len(path), spacings[-1]
    if at_edge:
        verdict = _Verdict("too_slow", f"the best point {path[-1]:.6g} is at the edge of "
                           f"[{outer[0]:g}, {outer[1]:g}]: the minimum may lie outside", "edge")
        suggestion = "widen the range [lo, hi]"
    elif spacing <= tol:
        verdict = _Verdict("converged", f"converged: after {_steps(k, 'round')} the grid spacing "
                           f"{spacing:.2g} is below tol = {tol:g}", "none")
        suggestion = None
    else:
        verdict = _Verdict("too_slow", f"too slow: after {_steps(k, 'round')} of {n} points "
                           f"the minimum is only pinned down to ±{spacing:.3g}", "larger")
        suggestion = f"use more rounds (each narrows the grid {(n - 1) // 2}-fold) or more points"
    return MinimizeResult(
        method="grid search", x=path[-1], path=np.array(path), values=np.array(values),
        grads=np.full(k, np.nan), converged=verdict.regime == "converged",
        regime=verdict.regime, reason=verdict.reason, steps=k,
        evaluations=counted.evaluations(), suggestion=suggestion, spacings=tuple(spacings),
    )


# ---- side by side -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Several minimisers' results on one function; `to_rows()` gives plain dicts."""

    results: tuple[MinimizeResult, ...]

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per method: method, x, f(x), steps, f evals, f' evals, regime."""
        return [
            {"method": r.method, "x": r.x, "f(x)": r.value, "steps": r.steps,
             "function evaluations": r.evaluations.function,
             "gradient evaluations": r.evaluations.gradient, "regime": r.regime}
            for r in self.results
        ]

    def table(self, digits: int = 6) -> str:
        """The rows as an aligned text table, x and f(x) to `digits` significant digits."""
        header = ("method", "x", "f(x)", "steps", "f evals", "f' evals", "regime")
        rows = [header] + [
            (r.method, _fmt(r.x, digits), f"{r.value:.{digits}g}", str(r.steps),
             str(r.evaluations.function), str(r.evaluations.gradient), r.regime)
            for r in self.results
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        return "\n".join("  ".join(c.ljust(w) if i in (0, 6) else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(row, widths, strict=True)))
                         .rstrip() for row in rows)

    def __str__(self) -> str:
        return self.table()


def compare(
    f: Function,
    x0: float | Sequence[float] | np.ndarray,
    lr: float,
    *,
    bracket: tuple[float, float] | None = None,
    max_steps: int = 1000,
    tol: float = 1e-8,
    grid_points: int = 101,
    grid_rounds: int = 20,
) -> Comparison:
    """Gradient descent, Newton–Raphson and (one variable) grid search on the same f, to
    compare by steps and by function and gradient evaluations.

    The grid covers `bracket`, by default x0 ± 2·max(1, |x0|), refined until its spacing is
    at most tol (at most `grid_rounds` rounds).

    >>> from descent.explain.minimize import compare
    >>> rows = compare(lambda x: x**2 - 4*x + 6, 8.0, lr=0.1).to_rows()
    >>> [(r["method"], r["steps"]) for r in rows]
    [('gradient descent', 82), ('newton', 1), ('grid search', 6)]
    """
    results = [gradient_descent(f, x0, lr, max_steps, tol), newton(f, x0, tol=tol)]
    start = _start(x0)
    if start.ndim == 0:
        if bracket is None:
            half = 2.0 * max(1.0, abs(float(start)))
            bracket = (float(start) - half, float(start) + half)
        results.append(grid_search(f, bracket[0], bracket[1], grid_points, grid_rounds, tol))
    return Comparison(tuple(results))


# ---- the iteration table ----------------------------------------------------------------------


def iteration_rows(result: MinimizeResult) -> list[tuple[int, Any, Any, Any]]:
    """Exact (k, x_old, slope f'(x_old), x_new) for each step k = 1..steps."""
    if result.method == "grid search":
        raise ValueError("grid search takes no slope steps; read result.path and .values")
    return [(k, _as_output(result.path[k - 1]), _as_output(result.grads[k - 1]),
             _as_output(result.path[k])) for k in range(1, result.steps + 1)]


def format_table(result: MinimizeResult, digits: int = 2, max_rows: int | None = None) -> str:
    """The iteration table as the seed texts write it: k, x_old, slope, x_new, rounded to
    `digits` decimals for display only (the run itself never rounds; exact values are in
    `result.path` and `iteration_rows(result)`). `max_rows` keeps the first and last rows.

    >>> from descent.explain.minimize import gradient_descent, format_table
    >>> table = format_table(gradient_descent(lambda x: x**2 - 4*x + 6, 8.0, 0.1), max_rows=4)
    >>> for line in table.splitlines()[:7]:
    ...     print(line)
    gradient descent, rate 0.1: x_new = x_old - 0.1 * f'(x_old)
     k  x_old  f'(x_old)  x_new
     1   8.00      12.00   6.80
     2   6.80       9.60   5.84
    ...
    81   2.00       0.00   2.00
    82   2.00       0.00   2.00
    """
    def show(v: Any) -> str:
        a = np.asarray(v, dtype=np.float64)
        text = [f"{float(e):.{digits}f}" for e in a.ravel()]
        # -0.00 reads as a different number from 0.00 to a learner; it is not.
        text = [t[1:] if t.startswith("-") and float(t) == 0 else t for t in text]
        return text[0] if a.ndim == 0 else "(" + ", ".join(text) + ")"

    if result.method == "grid search":
        title = "grid search: best point of each round"
        header = ("round", "x", "f(x)", "spacing")
        rows = [(str(k + 1), show(x), show(v), f"{s:.2g}") for k, (x, v, s) in
                enumerate(zip(result.path, result.values, result.spacings, strict=True))]
    else:
        if result.method == "newton":
            title = "newton: x_new = x_old - f'(x_old) / f''(x_old)"
        else:
            title = (f"gradient descent, rate {result.lr:g}: "
                     f"x_new = x_old - {result.lr:g} * f'(x_old)")
        header = ("k", "x_old", "f'(x_old)", "x_new")
        rows = [(str(k), show(a), show(g), show(b)) for k, a, g, b in iteration_rows(result)]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = [title, "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    body = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if max_rows is not None and len(body) > max_rows:
        head = (max_rows + 1) // 2
        body = body[:head] + ["..."] + body[len(body) - (max_rows - head):]
    lines += body
    lines.append(result.reason)
    if result.suggestion:
        lines.append(f"suggestion: {result.suggestion}")
    return "\n".join(lines)
