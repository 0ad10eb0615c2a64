"""`Standardizer`: shift and scale each column to mean 0 and standard deviation 1.

    z = (x - mean) / scale,    x = z * scale + mean

with mean and scale (the population standard deviation, ddof=0) computed in float64 on the
training rows only; reusing them on test and new rows keeps the test data unseen. A column
whose training values are all equal gets scale 1 (and its exact value as mean), so it maps
to 0 instead of dividing by zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from descent.data import metadata as meta
from descent.errors import DataError, NotFittedError

#: Above this size a matrix's mean and standard deviation are taken block by block
#: (`column_mean_std`) instead of through NumPy's (n, d) temporary of x - mean.
BLOCKWISE_BYTES = 32 * 2**20
#: Rows per block in `column_mean_std`.
BLOCK_ROWS = 8_192


def column_mean_std(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`x.mean(axis=0)` and `x.std(axis=0)` of a C-ordered float64 x (n, d), d >= 2, to
    the last bit, holding one block of rows at a time instead of an (n, d) temporary.

    NumPy sums the rows of such a matrix one after another into the column totals (for
    d = 1 it sums pairwise instead, which blocks would not reproduce: not taken here);
    carrying the running totals from block to block adds in that same order, and the
    squares are NumPy's own, (x - mean) * (x - mean). tests/data/test_scaling.py checks
    the equality over random shapes.

    >>> x = np.arange(12.0).reshape(4, 3)
    >>> [a.tolist() for a in column_mean_std(x)] == [x.mean(0).tolist(), x.std(0).tolist()]
    True
    """
    n, d = x.shape
    if d < 2 or x.dtype != np.float64 or not x.flags.c_contiguous:
        raise ValueError("column_mean_std takes a C-ordered float64 matrix with 2+ columns")
    total = _running_sum(x[start:start + BLOCK_ROWS] for start in range(0, n, BLOCK_ROWS))
    mean = total / n

    def squares() -> Iterator[np.ndarray]:
        for start in range(0, n, BLOCK_ROWS):
            deviation = x[start:start + BLOCK_ROWS] - mean
            yield np.multiply(deviation, deviation, out=deviation)

    return mean, np.sqrt(_running_sum(squares()) / n)


def _running_sum(blocks: Iterable[np.ndarray]) -> np.ndarray:
    """Column sums over a sequence of row blocks, added row after row across blocks."""
    total = None
    for block in blocks:
        rows = block if total is None else np.concatenate([total[None, :], block])
        total = np.add.reduce(rows, axis=0)
    assert total is not None
    return total


