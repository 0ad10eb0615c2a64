"""The primitive table: every differentiable operation, its forward beside its derivative.

Each primitive has a NumPy forward and one vector-Jacobian product (VJP) per input. A VJP
takes `g` (the gradient of the final scalar with respect to this op's output), the output
`out`, the inputs and the op's parameters, and returns the gradient with respect to one
input: the chain rule's "local derivative times the gradient from above".

A VJP may return a gradient of the broadcast shape; `backward` sums it back to the input's
shape with `unbroadcast`, so no primitive undoes broadcasting itself. Everything else in
descent (sub-networks, losses, softmax) is composed from these and has no derivative code.

The VJPs are written with NumPy functions that also accept Tensors (Tensor implements
NumPy's dispatch protocols), so when asked for second derivatives the engine runs this same
table on Tensors and differentiates its own derivatives. Comparisons are therefore spelled
as ufuncs (np.equal, np.greater), which Tensors answer with constant masks.

    name          forward                 d/d(input) . g
    add(a, b)     a + b                   g, g
    mul(a, b)     a * b                   g*b, g*a
    ...           (read on: one line each)
    windows(x)    the k x k patches of x  unwindows(g): each patch's gradient added back
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Array = np.ndarray
VJP = Callable[..., Array]


@dataclass(frozen=True)
class Primitive:
    """One differentiable op: `forward(*arrays, **params)` and a VJP per input.

    `vjps[i](g, out, *inputs, **params)` is the gradient for input i. Ops with a variable
    number of inputs (concatenate, stack) give `vjp_argnum(i, g, out, *inputs, **params)`.
    """

    name: str
    forward: Callable[..., Array]
    vjps: tuple[VJP, ...] = ()
    vjp_argnum: Callable[..., Array] | None = None

    def vjp(self, i: int, g: Array, out: Array, inputs: tuple[Array, ...], params: dict) -> Array:
        if self.vjp_argnum is not None:
            return self.vjp_argnum(i, g, out, *inputs, **params)
        return self.vjps[i](g, out, *inputs, **params)


PRIMITIVES: dict[str, Primitive] = {}


def primitive(name: str, forward: Callable[..., Array], *vjps: VJP, vjp_argnum=None) -> None:
    PRIMITIVES[name] = Primitive(name, forward, tuple(vjps), vjp_argnum)


# Set by tensor.py: runs a primitive on Tensors and records the node (used inside VJPs that
# need a primitive NumPy has no dispatchable function for, such as scatter-add).
apply_hook: Callable[..., object] | None = None


def call(name: str, *args, **params):
    """Run primitive `name` on arrays, or on Tensors (recorded) when a VJP is differentiated."""
    if apply_hook is not None and any(hasattr(a, "parents") for a in args):
        return apply_hook(name, *args, **params)
    return PRIMITIVES[name].forward(*args, **params)


def unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum `g` over the axes that broadcasting added or stretched, giving `shape`.

    >>> unbroadcast(np.ones((4, 2, 3)), (1, 3)).tolist()
    [[8.0, 8.0, 8.0]]
    """
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    if g.shape != shape:  # a VJP bug: never paper over it with a reshape
        raise RuntimeError(f"internal error: gradient of shape {g.shape} for an input of {shape}")
    return g


# ---- helpers used by the reductions -------------------------------------------------------


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    return tuple(int(a) % ndim for a in axes) if ndim else ()


def _expand(g: Array, x: Array, axis, keepdims: bool) -> Array:
    """Give a reduced gradient back its reduced axes (size 1) so it broadcasts against x."""
    if not keepdims:
        g = np.expand_dims(g, _axes(axis, x.ndim))
    return g


def _count(x: Array, axis) -> int:
    return int(np.prod([x.shape[a] for a in _axes(axis, x.ndim)], dtype=np.int64))


# ---- stable forwards -----------------------------------------------------------------------


def _sigmoid(x: Array) -> Array:
    # 1/(1+e^-x) overflows e^-x for very negative x; e^-|x| never does.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _logsumexp(x: Array, axis=None, keepdims: bool = False) -> Array:
    # Shift by the max so exp never overflows; a row of -inf keeps shift 0 (not nan).
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=_axes(axis, x.ndim))


def _pow_const_vjp(g, out, a, p):
    # d(a^p)/da = p a^(p-1); for p == 0 it is 0 everywhere (a^-1 would give 0*inf = nan at 0).
    if p == 0:
        return np.zeros_like(g * a)
    return g * p * a ** (p - 1)


def _pow_vjp_base(g, out, a, b):
    # d(a^b)/da = b a^(b-1); torch's convention: 0 where b == 0 (not 0 * 0^-1 = nan at a == 0).
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * np.where(np.equal(b, 0), 0, b * a ** (b - 1))


