"""`PixelArray`: uint8 pictures that hand out float batches, so a training set stays uint8.

A float32 copy of a picture set is four times its uint8 size (a float64 one eight). `fit`
only ever needs one batch of floats at a time, so a `PixelArray` keeps the uint8 pixels
and turns the rows asked for into floats when they are asked for:

    batch = pixels[rows].astype(dtype) * dtype(scale)

which is exactly what converting the whole set first and then taking the rows gives, bit
for bit (the same two elementwise roundings per value). `astype(other)` casts the batches
afterwards, as `floats.astype(other)` would cast the whole float array. `ds.fit`,
`ds.train.predict_array` and `evaluate` accept one wherever they accept an (N, C, H, W)
float array; picture training (`descent.pictures.train_images`) hands them its splits
this way.

>>> import numpy as np
>>> X = PixelArray(np.array([[[[0, 255]]], [[[51, 102]]]], np.uint8))
>>> X.shape, X.dtype, len(X)
((2, 1, 1, 2), dtype('float32'), 2)
>>> X.take([1]).round(6).tolist()
[[[[0.20000000298023224, 0.4000000059604645]]]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

SCALE = 1.0 / 255.0  # uint8 pixel -> [0, 1]
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class PixelArray:
    """uint8 pictures (N, C, H, W) (or any (N, ...) uint8 array) seen as floats
    `pixels * scale` of `dtype`, made a batch at a time.

    Args:
        pixels: the uint8 array (kept, not copied).
        scale: what one pixel level is worth (default 1/255: pictures in [0, 1]).
        dtype: float32 or float64, the dtype the pixels are scaled in (and of the batches,
            until `astype` asks for another).

    Indexing the first axis (`X[rows]`, `X[a:b]`) gives another PixelArray of those rows
    (a uint8 copy, or a view for a slice); `take(rows)` gives their floats; `np.asarray(X)`
    gives the floats of every row (meant for small pieces: that IS the full copy).

    >>> X = PixelArray(np.full((1000, 1, 28, 28), 255, np.uint8))
    >>> X[:10].shape, X.take([0, 999]).max(), X.astype(np.float64).take([0]).dtype
    ((10, 1, 28, 28), np.float32(1.0), dtype('float64'))
    """

    def __init__(self, pixels: np.ndarray, scale: float = SCALE,
                 dtype: Any = np.float32) -> None:
        pixels = np.asarray(pixels)
        if pixels.dtype != np.uint8 or pixels.ndim < 2:
            raise ValueError(f"pixels must be a uint8 array (N, ...), got {pixels.dtype} "
                             f"{pixels.shape}")
        if np.dtype(dtype) not in FLOATS:
            raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        self.pixels, self.scale = pixels, float(scale)
        self.work = self.dtype = np.dtype(dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.pixels.shape)

    @property
    def ndim(self) -> int:
        return self.pixels.ndim

    @property
    def size(self) -> int:
        return self.pixels.size

    def __len__(self) -> int:
        return len(self.pixels)

    def __repr__(self) -> str:
        return f"PixelArray({self.shape}, scale={self.scale:g}, dtype={self.dtype})"

    def floats(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 rows of this array's pixels as its floats."""
        out = pixels.astype(self.work) * self.work.type(self.scale)
        return out.astype(self.dtype, copy=False)

    def take(self, rows: Any, axis: int = 0) -> np.ndarray:
        """The floats of `rows` (indices into the first axis), a new C-ordered array."""
        if axis != 0:
            raise ValueError("a PixelArray takes rows of its first axis only")
        return self.floats(self.pixels.take(np.asarray(rows), axis=0))

    def __getitem__(self, key: Any) -> PixelArray:
        if isinstance(key, tuple) or np.ndim(key) == 0 and not isinstance(key, slice):
            raise IndexError("a PixelArray is indexed by rows only: X[a:b] or X[rows]; "
                             "X.take(rows) gives their floats")
        return self._like(self.pixels[key], self.dtype)

    def astype(self, dtype: Any, copy: bool = True) -> PixelArray:
        """The same pixels (not copied), their floats cast to `dtype` (float32 or float64)."""
        return self._like(self.pixels, dtype)

    def _like(self, pixels: np.ndarray, dtype: Any) -> PixelArray:
        out = PixelArray(pixels, self.scale, self.work)
        if np.dtype(dtype) not in FLOATS:
            raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        out.dtype = np.dtype(dtype)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.floats(self.pixels)
        return out if dtype is None else out.astype(dtype, copy=False)

