"""Seeded picture augmentation for training: random horizontal flips, shifts and small turns.

A network that sees each training picture a little moved, turned or mirrored every epoch
learns what a cat looks like rather than where its pixels were. `Augmentation` does all
three in one gather: for every output pixel it computes where to read in the input
(mirror, rotate about the centre, shift), then reads there by bilinear interpolation,
with coordinates past the border clamped to the edge (the edge pixels are repeated, so a
black or a white background stays what it was). Whole-pixel shifts with no turn read
exact pixels: nothing is blurred.

`descent.fit(..., augment=Augmentation())` applies it to every training batch, drawing
from its own seeded stream; validation data, prediction and explanations see the pictures
untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Augmentation:
    """Random flips, shifts and turns of picture batches (n, C, H, W).

    Args:
        flip: mirror left-right with probability 1/2.
        shift: move by a whole number of pixels in [-shift, shift], down and across.
        rotate: turn by an angle drawn uniformly from [-rotate, rotate] degrees.

    >>> x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> Augmentation(flip=False, shift=0, rotate=0)(x, np.random.default_rng(0)).tolist()
    [[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]]
    """

    flip: bool = True
    shift: int = 2
    rotate: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.shift, bool) or not isinstance(self.shift, int) or self.shift < 0:
            raise ValueError(f"shift must be a whole number of pixels >= 0, got {self.shift!r}")
        if not (math.isfinite(self.rotate) and 0 <= self.rotate <= 180):
            raise ValueError(f"rotate must be an angle in degrees from 0 to 180, got "
                             f"{self.rotate!r}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-safe data (stored with a model, to say how it was trained)."""
        return {"flip": self.flip, "shift": self.shift, "rotate": self.rotate}

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A randomly moved copy of x (n, C, H, W), same shape and dtype."""
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"pictures must be (n, C, H, W), got shape {x.shape}")
        n, _, H, W = x.shape
        flips = rng.random(n) < 0.5 if self.flip else np.zeros(n, bool)
        dy, dx = (rng.integers(-self.shift, self.shift + 1, size=(2, n)) if self.shift
                  else np.zeros((2, n), np.int64))
        angles = np.deg2rad(rng.uniform(-self.rotate, self.rotate, n) if self.rotate
                            else np.zeros(n))
        return transform(x, flips, dy, dx, angles)


def transform(x: np.ndarray, flips: np.ndarray, dy: np.ndarray, dx: np.ndarray,
              angles: np.ndarray) -> np.ndarray:
    """Mirror (where flips), turn by angles (radians) and shift by
    (dy, dx) pixels each picture of x (n, C, H, W); edges repeat; same dtype.

    >>> x = np.array([[[[1, 2, 3]]]], np.uint8)
    >>> transform(x, np.array([True]), np.array([0]), np.array([1]), np.array([0.0]))
    array([[[[3, 3, 2]]]], dtype=uint8)
    """
    n, _, H, W = x.shape
    cy, cx = (H - 1) / 2, (W - 1) / 2
    yy, xx = np.meshgrid(np.arange(H, dtype=np.float64), np.arange(W, dtype=np.float64),
                         indexing="ij")
    # Output pixel (y, x) reads the input at: undo the shift, undo the turn, undo the mirror.
    oy = yy[None] - dy[:, None, None] - cy
    ox = xx[None] - dx[:, None, None] - cx
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    sy = cy + cos * oy + sin * ox
    sx = cx - sin * oy + cos * ox
    sx = np.where(flips[:, None, None], (W - 1) - sx, sx)
    sy = np.clip(sy, 0, H - 1)
    sx = np.clip(sx, 0, W - 1)
    y0 = np.floor(sy).astype(np.intp)
    x0 = np.floor(sx).astype(np.intp)
    y1 = np.minimum(y0 + 1, H - 1)
    x1 = np.minimum(x0 + 1, W - 1)
    work = np.float64 if x.dtype == np.float64 else np.float32
    wy = (sy - y0)[:, None].astype(work)
    wx = (sx - x0)[:, None].astype(work)
    k = np.arange(n)[:, None, None]
    src = np.moveaxis(x, 1, -1)  # (n, H, W, C): gather whole pixels

    def at(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
        return np.moveaxis(src[k, yi, xi], -1, 1).astype(work)

    out = ((1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1))
           + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1)))
    if x.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(x.dtype, copy=False)
