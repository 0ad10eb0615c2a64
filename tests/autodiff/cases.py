"""The op table shared by the PyTorch oracle and the central-difference oracle.

One `Case` per line: our function (on descent Tensors), PyTorch's function (on torch
tensors), the input shapes and the domain the inputs are drawn from. Inputs and the random
upstream gradient are seeded by the case's name, so every case is reproducible alone.

Domains keep the inputs away from points where the derivative does not exist:
- "real": standard normal
- "positive": uniform in [0.5, 2] (log, sqrt, fractional powers, bases of tensor powers)
- "nonzero": |x| in [0.2, 2], either sign (abs, relu, leaky_relu, denominators)
- "distinct": every entry of every input distinct by >= 0.09 and >= 0.025 away from every
  multiple of 0.1 (max/min ties, maximum/minimum, clip bounds at multiples of 0.1)
A tuple of domains gives one per input.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention

import descent as ds
from descent.autodiff.tensor import apply

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Case:
    name: str
    ours: Callable[..., Any]
    theirs: Callable[..., Any]
    shapes: tuple[Shape, ...]
    domain: str | tuple[str, ...] = "real"
    numeric: bool = True  # False where float64 central differences cannot apply (float32)

    def __repr__(self) -> str:
        return self.name


def _rng(name: str, salt: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{name}/{salt}".encode()))


def _draw(domain: str, shape: Shape, rng: np.random.Generator) -> np.ndarray:
    if domain == "real":
        return np.asarray(rng.standard_normal(shape), dtype=np.float64)
    if domain == "positive":
        return np.asarray(rng.uniform(0.5, 2.0, shape), dtype=np.float64)
    if domain == "nonzero":
        sign = rng.choice([-1.0, 1.0], size=shape)
        return np.asarray(sign * rng.uniform(0.2, 2.0, shape), dtype=np.float64)
    raise ValueError(f"unknown domain {domain!r}")


def make_inputs(case: Case) -> list[np.ndarray]:
    """The case's float64 input arrays, the same on every call."""
    rng = _rng(case.name, "inputs")
    if case.domain == "distinct":
        sizes = [int(np.prod(s, dtype=np.int64)) for s in case.shapes]
        total = sum(sizes)
        grid = (rng.permutation(total) - total // 2) * 0.1
        values = grid + 0.025 + rng.uniform(0.0, 0.01, total)
        arrays, start = [], 0
        for shape, size in zip(case.shapes, sizes, strict=True):
            arrays.append(values[start:start + size].reshape(shape).astype(np.float64))
            start += size
        return arrays
    domains = case.domain if isinstance(case.domain, tuple) else (case.domain,) * len(case.shapes)
    return [_draw(d, s, rng) for d, s in zip(domains, case.shapes, strict=True)]


def upstream(case: Case, shape: Shape) -> np.ndarray:
    """A fixed random upstream gradient w: the tests differentiate sum(out * w)."""
    return np.asarray(_rng(case.name, "upstream").standard_normal(shape), dtype=np.float64)


def run_descent(case: Case, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, list, Any]:
    """(forward value, gradient of sum(out * w) per input, the output Tensor)."""
    xs = [ds.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = case.ours(*xs)
    (out * upstream(case, out.shape)).sum().backward()
    return out.data, [x.grad for x in xs], out


def run_torch(case: Case, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, list]:
    xs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = case.theirs(*xs)
    w = torch.from_numpy(upstream(case, tuple(out.shape)))
    (out * w).sum().backward()
    grads = [None if x.grad is None else x.grad.numpy() for x in xs]
    return out.detach().numpy(), grads


# ---- PyTorch spellings of NumPy-style reductions ---------------------------------------------


def _dim(x: torch.Tensor, axis: Any) -> Any:
    return tuple(range(x.dim())) if axis is None else axis


def t_sum(x, axis=None, keepdims=False):
    return torch.sum(x, dim=_dim(x, axis), keepdim=keepdims)


def t_mean(x, axis=None, keepdims=False):
    return torch.mean(x, dim=_dim(x, axis), keepdim=keepdims)


def t_max(x, axis=None, keepdims=False):
    return torch.amax(x, dim=_dim(x, axis), keepdim=keepdims)


def t_min(x, axis=None, keepdims=False):
    return torch.amin(x, dim=_dim(x, axis), keepdim=keepdims)


def t_logsumexp(x, axis=None, keepdims=False):
    return torch.logsumexp(x, dim=_dim(x, axis), keepdim=keepdims)


def t_index(index: Any) -> Any:
    """A NumPy index (arrays, lists, slices) in the form torch wants."""
    if isinstance(index, tuple):
        return tuple(t_index(i) for i in index)
    if isinstance(index, np.ndarray | list):
        return torch.as_tensor(np.asarray(index))
    return index


def _sid(shapes: Sequence[Shape]) -> str:
    return "_".join("x".join(map(str, s)) or "s" for s in shapes)


# ---- the table ---------------------------------------------------------------------------------

CASES: list[Case] = []


def case(name, ours, theirs, shapes, domain="real", numeric=True) -> None:
    CASES.append(Case(name, ours, theirs, tuple(tuple(s) for s in shapes), domain, numeric))


UNARY_SHAPES: list[Shape] = [(), (3,), (2, 3)]
BINARY_SHAPES: list[tuple[Shape, Shape]] = [
    ((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((1, 3), (2, 3)), ((2, 3), (1, 3)),
    ((2, 1), (1, 3)), ((3,), (2, 3)), ((2, 3), ()),
]

# Binary arithmetic through the operators, every broadcast pattern.
for sa, sb in BINARY_SHAPES:
    sid = _sid([sa, sb])
    case(f"add-{sid}", lambda a, b: a + b, lambda a, b: a + b, [sa, sb])
    case(f"sub-{sid}", lambda a, b: a - b, lambda a, b: a - b, [sa, sb])
    case(f"mul-{sid}", lambda a, b: a * b, lambda a, b: a * b, [sa, sb])
    case(f"div-{sid}", lambda a, b: a / b, lambda a, b: a / b, [sa, sb], ("real", "nonzero"))
    case(f"pow-{sid}", lambda a, b: a**b, lambda a, b: a**b, [sa, sb], ("positive", "real"))
    case(f"maximum-{sid}", ds.maximum, torch.maximum, [sa, sb], "distinct")
    case(f"minimum-{sid}", ds.minimum, torch.minimum, [sa, sb], "distinct")

# Python numbers and NumPy arrays on either side of an operator.
_C = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])
_M = np.array([[0.5, -1.0], [1.5, 0.25], [-2.0, 1.0]])
_TC, _TM = torch.from_numpy(_C), torch.from_numpy(_M)
for s in [(), (2, 3)]:
    sid = _sid([s])
    case(f"add-const-{sid}", lambda x: x + 2.0, lambda x: x + 2.0, [s])
    case(f"radd-const-{sid}", lambda x: 2.0 + x, lambda x: 2.0 + x, [s])
    case(f"sub-const-{sid}", lambda x: x - 2.0, lambda x: x - 2.0, [s])
    case(f"rsub-const-{sid}", lambda x: 2.0 - x, lambda x: 2.0 - x, [s])
    case(f"mul-const-{sid}", lambda x: x * 3, lambda x: x * 3, [s])
    case(f"rmul-const-{sid}", lambda x: 3.0 * x, lambda x: 3.0 * x, [s])
    case(f"div-const-{sid}", lambda x: x / 2.0, lambda x: x / 2.0, [s])
    case(f"rdiv-const-{sid}", lambda x: 2.0 / x, lambda x: 2.0 / x, [s], "nonzero")
    case(f"rpow-const-{sid}", lambda x: 2.0**x, lambda x: 2.0**x, [s])
    case(f"neg-{sid}", lambda x: -x, lambda x: -x, [s])
case("radd-ndarray-2x3", lambda x: _C + x, lambda x: _TC + x, [(2, 3)])
case("rsub-ndarray-2x3", lambda x: _C - x, lambda x: _TC - x, [(2, 3)])
case("rmul-ndarray-3", lambda x: _C * x, lambda x: _TC * x, [(3,)])
case("rdiv-ndarray-2x3", lambda x: _C / x, lambda x: _TC / x, [(2, 3)], "nonzero")
case("matmul-ndarray-2x3", lambda x: x @ _M, lambda x: x @ _TM, [(2, 3)])
case("rmatmul-ndarray-3x2", lambda x: _C @ x, lambda x: _TC @ x, [(3, 2)])

# Scalar exponents (pow_const) and square.
for p, domain in [(2, "real"), (3, "real"), (0.5, "positive"), (1.5, "positive"),
                  (-1, "nonzero"), (-2, "nonzero"), (-0.5, "positive"), (1, "real"),
                  (0, "nonzero")]:
    for s in UNARY_SHAPES:
        case(f"pow_const-p{p}-{_sid([s])}", lambda x, p=p: x**p, lambda x, p=p: x**p, [s], domain)
for s in UNARY_SHAPES:
    case(f"square-{_sid([s])}", ds.square, torch.square, [s])

# Elementwise functions, as functions and as methods.
_UNARY = [
    ("exp", ds.exp, torch.exp, "real"),
    ("log", ds.log, torch.log, "positive"),
    ("sqrt", ds.sqrt, torch.sqrt, "positive"),
    ("abs", ds.abs, torch.abs, "nonzero"),
    ("sin", ds.sin, torch.sin, "real"),
    ("cos", ds.cos, torch.cos, "real"),
    ("tanh", ds.tanh, torch.tanh, "real"),
    ("sigmoid", ds.sigmoid, torch.sigmoid, "real"),
    ("relu", ds.relu, torch.relu, "nonzero"),
    ("leaky_relu", ds.leaky_relu, F.leaky_relu, "nonzero"),
    ("leaky_relu-slope0.2", lambda x: ds.leaky_relu(x, 0.2),
     lambda x: F.leaky_relu(x, 0.2), "nonzero"),
    ("leaky_relu-slope1.5", lambda x: ds.leaky_relu(x, slope=1.5),
     lambda x: F.leaky_relu(x, 1.5), "nonzero"),
]
for name, ours, theirs, domain in _UNARY:
    for s in UNARY_SHAPES:
        case(f"{name}-{_sid([s])}", ours, theirs, [s], domain)
for method, domain in [("exp", "real"), ("log", "positive"), ("sqrt", "positive"),
                       ("abs", "nonzero"), ("tanh", "real"), ("sigmoid", "real"),
                       ("relu", "nonzero")]:
    case(f"method-{method}-2x3", lambda x, m=method: getattr(x, m)(),
         lambda x, m=method: getattr(x, m)(), [(2, 3)], domain)
case("sigmoid-wide-2x3", lambda x: ds.sigmoid(8 * x), lambda x: torch.sigmoid(8 * x), [(2, 3)])

# clip / where
for s in UNARY_SHAPES:
    sid = _sid([s])
    case(f"clip-{sid}", lambda x: ds.clip(x, -0.3, 0.4),
         lambda x: torch.clamp(x, -0.3, 0.4), [s], "distinct")
case("clip-lo-only-2x3", lambda x: ds.clip(x, lo=0.0), lambda x: torch.clamp(x, min=0.0),
     [(2, 3)], "distinct")
case("clip-hi-only-2x3", lambda x: ds.clip(x, hi=0.2), lambda x: torch.clamp(x, max=0.2),
     [(2, 3)], "distinct")

_COND = np.array([[True, False, True], [False, False, True]])
_COND_ROW = np.array([False, True, True])
for (sa, sb), cond in [(((2, 3), (2, 3)), _COND), (((2, 3), (1, 3)), _COND),
                       (((), (2, 3)), _COND), (((3,), (3,)), _COND_ROW),
                       (((2, 3), (2, 3)), _COND_ROW), (((1, 3), ()), _COND)]:
    case(f"where-{_sid([sa, sb, cond.shape])}",
         lambda a, b, c=cond: ds.where(c, a, b),
         lambda a, b, c=cond: torch.where(torch.from_numpy(c), a, b), [sa, sb])
case("where-const-2x3", lambda x: ds.where(_COND, x, 0.0),
     lambda x: torch.where(torch.from_numpy(_COND), x, 0.0), [(2, 3)])
case("where-tensor-cond-2x3", lambda x: ds.where(x > 0, x, 2 * x),
     lambda x: torch.where(x > 0, x, 2 * x), [(2, 3)], "nonzero")

# Matrix products: vector, matrix, batched, broadcast batches.
for sa, sb in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
               ((1, 3), (3, 1)), ((2, 2, 3), (3, 4)), ((2, 2, 3), (2, 3, 4)),
               ((3,), (2, 3, 4)), ((2, 2, 3), (3,)), ((1, 2, 3), (2, 3, 4)),
               ((2, 1, 2, 3), (3, 3, 2))]:
    case(f"matmul-{_sid([sa, sb])}", lambda a, b: a @ b, lambda a, b: a @ b, [sa, sb])
case("matmul-fn-2x3_3x4", ds.matmul, torch.matmul, [(2, 3), (3, 4)])

# Reductions, every axis form, with and without keepdims.
_AXES: list[tuple[Shape, Any]] = [
    ((), None), ((3,), None), ((3,), 0), ((3,), -1), ((2, 3), None), ((2, 3), 0),
    ((2, 3), 1), ((2, 3), -1), ((2, 3), (0, 1)), ((2, 3, 4), (0, 2)), ((2, 3, 4), -2),
]
_REDUCTIONS = [
    ("sum", lambda x, a, k: x.sum(axis=a, keepdims=k), t_sum, "real"),
    ("mean", lambda x, a, k: x.mean(axis=a, keepdims=k), t_mean, "real"),
    ("max", lambda x, a, k: x.max(axis=a, keepdims=k), t_max, "distinct"),
    ("min", lambda x, a, k: ds.min(x, axis=a, keepdims=k), t_min, "distinct"),
    ("logsumexp", lambda x, a, k: ds.logsumexp(x, axis=a, keepdims=k), t_logsumexp, "real"),
]
for name, ours, theirs, domain in _REDUCTIONS:
    for s, axis in _AXES:
        for keep in (False, True):
            case(f"{name}-{_sid([s])}-axis{axis}{'-keep' if keep else ''}".replace(" ", ""),
                 lambda x, o=ours, a=axis, k=keep: o(x, a, k),
                 lambda x, t=theirs, a=axis, k=keep: t(x, a, k), [s], domain)
case("sum-fn-2x3-axis0", lambda x: ds.sum(x, axis=0), lambda x: t_sum(x, 0), [(2, 3)])
case("mean-fn-2x3-axis1-keep", lambda x: ds.mean(x, 1, True), lambda x: t_mean(x, 1, True),
     [(2, 3)])
case("max-fn-2x3-axis1", lambda x: ds.max(x, axis=1), lambda x: t_max(x, 1), [(2, 3)],
     "distinct")

# log_softmax / softmax (composites: no derivative code of their own)
for s, axis in [((3,), -1), ((2, 3), -1), ((2, 3), 0), ((2, 3, 4), 1)]:
    sid = f"{_sid([s])}-axis{axis}"
    case(f"log_softmax-{sid}", lambda x, a=axis: ds.log_softmax(x, axis=a),
         lambda x, a=axis: torch.log_softmax(x, dim=a), [s])
    case(f"softmax-{sid}", lambda x, a=axis: ds.softmax(x, axis=a),
         lambda x, a=axis: torch.softmax(x, dim=a), [s])

# Shapes: reshape, transpose, broadcast_to, cast.
case("reshape-2x3-to-3x2", lambda x: x.reshape(3, 2), lambda x: x.reshape(3, 2), [(2, 3)])
case("reshape-6-to-2x3", lambda x: x.reshape((2, 3)), lambda x: x.reshape(2, 3), [(6,)])
case("reshape-s-to-1x1", lambda x: ds.reshape(x, (1, 1)), lambda x: x.reshape(1, 1), [()])
case("reshape-2x3-to-flat", lambda x: x.reshape(-1), lambda x: x.reshape(-1), [(2, 3)])
case("T-2x3", lambda x: x.T, lambda x: x.T, [(2, 3)])
case("T-1x3", lambda x: x.T, lambda x: x.T, [(1, 3)])
case("transpose-method-2x3", lambda x: x.transpose(), lambda x: x.permute(1, 0), [(2, 3)])
case("transpose-2x3x4-axes102", lambda x: ds.transpose(x, (1, 0, 2)),
     lambda x: x.permute(1, 0, 2), [(2, 3, 4)])
case("transpose-2x3x4-axes201", lambda x: x.transpose(2, 0, 1),
     lambda x: x.permute(2, 0, 1), [(2, 3, 4)])
case("transpose-2x3x4-axes-negative", lambda x: ds.transpose(x, (0, -1, -2)),
     lambda x: x.permute(0, -1, -2), [(2, 3, 4)])
for s, target in [((3,), (2, 3)), ((1, 3), (4, 3)), ((), (2, 2)), ((2, 1), (2, 3)),
                  ((2, 1), (3, 2, 4))]:
    case(f"broadcast_to-{_sid([s])}-to-{_sid([target])}",
         lambda x, t=target: ds.broadcast_to(x, t),
         lambda x, t=target: torch.broadcast_to(x, t), [s])
case("cast-float64-2x3", lambda x: x.astype(np.float64), lambda x: x.to(torch.float64),
     [(2, 3)])
case("cast-float32-2x3", lambda x: x.astype(np.float32), lambda x: x.to(torch.float32),
     [(2, 3)], numeric=False)  # float32 rounding swamps central differences

# Indexing: basic (slices, ints, None, Ellipsis) and advanced (arrays, repeated indices,
# boolean masks), where a repeated index must collect every gradient (scatter-add).
_MASK = np.array([[True, False, True], [False, True, True]])
_INDEXES: list[tuple[str, Shape, Any]] = [
    ("int", (3,), 1),
    ("negative-int", (2, 3), -1),
    ("int-pair", (2, 3), (0, 2)),
    ("slice", (2, 3), (slice(None), slice(1, None))),
    ("step", (2, 3, 4), (Ellipsis, slice(0, None, 2))),
    ("newaxis", (2, 3), (None, slice(None), 1)),
    ("array-repeated", (3,), np.array([0, 0, 2, 0])),
    ("list-repeated-rows", (2, 3), [1, 0, 1]),
    ("pairs-repeated", (2, 3), (np.array([0, 1, 1, 0]), np.array([2, 0, 0, 2]))),
    ("array-and-slice", (2, 3), (np.array([1, 1]), slice(1, None))),
    ("2d-index-array", (3,), np.array([[0, 1], [1, 1]])),
    ("mask", (2, 3), _MASK),
]
for name, s, index in _INDEXES:
    case(f"getitem-{name}-{_sid([s])}", lambda x, i=index: x[i],
         lambda x, i=index: x[t_index(i)], [s])
case("getitem-reversed-2x3", lambda x: x[:, ::-1], lambda x: torch.flip(x, (1,)), [(2, 3)])


# scatter_add, the adjoint of indexing (what getitem's VJP runs when it is differentiated).
case("scatter_add-slice-2x2",
     lambda x: apply("scatter_add", x, index=(slice(None), slice(1, None)), shape=(2, 3)),
     lambda x: F.pad(x, (1, 0)), [(2, 2)])
case("scatter_add-repeated-4",
     lambda x: apply("scatter_add", x, index=np.array([0, 0, 2, 0]), shape=(3,)),
     lambda x: x.new_zeros(3).index_put((torch.tensor([0, 0, 2, 0]),), x, accumulate=True),
     [(4,)])

# Joining.
for shapes, axis in [([(2, 3), (1, 3)], 0), ([(2, 3), (2, 2)], 1), ([(2, 3), (2, 1)], -1),
                     ([(3,), (2,), (1,)], 0)]:
    case(f"concatenate-{_sid(shapes)}-axis{axis}",
         lambda *xs, a=axis: ds.concatenate(xs, axis=a),
         lambda *xs, a=axis: torch.cat(xs, dim=a), shapes)
for shapes, axis in [([(3,), (3,)], 0), ([(3,), (3,)], 1), ([(2, 3), (2, 3), (2, 3)], -1),
                     ([(2, 3), (2, 3)], 1), ([(), (), ()], 0)]:
    case(f"stack-{_sid(shapes)}-axis{axis}",
         lambda *xs, a=axis: ds.stack(xs, axis=a),
         lambda *xs, a=axis: torch.stack(xs, dim=a), shapes)

# A few compositions a network actually runs.
case("dense-tanh-3x4_4x2_2", lambda x, w, b: ds.tanh(x @ w + b),
     lambda x, w, b: torch.tanh(x @ w + b), [(3, 4), (4, 2), (2,)])
case("cross-entropy-2x3", lambda z: -ds.log_softmax(z)[np.arange(2), np.array([2, 0])].mean(),
     lambda z: torch.nn.functional.cross_entropy(z, torch.tensor([2, 0])), [(2, 3)])
case("mse-half-4", lambda y, t: ((y - t) ** 2).mean() / 2,
     lambda y, t: ((y - t) ** 2).mean() / 2, [(4,), (4,)])
case("x-times-x-2x3", lambda x: x * x, lambda x: x * x, [(2, 3)])


# Sliding windows, the one primitive under convolution and pooling, and its adjoint (col2im).
# Grids cover kernel sizes, strides, paddings ("same" included), dilations, channel counts
# and odd spatial sizes; the (stride, padding, dilation) triples are checked against torch.
_WINDOW_ARGS = dict(kernel=(2, 3), stride=(2, 1), dilation=(1, 2), padding=((1, 0), (2, 1)))
case("windows-2x3x5x6-k2x3-s2x1-d1x2-p",
     lambda x: apply("windows", x, **_WINDOW_ARGS),
     lambda x: F.pad(x, (2, 1, 1, 0)).unfold(2, 2, 2).unfold(3, 5, 1)[..., ::2],
     [(2, 3, 5, 6)])
case("windows-fn-1x2x7-k3-s2",
     lambda x: ds.windows(x, 3, stride=2), lambda x: x.unfold(2, 3, 2), [(1, 2, 7)])
case("unwindows-2x3x3x5x2x3",
     lambda g: apply("unwindows", g, shape=(2, 3, 5, 6), **_WINDOW_ARGS),
     lambda g: F.fold(g.permute(0, 1, 4, 5, 2, 3).reshape(2, 3 * 6, 15), (6, 9), (2, 3),
                      dilation=(1, 2), stride=(2, 1))[:, :, 1:6, 2:8],
     [(2, 3, 3, 5, 2, 3)])

# (N, C_in, C_out, spatial, kernel, stride, padding, dilation, bias)
_CONV1D = [
    (2, 3, 4, 9, 3, 1, 0, 1, True), (1, 1, 1, 5, 1, 1, 0, 1, True),
    (2, 2, 3, 11, 4, 2, 1, 1, True), (3, 3, 2, 10, 3, 3, 2, 2, False),
    (1, 2, 5, 7, 3, 1, "same", 1, True), (2, 1, 2, 8, 4, 1, "same", 2, True),
    (2, 2, 2, 6, 6, 1, "valid", 1, True), (1, 4, 1, 13, 2, 5, 3, 3, True),
]
for n, ci, co, length, k, s, p, r, bias in _CONV1D:
    name = f"conv1d-{n}x{ci}x{length}-o{co}-k{k}-s{s}-p{p}-d{r}{'' if bias else '-nobias'}"
    shapes = [(n, ci, length), (co, ci, k)] + ([(co,)] if bias else [])
    case(name, lambda x, w, b=None, s=s, p=p, r=r: ds.conv1d(x, w, b, s, p, r),
         lambda x, w, b=None, s=s, p=p, r=r: F.conv1d(x, w, b, s, p, r), shapes)

_CONV2D = [
    (2, 3, 4, (7, 9), 3, 1, 0, 1, True), (1, 1, 1, (5, 5), 1, 1, 0, 1, True),
    (2, 2, 3, (6, 7), (2, 3), 1, 0, 1, True), (2, 3, 2, (9, 8), 3, 2, 1, 1, True),
    (1, 2, 3, (7, 7), 3, (2, 1), (1, 2), 1, False), (2, 1, 2, (9, 9), 3, 1, 0, 2, True),
    (1, 2, 2, (10, 9), (3, 2), (3, 2), (2, 0), (2, 3), True),
    (2, 2, 3, (5, 6), 3, 1, "same", 1, True), (1, 3, 2, (6, 5), (2, 4), 1, "same", (2, 1), True),
    (2, 1, 6, (12, 12), 5, 1, 2, 1, True), (1, 6, 4, (8, 8), 5, 1, "valid", 1, True),
    (3, 2, 1, (4, 5), (4, 5), 1, 0, 1, True), (1, 5, 2, (3, 3), 3, 2, 1, 1, True),
]
for n, ci, co, (h, wd), k, s, p, r, bias in _CONV2D:
    kk = (k, k) if isinstance(k, int) else k
    name = (f"conv2d-{n}x{ci}x{h}x{wd}-o{co}-k{_sid([kk])}-s{s}-p{p}-d{r}"
            f"{'' if bias else '-nobias'}").replace(" ", "")
    shapes = [(n, ci, h, wd), (co, ci, *kk)] + ([(co,)] if bias else [])
    case(name, lambda x, w, b=None, s=s, p=p, r=r: ds.conv2d(x, w, b, s, p, r),
         lambda x, w, b=None, s=s, p=p, r=r: F.conv2d(x, w, b, s, p, r), shapes)

# Pooling: "distinct" inputs so no window holds a tie (ties split the gradient here and go
# to the first maximum in PyTorch; see max_pool2d's docstring).
_POOL1D = [((2, 3, 8), 2, None, 0), ((1, 2, 9), 3, 2, 1), ((2, 1, 7), 4, 1, 2),
           ((1, 1, 5), 5, None, 0)]
_POOL2D = [((2, 3, 6, 8), 2, None, 0), ((1, 2, 7, 9), 3, 2, 1), ((2, 1, 5, 7), (2, 3), (1, 2), 1),
           ((1, 2, 5, 5), 3, 1, 0), ((1, 1, 9, 6), (3, 2), None, (1, 0))]
for pool in ("max", "avg"):
    ours1, ours2 = getattr(ds, f"{pool}_pool1d"), getattr(ds, f"{pool}_pool2d")
    theirs1, theirs2 = getattr(F, f"{pool}_pool1d"), getattr(F, f"{pool}_pool2d")
    domain = "distinct" if pool == "max" else "real"
    for s, k, st, p in _POOL1D:
        case(f"{pool}_pool1d-{_sid([s])}-k{k}-s{st}-p{p}",
             lambda x, o=ours1, k=k, st=st, p=p: o(x, k, st, p),
             lambda x, t=theirs1, k=k, st=st, p=p: t(x, k, st, p), [s], domain)
    for s, k, st, p in _POOL2D:
        case(f"{pool}_pool2d-{_sid([s])}-k{k}-s{st}-p{p}".replace(" ", ""),
             lambda x, o=ours2, k=k, st=st, p=p: o(x, k, st, p),
             lambda x, t=theirs2, k=k, st=st, p=p: t(x, k, st, p), [s], domain)

# A small LeNet-shaped composition: convolution, relu, pooling, flatten, dense.
case("lenet-block-2x1x8x8", lambda x, w, b, v: ds.max_pool2d(ds.relu(ds.conv2d(x, w, b, 1, 2)),
                                                             2).reshape(2, -1) @ v,
     lambda x, w, b, v: F.max_pool2d(torch.relu(F.conv2d(x, w, b, 1, 2)), 2).reshape(2, -1) @ v,
     [(2, 1, 8, 8), (3, 1, 5, 5), (3,), (48, 2)])

_names = [c.name for c in CASES]
assert len(_names) == len(set(_names)), "case names must be unique"
