"""The arithmetic of one data-parallel round, with no Dask in it: what a worker computes on
its shard's part of the batch, and how the parts are added up.

A round of synchronous data-parallel gradient descent on a batch B split into parts B_s:

    ∂C/∂w = (1/|B|) Σ_s g_s,    g_s = Σ_{n ∈ B_s} ∂ℓ_n/∂w       (gradient sums per part)
    C     = (1/|B|) Σ_s c_s,    c_s = Σ_{n ∈ B_s} ℓ_n            (loss sums per part)

which is exactly the large-batch step on one machine, up to the order of the additions.
Each part's sums come from the compiled MLP step (`CompiledStep.gradient` with scale
|B_s|: the textbook backward pass into preallocated buffers), or from the engine for any
other model. `tree_sum` adds the parts pairwise in an order fixed by the shard numbers
alone, so the result does not depend on which worker held which shard.

The weights travel as one flat vector: each parameter's data raveled, in
`model.parameters()` order (for an MLP, W1, b1, W2, b2, ..., the compiled step's own
[W; b] layout).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.nn import Loss, Module, get_loss
from descent.optim import SGD
from descent.train.plan import CompiledStep, compile_step

#: What one part contributes: (gradient sums (P,), loss sum, number of rows).
Partial = tuple[np.ndarray, float, int]


def flat_weights(model: Module) -> np.ndarray:
    """The model's parameters as one flat vector (P,), in `parameters()` order.

    >>> import descent as ds
    >>> flat_weights(ds.nn.MLP([2, 3, 1], seed=0)).shape   # 2·3 + 3 + 3·1 + 1
    (13,)
    """
    params = model.parameters()
    return np.concatenate([p.data.ravel() for p in params]) if params else np.zeros(0)


def load_flat(model: Module, w: np.ndarray) -> None:
    """Copy a flat vector from `flat_weights` into the model's parameters, in place."""
    start = 0
    for p in model.parameters():
        stop = start + p.data.size
        np.copyto(p.data, w[start:stop].reshape(p.data.shape))
        start = stop
    if start != w.size:
        raise ValueError(f"flat weights have {w.size} entries; the model has {start}")


class PartGradient:
    """Gradient and loss sums of a model on row sets, given flat weights.

    Keeps its own copy of the model, and the compiled step when the model is a plain MLP
    with a loss the plan fuses (else the engine computes the same sums).

    >>> import numpy as np, descent as ds
    >>> pg = PartGradient(ds.nn.MLP([2, 3, 1], seed=0), "mse")
    >>> g, c, n = pg(flat_weights(pg.model), np.ones((4, 2)), np.zeros(4))
    >>> g.shape, n
    ((13,), 4)
    """

    def __init__(self, model: Module, loss: str | Loss) -> None:
        self.model = copy.deepcopy(model)
        self.loss = get_loss(loss)
        self.model.train()
        params = self.model.parameters()
        self.step: CompiledStep | None = compile_step(self.model, self.loss, SGD(params, lr=1.0))
        self.size = sum(p.data.size for p in params)
        self.dtype = params[0].dtype if params else np.dtype(np.float64)

    def __call__(self, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> Partial:
        n = len(x)
        if n == 0:
            return np.zeros(self.size, self.dtype), 0.0, 0
        load_flat(self.model, w)
        step = self.step
        if step is not None and step.covers(x):
            step.hold()
            try:
                value = step.gradient(x, y, scale=float(n))
                g = step.grad.copy()
            finally:
                step.release()
            return g, value * n, n
        for p in self.model.parameters():
            p.grad = None
        C = self.loss(self.model(Tensor(x)), y) * float(n)
        C.backward()
        g = np.concatenate([np.zeros(p.data.size, p.dtype) if p.grad is None
                            else np.asarray(p.grad, p.dtype).ravel()
                            for p in self.model.parameters()])
        return g, float(C.data), n

    def loss_sum(self, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """(Σ_n ℓ_n, n) for evaluation: the forward pass only."""
        if len(x) == 0:
            return 0.0, 0
        load_flat(self.model, w)
        from descent.train.fit import predict_array

        out = predict_array(self.model, x)
        with no_grad():
            return float(self.loss(Tensor(out), y).data) * len(x), len(x)


# One PartGradient per (model, loss, thread): Dask's in-process workers are threads of one
# process, and a compiled step's buffers must not be shared between threads.
_CACHE: dict[tuple[str, int], PartGradient] = {}
_LOCK = threading.Lock()


def part_gradient(token: str, model: Module, loss: str) -> PartGradient:
    """The cached PartGradient of this thread for the model and loss named by `token`."""
    key = (token, threading.get_ident())
    with _LOCK:
        found = _CACHE.get(key)
        if found is None:
            if len(_CACHE) > 64:  # old fits' steps: drop them all, they are cheap to remake
                _CACHE.clear()
            found = _CACHE[key] = PartGradient(model, loss)
    return found


def add_partials(parts: Sequence[Partial]) -> Partial:
    """The parts added left to right: one node of the reduction tree."""
    g = parts[0][0].copy()
    c, n = parts[0][1], parts[0][2]
    for gi, ci, ni in parts[1:]:
        g += gi
        c += ci
        n += ni
    return g, c, n


def tree_sum(parts: Sequence[Any], fan_in: int = 4, add: Any = add_partials) -> Any:
    """Reduce `parts` with `add` over a fixed tree: groups of `fan_in` neighbours, level by
    level, so the order of additions depends on the number of parts alone.

    `add` takes a list of parts and returns their sum; with Dask it submits a task.

    >>> tree_sum([1, 2, 3, 4, 5], fan_in=2, add=lambda xs: sum(xs))
    15
    """
    if fan_in < 2:
        raise ValueError(f"fan_in must be at least 2, got {fan_in}")
    level = list(parts)
    if not level:
        raise ValueError("nothing to add")
    while len(level) > 1:
        level = [level[i] if i + 1 == len(level) else add(level[i:i + fan_in])
                 for i in range(0, len(level), fan_in)]
    return level[0]


def mean_gradient(total: Partial) -> tuple[np.ndarray, float]:
    """(∂C/∂w, C) of the mean loss over the batch from the reduced sums."""
    g, c, n = total
    if n == 0:
        raise ValueError("the batch has no rows")
    return g / n, c / n
