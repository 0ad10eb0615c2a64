"""Logical shards: the rows cut into a fixed number of pieces, each with its own random
stream, independent of how many workers hold them.

Shard s of a run with seed entropy E draws from `SeedSequence(E, spawn_key=(s, ...))`,
the streams `SeedSequence(E).spawn(n_shards)` hands out: (s, 0) splits off its
validation rows once, (s, 1, epoch) shuffles its rows each epoch. A worker can therefore
compute its shard's order for any epoch from (E, s, epoch) alone; nothing about the order
needs to travel, be checkpointed, or depend on the worker.

Round r of an epoch with R rounds takes rows [r·n_s/R, (r+1)·n_s/R) of shard s's order,
so every row is visited once per epoch and each round's batch is about n/R rows, spread
over the shards in proportion to their sizes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from descent.data.arrays import as_float_matrix
from descent.errors import DataError
from descent.nn import get_loss


def shard_stream(entropy: int, shard: int, *purpose: int) -> np.random.Generator:
    """The random stream of `shard` for `purpose` ((0,) split, (1, epoch) shuffle).

    >>> a = shard_stream(7, 3, 1, 0).permutation(5); b = shard_stream(7, 3, 1, 0).permutation(5)
    >>> bool((a == b).all())
    True
    """
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(shard, *purpose)))


def round_bounds(n_rows: int, r: int, rounds: int) -> tuple[int, int]:
    """Rows [lo, hi) of a shard's epoch order that round r of `rounds` takes.

    >>> [round_bounds(10, r, 3) for r in range(3)]
    [(0, 3), (3, 6), (6, 10)]
    """
    return r * n_rows // rounds, (r + 1) * n_rows // rounds


_ORDERS: OrderedDict[tuple[int, int, int, int], np.ndarray] = OrderedDict()
_ORDERS_LOCK = threading.Lock()


def epoch_order(n_rows: int, entropy: int, shard: int, epoch: int) -> np.ndarray:
    """Shard `shard`'s row order in `epoch` (a permutation of n_rows), cached per process
    for the few shards and epochs in flight, so each round does not redo it."""
    key = (n_rows, entropy, shard, epoch)
    with _ORDERS_LOCK:
        order = _ORDERS.get(key)
        if order is not None:
            _ORDERS.move_to_end(key)
            return order
    order = shard_stream(entropy, shard, 1, epoch).permutation(n_rows)
    with _ORDERS_LOCK:
        _ORDERS[key] = order
        while len(_ORDERS) > 256:
            _ORDERS.popitem(last=False)
    return order


def batch_rows(n_rows: int, entropy: int, shard: int, epoch: int, r: int, rounds: int,
               shuffle: bool = True) -> np.ndarray | slice:
    """The rows of a shard in round r of `epoch`: indices (shuffled) or a slice (in order)."""
    lo, hi = round_bounds(n_rows, r, rounds)
    if not shuffle:
        return slice(lo, hi)
    return epoch_order(n_rows, entropy, shard, epoch)[lo:hi]


@dataclass
class Shard:
    """The rows one shard holds on a worker: training part (X, y), validation part
    (X_val, y_val; possibly empty). X arrays are C-contiguous in the model's dtype; y is
    float (n,) / (n, k), or int64 class indices for cross-entropy."""

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray

    def sizes(self) -> tuple[int, int]:
        return len(self.X), len(self.X_val)


def target_array(y: Any, loss_name: str, dtype: np.dtype, n: int, where: str) -> np.ndarray:
    """y checked as `descent.fit` checks it (same rules, same messages)."""
    from descent.train.fit import fit_target  # the one-machine rule, shared

    try:
        return fit_target(y, get_loss(loss_name), dtype, n)
    except DataError as error:
        raise DataError(f"{where}: {error}") from None


def make_shard(X: Any, y: Any, *, dtype: str, loss: str, entropy: int, shard: int,
               validation_split: float = 0.0, where: str = "") -> Shard:
    """Check and cast one shard's rows, and split off its validation rows with its own
    stream (the first round(validation_split · n) rows of a permutation).

    >>> import numpy as np
    >>> s = make_shard(np.ones((10, 2)), np.zeros(10), dtype="float64", loss="mse",
    ...                entropy=0, shard=0, validation_split=0.2)
    >>> s.sizes()
    (8, 2)
    """
    where = where or f"shard {shard}"
    X = np.ascontiguousarray(as_float_matrix(X, f"X ({where})").astype(dtype, copy=False))
    y = target_array(y, loss, np.dtype(dtype), len(X), where)
    if validation_split > 0 and len(X) > 1:
        order = shard_stream(entropy, shard, 0).permutation(len(X))
        n_val = min(len(X) - 1, int(round(validation_split * len(X))))
        val, keep = np.sort(order[:n_val]), np.sort(order[n_val:])
        return Shard(np.ascontiguousarray(X[keep]), y[keep], np.ascontiguousarray(X[val]),
                     y[val])
    return Shard(X, y, X[:0], y[:0])
