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

    def astype(self, dtype: Any) -> Tensor:
        return apply("cast", self, dtype=np.dtype(dtype))

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


def topological_order(root: Tensor) -> list[Tensor]:
    """Nodes `root` depends on through gradient-carrying edges, each after its parents.

    Iterative depth-first search: a chain of any length works (no recursion limit).
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
        stack.extend((p, False) for p in node.parents if p.requires_grad and id(p) not in seen)
    return order


def backward(root: Tensor, seed: np.ndarray) -> None:
    """The whole backward pass: walk the graph from the output back to the leaves.

    Each node hands `local derivative x its gradient` (its primitive's VJP) to each parent;
    a parent used twice receives the sum of both contributions.
    """
    grads: dict[int, np.ndarray] = {id(root): seed}
    for node in reversed(topological_order(root)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if not node.parents:  # a leaf: accumulate, as a weight collects it over steps
            if node.grad is None:
                node.grad = np.array(g, dtype=node.dtype)
            else:
                node.grad += g
            continue
        node.grad = g  # kept so the explain tools can show every intermediate gradient
        primitive = PRIMITIVES[node.op]
        inputs = tuple(p.data for p in node.parents)
        for i, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            g_i = primitive.vjp(i, g, node.data, inputs, node.params)
            g_i = unbroadcast(np.asarray(g_i), parent.shape).astype(parent.dtype, copy=False)
            key = id(parent)
            grads[key] = g_i if key not in grads else grads[key] + g_i


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
