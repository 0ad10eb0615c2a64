"""Derivatives of plain Python functions: `grad`, `value_and_grad`, and `check_grad`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from descent.autodiff.tensor import Tensor, gradients


def _argnums(argnums: int | Sequence[int]) -> tuple[int, ...]:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _leaf(x: Any) -> Tensor:
    """A fresh float leaf; Python ints are promoted to float64 so they can take gradients."""
    data = x.data if isinstance(x, Tensor) else x
    array = np.asarray(data)
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return Tensor(array, requires_grad=True)


def _like_input(g: np.ndarray, x: Any) -> Any:
    """Give the gradient back in the caller's currency: float for a Python number."""
    if isinstance(x, int | float) and not isinstance(x, bool):
        return float(g)
    return g


def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[Any, Any]]:
    """Return a function giving (f(*args), df/d(args[argnums])) for a scalar-valued f.

    `f` receives Tensors and must return a scalar Tensor (or a size-1 one). Called on plain
    numbers or arrays it returns plain numbers and arrays. Called on Tensors that are being
    differentiated themselves (inside another `grad`), it returns Tensors that carry their
    own graph, so derivatives nest: `grad(grad(f))` is the second derivative.

    >>> import descent as ds
    >>> ds.value_and_grad(lambda x: x**2 - 4*x + 6)(8.0)
    (38.0, 12.0)
    >>> ds.grad(ds.grad(lambda x: x**3))(2.0)   # d²/dx² x³ = 6x
    12.0
    """
    nums = _argnums(argnums)

    def wrapped(*args: Any) -> tuple[Any, Any]:
        for i in nums:
            if i >= len(args):
                raise TypeError(f"grad: argnums asks for argument {i}, but got {len(args)}")
        traced = any(isinstance(args[i], Tensor) and args[i].requires_grad for i in nums)
        inputs = [a if i not in nums or (traced and isinstance(a, Tensor) and a.requires_grad)
                  else _leaf(a) for i, a in enumerate(args)]
        out = f(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"grad: the function must return a Tensor, got {type(out).__name__}")
        if out.size != 1:
            raise ValueError(f"grad: the function must return a scalar, got shape {out.shape}")
        grads = gradients(out, [inputs[i] for i in nums], create_graph=traced)
        if traced:
            value: Any = out
        else:
            grads = [_like_input(g, args[i]) for g, i in zip(grads, nums, strict=True)]
            value = out.data.reshape(()).item()
        return value, grads[0] if isinstance(argnums, int) else tuple(grads)

    return wrapped


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Return a function computing the gradient of scalar-valued `f` at its arguments.

    >>> import descent as ds
    >>> ds.grad(lambda x: x**2 - 4*x + 6)(8.0)
    12.0
    """
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]


@dataclass(frozen=True)
class GradCheck:
    """The outcome of `check_grad`.

    `max_error` is the worst |engine - numeric| / max(1, |numeric|) over all entries
    (relative where gradients are large, absolute where they are near 0, where a pure
    relative error would only measure finite-difference noise).
    """

    max_error: float
    tolerance: float
    analytic: tuple[np.ndarray, ...]
    numeric: tuple[np.ndarray, ...]

    @property
    def ok(self) -> bool:
        return self.max_error <= self.tolerance

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "agree" if self.ok else "DISAGREE"
        return (f"engine and central differences {verdict}: worst error {self.max_error:.2e} "
                f"(tolerance {self.tolerance:.0e})")


def check_grad(
    f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, tolerance: float = 1e-6, seed: int = 0
) -> GradCheck:
    """Compare the engine's gradient of `f` with float64 central differences.

    Every input is differentiated. A non-scalar output is reduced by a fixed random
    weighting, so the whole Jacobian is exercised. The inputs are cast to float64.

    >>> import descent as ds
    >>> result = ds.check_grad(lambda x: ds.tanh(x).sum(), [0.5, -1.0])
    >>> result.ok, result.max_error < 1e-8
    (True, True)
    """
    xs = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    probe = f(*[Tensor(x) for x in xs])
    weights = np.random.default_rng(seed).standard_normal(np.shape(probe.data))

    def scalar(*ts: Tensor) -> Tensor:
        out = f(*ts)
        return out if out.size == 1 and weights.ndim == 0 else (out * weights).sum()

    analytic = value_and_grad(scalar, tuple(range(len(xs))))(*xs)[1]
    analytic = tuple(np.asarray(a, dtype=np.float64) for a in analytic)
    numeric = []
    for i, x in enumerate(xs):
        g = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            shifted = [a.copy() for a in xs]
            shifted[i][j] = x[j] + eps
            up = scalar(*[Tensor(a) for a in shifted]).data.item()
            shifted[i][j] = x[j] - eps
            down = scalar(*[Tensor(a) for a in shifted]).data.item()
            g[j] = (up - down) / (2 * eps)
        numeric.append(g)
    errors = [np.max(np.abs(a - n) / np.maximum(1.0, np.abs(n)), initial=0.0)
              for a, n in zip(analytic, numeric, strict=True)]
    return GradCheck(float(np.max(errors, initial=0.0)), tolerance, analytic, tuple(numeric))
