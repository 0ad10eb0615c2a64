"""Minibatches as index arrays: one pass over n rows (an epoch) in batches of `batch_size`.

Index arrays rather than data slices, so one helper serves X and y alike (X[idx], y[idx])
and the caller decides the dtype and device of the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


def check_batch_size(batch_size: Any, n: int | None = None) -> int:
    """`batch_size` as an int >= 1, capped at n (a batch cannot hold more rows than exist).

    >>> check_batch_size(32), check_batch_size(500, n=100)
    (32, 100)
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise TypeError(f"batch_size must be an int, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return int(batch_size if n is None else min(batch_size, max(n, 1)))


def n_batches(n: int, batch_size: int, *, drop_last: bool = False) -> int:
    """How many batches `iterate_minibatches` yields for n rows.

    >>> n_batches(10, 4), n_batches(10, 4, drop_last=True)
    (3, 2)
    """
    b = check_batch_size(batch_size)
    return n // b if drop_last else -(-n // b)


def epoch_order(n: int, shuffle: bool = True,
                rng: np.random.Generator | int | None = None) -> np.ndarray:
    """The int64 order in which one epoch visits rows 0..n-1: `iterate_minibatches` cuts
    it into batches (for a caller that trains a whole epoch in one go, e.g. the numba
    kernel of descent.train.jit). It draws from `rng` exactly as that does.

    >>> epoch_order(4, shuffle=False).tolist()
    [0, 1, 2, 3]
    """
    order = np.random.default_rng(rng).permutation(n) if shuffle else np.arange(n)
    return order.astype(np.int64, copy=False)


def iterate_minibatches(
    n: int,
    batch_size: int,
    *,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
    drop_last: bool = False,
) -> Iterator[np.ndarray]:
    """Yield int64 index arrays covering 0..n-1 once, `batch_size` at a time.

    Args:
        n: number of rows (>= 1).
        batch_size: rows per batch; the last batch has the n % batch_size left over
            (included unless `drop_last`). A batch_size above n gives one batch of n.
        shuffle: visit rows in a random order (drawn from `rng`), else in order 0..n-1.
        rng: a NumPy Generator (its state advances, so successive epochs differ), an int
            seed, or None for a fresh unpredictable generator.
        drop_last: leave out the last, smaller batch.

    >>> [b.tolist() for b in iterate_minibatches(5, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    >>> rng = np.random.default_rng(0)
    >>> sorted(int(i) for b in iterate_minibatches(5, 2, rng=rng) for i in b)
    [0, 1, 2, 3, 4]
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    b = check_batch_size(batch_size, n)
    order = epoch_order(n, shuffle, rng)
    stop = n - n % b if drop_last else n
    # A generator expression, so the checks above run at the call, not at the first next().
    return (order[start : start + b] for start in range(0, stop, b))
