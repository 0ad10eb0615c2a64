"""NumPy's own BLAS product (`cblas_?gemm` of the OpenBLAS NumPy ships), called directly
on blocks of a matrix product.

Why call it directly rather than `np.matmul` on slices: a split product (train/split.py)
must give the same bits whichever thread computes a block and whatever runs the threads
(Python threads here, or the spinning helpers of train/spin.py, which call BLAS from
compiled code without the GIL). NumPy chooses among several BLAS calls for a product
(measured: np.matmul on random slices differs in the last bits from a plain gemm call on
5% of shapes), so both ways go through one description of each block, `describe`, and one
function, the gemm below: the block is computed by the same call with the same arguments
on any thread, in any process.

A block is one row of int64s (`FIELDS`): the cblas arguments with the data as addresses.
The arrays must outlive every call on their blocks.

>>> import numpy as np
>>> if available():
...     a, b = np.ones((4, 3), np.float32), np.ones((3, 5), np.float32)
...     out = np.empty((4, 5), np.float32)
...     row = np.empty(FIELDS, np.int64)
...     describe(a, b, out, row)
...     call(row)
...     assert (out == 3).all()
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os

import numpy as np

# A block's row: order, trans a, trans b, m, n, k, a, lda, b, ldb, c, ldc, float64?
FIELDS = 13
ROW_MAJOR, COL_MAJOR, NO_TRANS, TRANS = 101, 102, 111, 112


@functools.lru_cache(maxsize=1)
def functions() -> tuple[int, int, bool] | None:
    """(address of sgemm, address of dgemm, 64-bit integers?) of NumPy's bundled OpenBLAS,
    or None where it cannot be found (another BLAS, an unusual build): then nothing is
    split and every product is an ordinary np.matmul."""
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, wide in (("scipy_", "64_", True), ("scipy_", "", False)):
            try:
                s = getattr(lib, f"{prefix}cblas_sgemm{suffix}")
                d = getattr(lib, f"{prefix}cblas_dgemm{suffix}")
            except AttributeError:
                continue
            return (ctypes.cast(s, ctypes.c_void_p).value or 0,
                    ctypes.cast(d, ctypes.c_void_p).value or 0, wide)
    return None


def available() -> bool:
    """Whether NumPy's gemm can be called directly here."""
    return functions() is not None


@functools.lru_cache(maxsize=2)
def _ctypes_gemm(double: bool) -> ctypes._CFuncPtr:
    found = functions()
    assert found is not None
    s, d, wide = found
    i, n = ctypes.c_int, (ctypes.c_int64 if wide else ctypes.c_int)
    real = ctypes.c_double if double else ctypes.c_float
    p = ctypes.c_void_p
    proto = ctypes.CFUNCTYPE(None, i, i, i, n, n, n, real, p, n, p, n, real, p, n)
    return proto(d if double else s)  # a ctypes call releases the GIL while BLAS runs


def _unit(x: np.ndarray, axis: int) -> bool:
    """Whether x steps one element along `axis` (or that axis has length 1)."""
    return x.shape[axis] == 1 or x.strides[axis] == x.itemsize


def _rowwise(x: np.ndarray) -> bool:
    """Whether x reads as a row-major BLAS matrix (rows of unit stride, none overlapping)."""
    return _unit(x, 1) and (x.shape[0] == 1 or x.strides[0] >= x.shape[1] * x.itemsize)


def _colwise(x: np.ndarray) -> bool:
    """Whether x reads as a column-major BLAS matrix."""
    return _unit(x, 0) and (x.shape[1] == 1 or x.strides[1] >= x.shape[0] * x.itemsize)


def _matrix(x: np.ndarray) -> bool:
    """Whether x is a BLAS matrix: aligned, non-empty, one axis stepping by one element and
    the other by at least a whole line of it (no broadcast or negative strides)."""
    if x.ndim != 2 or not x.flags.aligned or min(x.shape) < 1 or min(x.strides) < 0:
        return False
    return _rowwise(x) or _colwise(x)


def blasable(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """Whether out = a @ b can be described as one gemm call: one float dtype, three
    non-empty BLAS matrices of matching shapes, out writeable."""
    if out.dtype not in (np.float32, np.float64) or a.dtype != out.dtype \
            or b.dtype != out.dtype or not out.flags.writeable:
        return False
    if a.ndim != 2 or b.ndim != 2 or out.ndim != 2 or a.shape[1] != b.shape[0] \
            or out.shape != (a.shape[0], b.shape[1]):
        return False
    return _matrix(a) and _matrix(b) and _matrix(out)


def _lead(x: np.ndarray, unit_axis: int, least: int) -> int:
    """The leading dimension of x read with `unit_axis` as its contiguous axis."""
    other = 1 - unit_axis
    step = x.strides[other] // x.itemsize if x.shape[other] > 1 else 0
    return max(step, least, 1)  # (a single line: any leading dimension of its length)


def describe(a: np.ndarray, b: np.ndarray, out: np.ndarray, row: np.ndarray) -> None:
    """Fill `row` with the gemm call computing out = a @ b (`blasable` must hold)."""
    m, k = a.shape
    n = b.shape[1]
    if _rowwise(out):
        # out row-major: C = op(A) op(B) with row-major operands
        order, ldc = ROW_MAJOR, _lead(out, 1, n)
        ta, lda = (NO_TRANS, _lead(a, 1, k)) if _rowwise(a) else (TRANS, _lead(a, 0, m))
        tb, ldb = (NO_TRANS, _lead(b, 1, n)) if _rowwise(b) else (TRANS, _lead(b, 0, k))
    else:  # out column-major
        order, ldc = COL_MAJOR, _lead(out, 0, m)
        ta, lda = (NO_TRANS, _lead(a, 0, m)) if _colwise(a) else (TRANS, _lead(a, 1, k))
        tb, ldb = (NO_TRANS, _lead(b, 0, k)) if _colwise(b) else (TRANS, _lead(b, 1, n))
    row[:] = (order, ta, tb, m, n, k, a.ctypes.data, lda, b.ctypes.data, ldb,
              out.ctypes.data, ldc, out.dtype == np.float64)


def call(row: np.ndarray) -> None:
    """Run the gemm call of one block (on this thread, one BLAS thread, GIL released)."""
    order, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, double = (int(v) for v in row)
    _ctypes_gemm(bool(double))(order, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc)
