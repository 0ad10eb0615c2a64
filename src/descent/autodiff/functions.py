"""The functions of the engine: each a primitive, or composed from primitives.

Composites (`min`, `log_softmax`, `softmax`, `square`) carry no derivative code: the engine
differentiates them through the primitives they are built from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from descent.autodiff.tensor import Tensor, apply


def exp(x: Any) -> Tensor:
    """e^x elementwise. d/dx = e^x."""
    return apply("exp", x)


def log(x: Any) -> Tensor:
    """Natural log elementwise. d/dx = 1/x."""
    return apply("log", x)


def sqrt(x: Any) -> Tensor:
    """Square root elementwise. d/dx = 1/(2 sqrt x)."""
    return apply("sqrt", x)


def abs(x: Any) -> Tensor:  # noqa: A001 - mirrors numpy.abs
    """|x| elementwise. d/dx = sign(x) (0 at 0)."""
    return apply("abs", x)


def sin(x: Any) -> Tensor:
    """sin x elementwise. d/dx = cos x."""
    return apply("sin", x)


def cos(x: Any) -> Tensor:
    """cos x elementwise. d/dx = -sin x."""
    return apply("cos", x)


def tanh(x: Any) -> Tensor:
    """tanh x elementwise. d/dx = 1 - tanh(x)^2."""
    return apply("tanh", x)


def sigmoid(x: Any) -> Tensor:
    """The logistic sigmoid 1/(1+e^-x), stable for any x. d/dx = s(1-s).

    >>> import descent as ds
    >>> float(ds.sigmoid(0.0).data)
    0.5
    """
    return apply("sigmoid", x)


def relu(x: Any) -> Tensor:
    """max(x, 0) elementwise. d/dx = 1 for x > 0, else 0 (0 at 0)."""
    return apply("relu", x)


def leaky_relu(x: Any, slope: float = 0.01) -> Tensor:
    """x for x > 0, slope*x otherwise. d/dx = 1 or slope."""
    return apply("leaky_relu", x, slope=slope)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max of a and b (broadcasting); ties split the gradient."""
    return apply("maximum", a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min of a and b (broadcasting); ties split the gradient."""
    return apply("minimum", a, b)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """a where condition holds, else b; the gradient flows only to the chosen side."""
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    return apply("where", a, b, cond=cond)


def clip(x: Any, lo: float | None = None, hi: float | None = None) -> Tensor:
    """x limited to [lo, hi]; the gradient is 1 inside the range and 0 outside."""
    return apply("clip", x, lo=-np.inf if lo is None else lo, hi=np.inf if hi is None else hi)


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product a @ b (matrix, vector and batched, as numpy.matmul).

    >>> import descent as ds
    >>> ds.matmul(ds.tensor([[1.0, 2.0]]), ds.tensor([[3.0], [4.0]])).data.tolist()
    [[11.0]]
    """
    return apply("matmul", a, b)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over `axis` (all axes when None)."""
    return apply("sum", x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over `axis` (all axes when None)."""
    return apply("mean", x, axis=axis, keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Max over `axis`; the gradient goes to the maximal entries."""
    return apply("max", x, axis=axis, keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Min over `axis`, composed as -max(-x)."""
    return -max(-_t(x), axis=axis, keepdims=keepdims)


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    return apply("reshape", x, shape=tuple(shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    return apply("transpose", x, axes=None if axes is None else tuple(axes))


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    return apply("broadcast_to", x, shape=tuple(shape))


def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return apply("concatenate", *xs, axis=axis)


def stack(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return apply("stack", *xs, axis=axis)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over `axis`, computed without overflow. d/dx = softmax(x)."""
    return apply("logsumexp", x, axis=axis, keepdims=keepdims)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """x - logsumexp(x): log-probabilities, finite even for inputs of +/-1000."""
    x = _t(x)
    # Shift by the max (a constant) first: x - logsumexp(x) rounds to the spacing of floats
    # near max(x), 6e-5 at 1000 in float32. The shift changes neither the value nor the gradient.
    m = np.max(x.data, axis=axis, keepdims=True)
    shifted = x - np.where(np.isfinite(m), m, 0)
    return shifted - logsumexp(shifted, axis=axis, keepdims=True)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """exp(log_softmax(x)): probabilities along `axis` that sum to 1.

    >>> import descent as ds
    >>> ds.softmax(ds.tensor([1000.0, -1000.0])).data.tolist()
    [1.0, 0.0]
    """
    return exp(log_softmax(x, axis=axis))


def square(x: Any) -> Tensor:
    return _t(x) ** 2


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)
