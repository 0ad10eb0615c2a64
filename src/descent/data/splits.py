"""Seeded splits of n rows into parts (train / validation / test) and k folds, as index arrays.

Part sizes are n * fraction rounded so that they add up to n exactly (largest remainders).
With `stratify`, every class is spread over the parts in the same proportions, as closely as
whole rows allow, while the part sizes stay the ones above. The same seed gives the same
split on every machine (NumPy's PCG64 generator).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return int(n)


def _check_fractions(fractions: Any, name: str) -> list[float]:
    if isinstance(fractions, str) or not isinstance(fractions, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(fractions).__name__}")
    values = list(fractions)
    if len(values) < 2:
        raise ValueError(f"{name} needs at least 2 parts, got {len(values)}")
    for i, f in enumerate(values):
        if isinstance(f, bool) or not isinstance(f, int | float | np.integer | np.floating):
            raise TypeError(f"{name}[{i}] must be a number, got {f!r}")
        if not (math.isfinite(f) and 0 < f < 1):
            raise ValueError(f"{name}[{i}] must be between 0 and 1 (exclusive), got {f!r}")
    if abs(sum(values) - 1.0) > 1e-9:
        raise ValueError(f"{name} must add up to 1, got {sum(values)!r}")
    return [float(f) for f in values]


def _round_sizes(total: int, fractions: Sequence[float]) -> np.ndarray:
    """Whole sizes proportional to fractions, adding up to total (largest remainders)."""
    ideal = np.array(fractions) * total
    sizes = np.floor(ideal).astype(np.int64)
    # Ties go to the earlier part; a stable sort keeps that independent of NumPy's version.
    order = np.argsort(-(ideal - sizes), kind="stable")
    sizes[order[: total - sizes.sum()]] += 1
    return sizes


def _stratified_counts(class_sizes: np.ndarray, part_sizes: np.ndarray) -> np.ndarray:
    """counts[c, p]: rows of class c in part p; rows sum to class_sizes, columns to part_sizes."""
    n = class_sizes.sum()
    ideal = np.outer(class_sizes, part_sizes) / n
    counts = np.floor(ideal).astype(np.int64)
    left_c = class_sizes - counts.sum(axis=1)
    left_p = part_sizes - counts.sum(axis=0)
    remainder = ideal - counts
    # Hand out the rows still unplaced, largest fractional remainder first; a second pass
    # places whatever the first could not (both totals equal, so it always finishes).
    for flat in np.argsort(-remainder, axis=None, kind="stable"):
        c, p = np.unravel_index(flat, counts.shape)
        if left_c[c] > 0 and left_p[p] > 0:
            counts[c, p] += 1
            left_c[c] -= 1
            left_p[p] -= 1
    for c in range(len(class_sizes)):
        for p in range(len(part_sizes)):
            k = min(left_c[c], left_p[p])
            counts[c, p] += k
            left_c[c] -= k
            left_p[p] -= k
    return counts


def split_indices(
    n: int,
    fractions: Sequence[float] = (0.8, 0.2),
    *,
    seed: int | np.random.Generator | None = 0,
    stratify: Sequence[Any] | np.ndarray | None = None,
    shuffle: bool = True,
) -> tuple[np.ndarray, ...]:
    """Split row indices 0..n-1 into disjoint parts of the given fractions.

    Args:
        n: number of rows.
        fractions: one fraction per part, each in (0, 1), adding up to 1; e.g. (0.7, 0.15,
            0.15) for train / validation / test.
        seed: int seed or a NumPy Generator (None: a fresh unpredictable one).
        stratify: labels of shape (n,) to keep class proportions equal across parts.
        shuffle: False takes contiguous blocks in row order (e.g. time series); it cannot be
            combined with `stratify`.

    Returns one sorted int64 index array per part; together they hold each index once.

    Raises ValueError naming the parameter: fractions out of range or not adding to 1, a
    part that would be empty for this n, `stratify` of the wrong length.

    >>> train, test = split_indices(10, (0.8, 0.2), seed=0)
    >>> len(train), len(test), sorted([*train, *test]) == list(range(10))
    (8, 2, True)
    """
    n = _check_n(n)
    fractions = _check_fractions(fractions, "fractions")
    sizes = _round_sizes(n, fractions)
    if (sizes == 0).any():
        p = int(np.flatnonzero(sizes == 0)[0])
        raise ValueError(
            f"fractions[{p}]={fractions[p]!r} gives an empty part for n={n} rows; use more "
            "rows or a larger fraction"
        )
    if not shuffle:
        if stratify is not None:
            raise ValueError("stratify needs shuffle=True")
        bounds = np.cumsum(sizes)[:-1]
        return tuple(np.split(np.arange(n, dtype=np.int64), bounds))
    rng = np.random.default_rng(seed)
    if stratify is None:
        order = rng.permutation(n)
        return tuple(np.sort(part) for part in np.split(order, np.cumsum(sizes)[:-1]))
    labels = np.asarray(stratify)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"stratify must have shape ({n},), got {labels.shape}")
    try:
        _, codes = np.unique(labels, return_inverse=True)
    except TypeError:  # labels of mixed types cannot be sorted; their texts can
        _, codes = np.unique(labels.astype(str), return_inverse=True)
    class_sizes = np.bincount(codes)
    counts = _stratified_counts(class_sizes, sizes)
    parts: list[list[np.ndarray]] = [[] for _ in sizes]
    for c in range(len(class_sizes)):
        members = rng.permutation(np.flatnonzero(codes == c))
        for p, block in enumerate(np.split(members, np.cumsum(counts[c])[:-1])):
            parts[p].append(block)
    return tuple(np.sort(np.concatenate(blocks)).astype(np.int64) for blocks in parts)


def train_test_indices(
    n: int,
    test_fraction: float = 0.2,
    *,
    seed: int | np.random.Generator | None = 0,
    stratify: Sequence[Any] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) index arrays with a `test_fraction` share of rows in test.

    >>> train, test = train_test_indices(5, 0.4, seed=1)
    >>> len(train), len(test)
    (3, 2)
    """
    if isinstance(test_fraction, bool) or not isinstance(
        test_fraction, int | float | np.integer | np.floating
    ):
        raise TypeError(f"test_fraction must be a number, got {test_fraction!r}")
    if not (math.isfinite(test_fraction) and 0 < test_fraction < 1):
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    train, test = split_indices(
        n, (1.0 - test_fraction, float(test_fraction)), seed=seed, stratify=stratify
    )
    return train, test


def kfold_indices(
    n: int,
    k: int = 5,
    *,
    seed: int | np.random.Generator | None = 0,
    stratify: Sequence[Any] | np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, test) pairs for cross-validation; every row is in exactly one test fold.

    >>> folds = kfold_indices(10, 5, seed=0)
    >>> [len(test) for _, test in folds]
    [2, 2, 2, 2, 2]
    """
    n = _check_n(n)
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if not 2 <= k <= n:
        raise ValueError(f"k must be between 2 and n={n}, got {k}")
    folds = split_indices(n, [1.0 / k] * k, seed=seed, stratify=stratify)
    every = np.arange(n, dtype=np.int64)
    return [(np.setdiff1d(every, test), test) for test in folds]
