"""`Tensor`: a NumPy array that remembers how it was made, so gradients can flow back.

Every op builds its output node with its op name, its parents and its parameters (the
graph that `backward` walks and that `descent.explain` draws). The maths of each op lives
in `primitives.py`; this module only wires nodes together.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from descent.autodiff import primitives
from descent.autodiff.primitives import PRIMITIVES, unbroadcast

_state = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()`."""
    return getattr(_state, "grad_enabled", True)


@contextmanager
def no_grad() -> Iterator[None]:
    """Run a block without recording the graph (faster, less memory; for prediction).

    >>> import descent as ds
    >>> w = ds.tensor([1.0, 2.0], requires_grad=True)
    >>> with ds.no_grad():
    ...     y = (w * 3).sum()
    >>> y.requires_grad
    False
    """
    previous = is_grad_enabled()
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = previous


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """float64 for Python scalars, float32 for lists of numbers, NumPy arrays as they are."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray | np.generic):
        return np.asarray(data)
    if isinstance(data, bool):
        return np.asarray(data)
    if isinstance(data, int | float):
        return np.asarray(data, dtype=np.float64)
    array = np.asarray(data)
    if array.dtype.kind in "iuf":
        return array.astype(np.float32)
    if array.dtype.kind not in "b":
        raise TypeError(f"tensor() needs numbers, got data of NumPy dtype {array.dtype}")
    return array


class Tensor:
    """An n-dimensional array node of the computation graph.

    Attributes: `data` (the NumPy array), `grad` (a NumPy array of `data`'s shape after
    `backward()`, else None), `requires_grad`, `op` (the primitive that made it, "" for a
    leaf), `parents` (its input tensors) and `params` (the op's non-tensor arguments).
    """

    __slots__ = ("data", "grad", "requires_grad", "op", "parents", "params", "name", "__weakref__")
    __array_priority__ = 1000  # make `ndarray + Tensor` call Tensor.__radd__

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        *,
        dtype: Any = None,
        op: str = "",
        parents: tuple[Tensor, ...] = (),
        params: dict | None = None,
        name: str | None = None,
    ) -> None:
        self.data = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients; this one is "
                f"{self.data.dtype} (make it with dtype=float32 or float64)"
            )
        self.requires_grad = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self.op = op
        self.parents = parents
        self.params = params or {}
        self.name = name

    # ---- array facts ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        return self.data.item()

    def __float__(self) -> float:
        return float(self.data)

    def detach(self) -> Tensor:
        """The same values as a new leaf that no gradient flows through."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        extras = ""
        if self.requires_grad:
            extras += ", requires_grad=True"
        if self.op:
            extras += f", op={self.op}"
        return f"tensor({body}{extras})"

    # ---- backward ------------------------------------------------------------------------
    def backward(self, grad: Any = None) -> None:
        """Fill `.grad` of every tensor this one depends on, by reverse-mode chain rule.

        A scalar output is seeded with 1; any other output needs `grad` of its shape.
        Leaf gradients accumulate (`+=`) across calls, as in PyTorch: zero them between
        training steps. Calling backward twice on one graph is supported and adds the
        gradients again; gradients of intermediate nodes are overwritten, not added.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: no input it was "
                "computed from has requires_grad=True"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a scalar output, got shape "
                    f"{self.shape}; reduce it first (e.g. .sum()) or pass grad= of that shape"
                )
            seed = np.ones_like(self.data)
        else:
            seed = _as_array(grad, self.dtype)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward(): grad has shape {seed.shape} but the output has {self.shape}"
                )
        backward(self, seed)

    # ---- operators -----------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return apply("add", self, other)

    def __radd__(self, other: Any) -> Tensor:
        return apply("add", other, self)

    def __sub__(self, other: Any) -> Tensor:
        return apply("sub", self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return apply("sub", other, self)

    def __mul__(self, other: Any) -> Tensor:
        return apply("mul", self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return apply("mul", other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return apply("div", self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return apply("div", other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, int | float) and not isinstance(exponent, bool):
            return apply("pow_const", self, p=exponent)
        return apply("pow", self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return apply("pow", base, self)

    def __matmul__(self, other: Any) -> Tensor:
        return apply("matmul", self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return apply("matmul", other, self)

    def __neg__(self) -> Tensor:
        return apply("neg", self)

    def __getitem__(self, index: Any) -> Tensor:
        return apply("getitem", self, index=_plain_index(index))

    # Comparisons give boolean tensors that no gradient flows through.
    def __lt__(self, other: Any) -> Tensor:
        return Tensor(self.data < _data(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor(self.data <= _data(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor(self.data > _data(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor(self.data >= _data(other))

    # ---- methods mirroring the functions in descent.autodiff.functions ---------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return apply("sum", self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return apply("mean", self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return apply("max", self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return apply("reshape", self, shape=shape)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        return apply("transpose", self, axes=axes or None)

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        return apply("transpose", self, axes=None)

    def astype(self, dtype: Any, copy: bool = True) -> Tensor:
        dtype = np.dtype(dtype)
        return self if dtype == self.dtype and not copy else apply("cast", self, dtype=dtype)

    # ---- NumPy's dispatch protocols: np.exp(t), np.where(c, t, 0), ... stay in the graph ----
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or kwargs:
            return NotImplemented
        if ufunc.__name__ in _UFUNC_PRIMITIVES:
            name = _UFUNC_PRIMITIVES[ufunc.__name__]
            if name == "pow" and isinstance(inputs[1], int | float):
                return apply("pow_const", inputs[0], p=inputs[1])
            return apply(name, *inputs)
        if ufunc.__name__ in _UFUNC_CONSTANT:  # masks and signs: no gradient flows
            return Tensor(ufunc(*(_data(x) for x in inputs)))
        return NotImplemented

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        handler = _ARRAY_FUNCTIONS.get(func.__name__)
        if handler is None:
            return NotImplemented
        return handler(*args, **kwargs)

    def exp(self) -> Tensor:
        return apply("exp", self)

    def log(self) -> Tensor:
        return apply("log", self)

    def sqrt(self) -> Tensor:
        return apply("sqrt", self)

    def abs(self) -> Tensor:
        return apply("abs", self)

    def tanh(self) -> Tensor:
        return apply("tanh", self)

    def sigmoid(self) -> Tensor:
        return apply("sigmoid", self)

    def relu(self) -> Tensor:
        return apply("relu", self)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


_UFUNC_PRIMITIVES = {
    "add": "add", "subtract": "sub", "multiply": "mul", "divide": "div", "negative": "neg",
    "power": "pow", "exp": "exp", "log": "log", "sqrt": "sqrt", "absolute": "abs", "sin": "sin",
    "cos": "cos", "tanh": "tanh", "maximum": "maximum", "minimum": "minimum",
    "matmul": "matmul",
}
_UFUNC_CONSTANT = {
    "sign", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
    "logical_and", "logical_or", "logical_not", "isfinite", "isnan", "isinf",
}


def _expand_dims(x: Any, axis: Any) -> Tensor:
    shape = np.expand_dims(np.empty(_data(x).shape, dtype=bool), axis).shape
    return apply("reshape", x, shape=shape)


def _swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    axes = list(range(_data(x).ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return apply("transpose", x, axes=tuple(axes))


def _take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    if axis is None:
        return apply("reshape", x, shape=(-1,))[indices]
    axis = axis % _data(x).ndim
    return x[(slice(None),) * axis + (indices,)]


def _where(condition: Any, a: Any, b: Any) -> Tensor:
    return apply("where", a, b, cond=np.asarray(_data(condition), dtype=bool))


# The NumPy functions the primitive table uses, run on Tensors so they stay differentiable.
_ARRAY_FUNCTIONS = {
    "expand_dims": _expand_dims,
    "swapaxes": _swapaxes,
    "take": _take,
    "where": _where,
    "broadcast_to": lambda x, shape: apply("broadcast_to", x, shape=tuple(shape)),
    "reshape": lambda x, shape: apply("reshape", x, shape=tuple(np.atleast_1d(shape))),
    "transpose": lambda x, axes=None: apply("transpose", x, axes=axes),
    "zeros_like": lambda x, dtype=None: Tensor(np.zeros_like(_data(x), dtype=dtype)),
    "ones_like": lambda x, dtype=None: Tensor(np.ones_like(_data(x), dtype=dtype)),
    "sum": lambda x, axis=None, keepdims=False: apply("sum", x, axis=axis, keepdims=keepdims),
    "mean": lambda x, axis=None, keepdims=False: apply("mean", x, axis=axis, keepdims=keepdims),
    "concatenate": lambda xs, axis=0: apply("concatenate", *xs, axis=axis),
    "stack": lambda xs, axis=0: apply("stack", *xs, axis=axis),
}


def _plain_index(index: Any) -> Any:
    """Indices may hold tensors or lists; NumPy wants arrays."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _lift(x: Any, like: np.dtype | None) -> Tensor:
    """Turn an operand into a Tensor; a Python number takes its partner's float dtype."""
    if isinstance(x, Tensor):
        return x
    if like is not None and like.kind == "f" and isinstance(x, int | float) \
            and not isinstance(x, bool):
        return Tensor(np.asarray(x, dtype=like))
    return Tensor(x)


def apply(name: str, *inputs: Any, **params: Any) -> Tensor:
    """Run primitive `name` forward on `inputs` and record the node for backward."""
    like = next((x.dtype for x in inputs if isinstance(x, Tensor)), None)
    tensors = tuple(_lift(x, like) for x in inputs)
    arrays = tuple(t.data for t in tensors)
    try:
        out = PRIMITIVES[name].forward(*arrays, **params)
    except ValueError as error:
        shapes = " and ".join(str(a.shape) for a in arrays)
        raise ValueError(f"{name}: shapes {shapes} do not fit: {error}") from None
    if not is_grad_enabled():
        return Tensor(out)
    needs_grad = any(t.requires_grad for t in tensors)
    return Tensor(out, needs_grad, op=name, parents=tensors, params=params)


def topological_order(root: Tensor, include_constants: bool = False) -> list[Tensor]:
    """Nodes `root` depends on, each after its parents (inputs in their order).

    By default only gradient-carrying edges are followed (what backward needs); with
    `include_constants` every input is (what a drawing of the graph needs). Iterative
    depth-first search: a chain of any length works (no recursion limit).
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        # reversed: the stack pops the first input first
        stack.extend((p, False) for p in reversed(node.parents)
                     if (include_constants or p.requires_grad) and id(p) not in seen)
    return order


def _propagate(root: Tensor, seed: Any, visit: Any, wrt: set[int] | None = None,
               create_graph: bool = False) -> None:
    """The whole backward pass: walk the graph from the output back to the leaves.

    Each node hands `local derivative x its gradient` (its primitive's VJP) to each parent;
    a parent used twice receives the sum of both contributions. `visit(node, g)` sees each
    node's complete gradient. With `wrt`, only paths leading to those nodes are followed.
    With `create_graph`, the VJPs run on Tensors, so the gradients are themselves
    differentiable (second derivatives).
    """
    order = topological_order(root)
    if wrt is not None:  # nodes with a wrt node among their ancestors (or themselves)
        relevant = set()
        for node in order:
            if id(node) in wrt or any(id(p) in relevant for p in node.parents):
                relevant.add(id(node))
    grads: dict[int, Any] = {id(root): seed}
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        visit(node, g)
        if not node.parents:
            continue
        primitive = PRIMITIVES[node.op]
        if create_graph:
            inputs, out = node.parents, node
        else:
            inputs, out = tuple(p.data for p in node.parents), node.data
        for i, parent in enumerate(node.parents):
            if not parent.requires_grad or (wrt is not None and id(parent) not in relevant):
                continue
            g_i = primitive.vjp(i, g, out, inputs, node.params)
            if not create_graph:
                g_i = np.asarray(g_i)
            g_i = unbroadcast(g_i, parent.shape).astype(parent.dtype, copy=False)
            key = id(parent)
            grads[key] = g_i if key not in grads else grads[key] + g_i


def backward(root: Tensor, seed: np.ndarray) -> None:
    """Fill `.grad`: leaves accumulate (as a weight collects it over steps); the other nodes
    keep their latest gradient, so the explain tools can show every intermediate one."""

    def store(node: Tensor, g: np.ndarray) -> None:
        if node.parents:
            node.grad = g
        elif node.grad is None:
            node.grad = np.array(g, dtype=node.dtype)
        else:
            node.grad += g

    _propagate(root, seed, store)


def gradients(root: Tensor, wrt: list[Tensor], create_graph: bool = False) -> list[Any]:
    """d(root)/d(each of wrt) for a scalar `root`, without touching any `.grad`.

    With `create_graph=True` the results are Tensors that remember how they were computed,
    so they can be differentiated again (this is how `grad(grad(f))` works).

    >>> import descent as ds
    >>> x = ds.tensor(3.0, requires_grad=True)
    >>> (dy,) = gradients(x**3, [x], create_graph=True)   # 3x² = 27
    >>> (d2y,) = gradients(dy, [x])                       # 6x = 18
    >>> float(dy.data), float(d2y)
    (27.0, 18.0)
    """
    if root.size != 1:
        raise ValueError(f"gradients() needs a scalar output, got shape {root.shape}")
    found: dict[int, Any] = {}
    targets = {id(w) for w in wrt}

    def keep(node: Tensor, g: Any) -> None:
        if id(node) in targets:
            found[id(node)] = g

    if root.requires_grad:
        seed = Tensor(np.ones_like(root.data)) if create_graph else np.ones_like(root.data)
        _propagate(root, seed, keep, targets, create_graph)
    zero = (lambda w: Tensor(np.zeros_like(w.data))) if create_graph else (
        lambda w: np.zeros_like(w.data))
    return [found.get(id(w), None) if id(w) in found else zero(w) for w in wrt]


primitives.apply_hook = apply


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a Tensor. float64 for Python scalars, float32 for lists; arrays keep their dtype.

    >>> import descent as ds
    >>> x = ds.tensor(8.0, requires_grad=True)
    >>> y = x**2 - 4*x + 6
    >>> y.backward()
    >>> float(x.grad)
    12.0
    """
    return Tensor(data, requires_grad, dtype=dtype)
