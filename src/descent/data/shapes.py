"""Two more made-up 2-D classification sets, the TensorFlow Playground's: circle and spiral.

Like `make_xor` and `make_moons`, they need no download and are drawn from a seeded
generator, so the same seed gives the same points.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _check(n: int, noise: float) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if isinstance(noise, bool) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")


def make_circle(n: int = 200, noise: float = 0.05, seed: int | None = 0,
                dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): class 1 inside a disc of radius 0.5, class 0 on a ring from 0.7 to 1.0.

    X (n, 2), y (n,) in {0, 1}; half the points in each class (class 1 first). No straight
    line separates them: a network needs a hidden layer to draw the round boundary.
    Gaussian noise of standard deviation `noise` is added to both coordinates.

    >>> X, y = make_circle(10, noise=0.0)
    >>> X.shape, int(y.sum()), bool(np.all(np.hypot(*X[y == 1].T) <= 0.5))
    ((10, 2), 5, True)
    """
    _check(n, noise)
    rng = np.random.default_rng(seed)
    inner, outer = n // 2, n - n // 2
    radius = np.concatenate([rng.uniform(0.0, 0.5, inner), rng.uniform(0.7, 1.0, outer)])
    angle = rng.uniform(0.0, 2 * np.pi, n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    X = X + rng.normal(scale=noise, size=X.shape) if noise > 0 else X
    y = np.concatenate([np.ones(inner, np.int64), np.zeros(outer, np.int64)])
    return X.astype(dtype), y


def make_spiral(n: int = 200, noise: float = 0.05, seed: int | None = 0,
                dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): two spirals wound into each other, one per class, radius up to 1.

    X (n, 2), y (n,) in {0, 1}; class 0 first. Point k of a spiral sits at radius
    r = k/m and angle 1.75·2π·r (+π for class 1). The hardest of the toy sets: it takes
    several hidden units and layers.

    >>> X, y = make_spiral(20, noise=0.0)
    >>> X.shape, y.tolist().count(1), float(np.abs(X).max()) <= 1.0
    ((20, 2), 10, True)
    """
    _check(n, noise)
    rng = np.random.default_rng(seed)
    parts = []
    for label, count in ((0, n // 2), (1, n - n // 2)):
        r = np.arange(count) / max(count, 1)
        t = 1.75 * 2 * np.pi * r + np.pi * label
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    X = np.concatenate(parts)
    X = X + rng.normal(scale=noise, size=X.shape) if noise > 0 else X
    y = np.concatenate([np.zeros(n // 2, np.int64), np.ones(n - n // 2, np.int64)])
    return X.astype(dtype), y