class Standardizer:
    """Standardize the columns of a matrix (n, d), or a vector (n,) such as a target.

    Fitted attributes: `mean_` and `scale_`, float64 arrays of shape (d,) (d = 1 for a
    vector); `scale_` > 0 everywhere.

    >>> s = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.mean_.tolist(), s.scale_.tolist()
    ([2.0, 5.0], [1.0, 1.0])
    >>> s.transform(np.array([[2.0, 5.0], [4.0, 6.0]])).tolist()
    [[0.0, 0.0], [2.0, 1.0]]
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.vector_: bool | None = None

    def _columns(self, X: Any, name: str) -> tuple[np.ndarray, bool]:
        a = np.asarray(X)
        if a.dtype.kind not in "biuf":
            raise DataError(f"{name} must hold real numbers, got dtype {a.dtype}")
        if a.ndim not in (1, 2):
            raise DataError(f"{name} must be 1-D (n,) or 2-D (n, d), got shape {a.shape}")
        vector = a.ndim == 1
        columns = a.reshape(-1, 1) if vector else a
        if columns.shape[0] == 0:
            raise DataError(f"{name} has no rows")
        bad = np.argwhere(~np.isfinite(columns))
        if bad.size:
            r, c = bad[0]
            where = f"row {r}" if vector else f"row {r}, column {c}"
            raise DataError(f"{name} has a non-finite value ({columns[r, c]}) at {where}")
        return columns, vector

    def fit(self, X: Any) -> Standardizer:
        """Learn mean and scale from the training rows X, shape (n, d) or (n,)."""
        columns, vector = self._columns(X, "X")
        x = columns.astype(np.float64, copy=False)  # read only: no copy of a float64 X
        if x.nbytes > BLOCKWISE_BYTES and x.shape[1] >= 2 and x.flags.c_contiguous:
            mean, scale = column_mean_std(x)
        else:
            mean = x.mean(axis=0)
            scale = x.std(axis=0)
        # Test for equal values directly: a float64 mean of n equal numbers can differ from
        # them in the last bit, leaving a tiny nonzero std that would amplify rounding noise.
        constant = x.max(axis=0) == x.min(axis=0)
        mean[constant] = x[0, constant]
        scale[constant] = 1.0
        self.mean_, self.scale_, self.vector_ = mean, scale, vector
        return self

    def _check(self, X: Any, name: str) -> tuple[np.ndarray, np.dtype]:
        if self.mean_ is None:
            raise NotFittedError("Standardizer is not fitted; call fit(X) first")
        columns, vector = self._columns(X, name)
        if vector != self.vector_:
            fitted = "a vector (n,)" if self.vector_ else f"a matrix (n, {len(self.mean_)})"
            raise DataError(f"{name} has shape {np.shape(X)}, but the Standardizer was fitted on "
                            f"{fitted}")
        if columns.shape[1] != len(self.mean_):
            raise DataError(
                f"{name} has {columns.shape[1]} columns, but the Standardizer was fitted on "
                f"{len(self.mean_)}"
            )
        dtype = columns.dtype if columns.dtype.kind == "f" else np.dtype(np.float64)
        return columns, dtype

    def transform(self, X: Any) -> np.ndarray:
        """(X - mean_) / scale_, same shape as X; float32 stays float32, else float64."""
        columns, dtype = self._check(X, "X")
        # In place on one float64 copy: the same operations as (x - mean) / scale, one
        # matrix of memory instead of three.
        z = columns.astype(np.float64, copy=True)
        z -= self.mean_
        z /= self.scale_
        return z.astype(dtype, copy=False).reshape(np.shape(X))

    def fit_transform(self, X: Any) -> np.ndarray:
        """`fit(X)` then `transform(X)`."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Z * scale_ + mean_: back to the original units (e.g. predicted prices)."""
        columns, dtype = self._check(Z, "Z")
        x = columns.astype(np.float64) * self.scale_ + self.mean_
        return x.astype(dtype, copy=False).reshape(np.shape(Z))

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as JSON-safe lists of floats."""
        if self.mean_ is None or self.scale_ is None:
            raise NotFittedError("Standardizer is not fitted; call fit(X) first")
        return {
            "format": "descent.Standardizer",
            "version": 1,
            "mean": [float(m) for m in self.mean_],
            "scale": [float(s) for s in self.scale_],
            "vector": bool(self.vector_),
        }

    @classmethod
    def from_dict(cls, d: Any, where: str = "Standardizer metadata") -> Standardizer:
        """Rebuild from `to_dict()` output; DataError naming the first malformed entry."""
        d = meta.mapping(d, where, ["format", "version", "mean", "scale", "vector"])
        meta.header(d, where, "descent.Standardizer", 1)
        mean = [meta.number(m, f"{where}: mean[{i}]")
                for i, m in enumerate(meta.array(d["mean"], f"{where}: mean", 1))]
        scale = [meta.number(s, f"{where}: scale[{i}]")
                 for i, s in enumerate(meta.array(d["scale"], f"{where}: scale", 1))]
        if len(mean) != len(scale):
            raise meta.fail(where, f"mean has {len(mean)} entries but scale has {len(scale)}")
        if any(s <= 0 for s in scale):
            raise meta.fail(f"{where}: scale", "entries must be positive")
        if not isinstance(d["vector"], bool):
            raise meta.fail(f"{where}: vector", "expected true or false")
        if d["vector"] and len(mean) != 1:
            raise meta.fail(f"{where}: vector", "a vector Standardizer has one mean and scale")
        s = cls()
        s.mean_ = np.array(mean, dtype=np.float64)
        s.scale_ = np.array(scale, dtype=np.float64)
        s.vector_ = d["vector"]
        return s