def _pow_vjp_exponent(g, out, a, b):
    # d(a^b)/db = a^b log a; torch's convention: 0 where a == 0 and b >= 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        at_zero = np.logical_and(np.equal(a, 0), np.greater_equal(b, 0))
        return g * np.where(at_zero, 0, out * np.log(a))


def _max_vjp(g, out, x, axis=None, keepdims=False):
    # The gradient goes to the arg-max; ties share it equally (as torch.amax does).
    hit = np.equal(x, _expand(out, x, axis, keepdims))
    return _expand(g, x, axis, keepdims) * hit / hit.sum(axis=axis, keepdims=True)


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (slice, int, np.integer, type(None), type(Ellipsis))) for i in parts)


def _scatter_add(g, index, shape):
    """zeros(shape) with g added at `index`: the adjoint of x[index]."""
    gx = np.zeros(shape, dtype=g.dtype)
    if _is_basic_index(index):
        gx[index] = g  # a slice selects each element at most once
    else:
        np.add.at(gx, index, g)  # an index used twice collects both gradients
    return gx


def _matmul_vjp_a(g, out, a, b):
    if b.ndim == 1:  # out[..., i] = sum_k a[..., i, k] b[k]
        return np.expand_dims(g, -1) * b
    if a.ndim == 1:  # out[..., j] = sum_k a[k] b[..., k, j]
        return (np.expand_dims(g, -2) @ np.swapaxes(b, -1, -2))[..., 0, :]
    return g @ np.swapaxes(b, -1, -2)


def _matmul_vjp_b(g, out, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:
        return a[:, None] * np.expand_dims(g, -2)
    if b.ndim == 1:
        return (np.swapaxes(a, -1, -2) @ np.expand_dims(g, -1))[..., 0]
    return np.swapaxes(a, -1, -2) @ g


def _windows(x, kernel, stride, dilation, padding, fill=0.0):
    """The sliding windows of x's last len(kernel) axes: (N, C, *spatial) -> (N, C, *out, *kernel).

    A view (no copy) of x, or of x padded with `fill` on each side by `padding` ((lo, hi) per
    axis). Window (i, j) starts at (i*stride, j*stride); its entries are `dilation` apart.
    """
    d = len(kernel)
    lead = x.ndim - d
    if any(lo or hi for lo, hi in padding):
        x = np.pad(x, [(0, 0)] * lead + [tuple(p) for p in padding], constant_values=fill)
    span = tuple((k - 1) * r + 1 for k, r in zip(kernel, dilation, strict=True))
    view = sliding_window_view(x, span, axis=tuple(range(lead, x.ndim)))
    return view[(slice(None),) * lead + tuple(slice(None, None, s) for s in stride)
                + tuple(slice(None, None, r) for r in dilation)]


def _unwindows(g, shape, kernel, stride, dilation, padding):
    """The adjoint of `_windows` (col2im): each window's entries added back where they came from.

    One strided add per kernel offset (k*k adds of a whole (N, C, *out) slab), not one
    scatter per element; the padding's share is cropped off at the end.
    """
    d = len(kernel)
    lead, spatial = tuple(shape[:-d]), tuple(shape[-d:])
    out_size = g.shape[len(lead):len(lead) + d]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, padding, strict=True))
    gx = np.zeros(lead + padded, dtype=g.dtype)
    for offset in product(*(range(k) for k in kernel)):
        target = tuple(slice(o * r, o * r + s * (m - 1) + 1, s)
                       for o, r, s, m in zip(offset, dilation, stride, out_size, strict=True))
        gx[(Ellipsis, *target)] += g[(Ellipsis, *offset)]
    return gx[(Ellipsis, *(slice(lo, lo + n) for n, (lo, _) in zip(spatial, padding,
                                                                     strict=True)))]


def _windows_vjp(g, out, x, kernel, stride, dilation, padding, fill=0.0):
    return call("unwindows", g, shape=tuple(x.shape), kernel=kernel, stride=stride,
                dilation=dilation, padding=padding)


def _unwindows_vjp(g, out, src, shape, kernel, stride, dilation, padding):
    return call("windows", g, kernel=kernel, stride=stride, dilation=dilation, padding=padding)


def _split_vjp(i, g, out, *xs, axis=0):
    start = sum(x.shape[axis] for x in xs[:i])
    return np.take(g, np.arange(start, start + xs[i].shape[axis]), axis=axis)


# ---- the table -----------------------------------------------------------------------------
# Arithmetic
primitive("add", np.add, lambda g, out, a, b: g, lambda g, out, a, b: g)
primitive("sub", np.subtract, lambda g, out, a, b: g, lambda g, out, a, b: -g)
primitive("mul", np.multiply, lambda g, out, a, b: g * b, lambda g, out, a, b: g * a)
primitive("div", np.divide, lambda g, out, a, b: g / b, lambda g, out, a, b: -g * out / b)
primitive("neg", np.negative, lambda g, out, a: -g)
primitive("pow", np.power, _pow_vjp_base, _pow_vjp_exponent)
primitive("pow_const", lambda a, p: np.power(a, p), _pow_const_vjp)
primitive("maximum", np.maximum,
          lambda g, out, a, b: g * (np.greater(a, b) + 0.5 * np.equal(a, b)),  # ties share
          lambda g, out, a, b: g * (np.greater(b, a) + 0.5 * np.equal(a, b)))
primitive("minimum", np.minimum,
          lambda g, out, a, b: g * (np.less(a, b) + 0.5 * np.equal(a, b)),
          lambda g, out, a, b: g * (np.less(b, a) + 0.5 * np.equal(a, b)))

# Elementwise functions: derivatives from the output where that is cheaper
primitive("exp", np.exp, lambda g, out, x: g * out)
primitive("log", np.log, lambda g, out, x: g / x)
primitive("sqrt", np.sqrt, lambda g, out, x: g / (2 * out))
primitive("abs", np.abs, lambda g, out, x: g * np.sign(x))
primitive("sin", np.sin, lambda g, out, x: g * np.cos(x))
primitive("cos", np.cos, lambda g, out, x: -g * np.sin(x))
primitive("tanh", np.tanh, lambda g, out, x: g * (1 - out * out))
primitive("sigmoid", _sigmoid, lambda g, out, x: g * out * (1 - out))
# relu'(0) is taken as 0 (a subgradient; PyTorch and JAX choose the same).
primitive("relu", lambda x: np.maximum(x, 0), lambda g, out, x: g * np.greater(x, 0))
primitive("leaky_relu", lambda x, slope=0.01: np.where(x > 0, x, slope * x),
          lambda g, out, x, slope=0.01: g * np.where(np.greater(x, 0), 1, slope).astype(g.dtype))
primitive("clip", lambda x, lo, hi: np.clip(x, lo, hi),
          lambda g, out, x, lo, hi: g * np.logical_and(np.greater_equal(x, lo),
                                                       np.less_equal(x, hi)))
primitive("where", lambda a, b, cond: np.where(cond, a, b),
          lambda g, out, a, b, cond: g * cond, lambda g, out, a, b, cond: g * ~cond)

# Linear algebra
primitive("matmul", np.matmul, _matmul_vjp_a, _matmul_vjp_b)

# Reductions
primitive("sum", lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
          lambda g, out, x, axis=None, keepdims=False:
          np.broadcast_to(_expand(g, x, axis, keepdims), x.shape))
primitive("mean", lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
          lambda g, out, x, axis=None, keepdims=False:
          np.broadcast_to(_expand(g, x, axis, keepdims) / _count(x, axis), x.shape))
primitive("max", lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
          _max_vjp)
primitive("logsumexp", _logsumexp,
          lambda g, out, x, axis=None, keepdims=False:
          _expand(g, x, axis, keepdims) * np.exp(x - _expand(out, x, axis, keepdims)))

# Shape
primitive("reshape", lambda x, shape: np.reshape(x, shape),
          lambda g, out, x, shape: np.reshape(g, x.shape))
primitive("transpose", lambda x, axes=None: np.transpose(x, axes),
          lambda g, out, x, axes=None:
          # normalise negative axes first: argsort((0, -1, -2)) is not the inverse permutation
          np.transpose(g, None if axes is None else np.argsort([a % x.ndim for a in axes])))
primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
          lambda g, out, x, shape: g)  # unbroadcast, applied to every VJP, does the sum
primitive("cast", lambda x, dtype: x.astype(dtype), lambda g, out, x, dtype: g)
primitive("getitem", lambda x, index: x[index],
          lambda g, out, x, index: call("scatter_add", g, index=index, shape=tuple(x.shape)))
primitive("scatter_add", _scatter_add, lambda g, out, src, index, shape: g[index])
# Sliding windows: convolution (windows x weights) and pooling (windows then max or mean) are
# composed from this pair in autodiff/convolution.py and have no derivative code of their own.
primitive("windows", _windows, _windows_vjp)
primitive("unwindows", _unwindows, _unwindows_vjp)
primitive("concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis), vjp_argnum=_split_vjp)
primitive("stack", lambda *xs, axis=0: np.stack(xs, axis=axis),
          vjp_argnum=lambda i, g, out, *xs, axis=0: np.take(g, i, axis=axis))
