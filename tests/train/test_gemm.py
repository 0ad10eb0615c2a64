"""NumPy's gemm called directly on blocks (train/gemm.py) is the matrix product.

Property tests over random shapes (sides 1 to 200), float32 and float64, and every layout
the plan passes and more: C- and Fortran-ordered, transposed views, strided views (every
other row or column), single rows and columns. What BLAS cannot take (broadcast and
negative strides, integers, mixed dtypes) is refused by `blasable`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descent.train import gemm

LAYOUTS = ["C", "F", "T", "rows2", "cols2"]


def operand(rng, shape, dtype, layout):
    """A (shape) array of the dtype in the layout: a view where the layout is one."""
    m, n = shape
    if layout == "rows2":  # every other row of a bigger array
        return rng.standard_normal((2 * m, n)).astype(dtype)[::2]
    if layout == "cols2":
        return rng.standard_normal((m, 2 * n)).astype(dtype)[:, ::2]
    a = rng.standard_normal(shape).astype(dtype)
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "T":
        return np.ascontiguousarray(a.T).T
    return a


def out_array(shape, dtype, layout):
    m, n = shape
    if layout == "rows2":
        return np.full((2 * m, n), np.nan, dtype)[::2]
    if layout == "cols2":
        return np.full((m, 2 * n), np.nan, dtype)[:, ::2]
    return np.full(shape, np.nan, dtype, order="F" if layout in ("F", "T") else "C")


@settings(max_examples=150, deadline=None)
@given(m=st.integers(1, 200), k=st.integers(1, 200), n=st.integers(1, 200),
       dtype=st.sampled_from([np.float32, np.float64]),
       layouts=st.tuples(*[st.sampled_from(LAYOUTS)] * 3), seed=st.integers(0, 99))
def test_a_described_call_is_the_product(m, k, n, dtype, layouts, seed):
    rng = np.random.default_rng(seed)
    a, b = operand(rng, (m, k), dtype, layouts[0]), operand(rng, (k, n), dtype, layouts[1])
    out = out_array((m, n), dtype, layouts[2])
    if not (a.strides[0] == a.itemsize or a.strides[1] == a.itemsize or min(a.shape) == 1):
        assert not gemm.blasable(a, b, out)  # every other row and column: no unit stride
        return
    assert gemm.blasable(a, b, out) == all(
        x.strides[0] == x.itemsize or x.strides[1] == x.itemsize or 1 in x.shape
        for x in (b, out))
    if not gemm.blasable(a, b, out):
        return
    row = np.empty(gemm.FIELDS, np.int64)
    gemm.describe(a, b, out, row)
    gemm.call(row)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=tol, atol=tol * k)
    # the same call again: the same bits
    again = out_array((m, n), dtype, layouts[2])
    row2 = np.empty(gemm.FIELDS, np.int64)
    gemm.describe(a, b, again, row2)
    gemm.call(row2)
    np.testing.assert_array_equal(out, again)


def test_the_numpy_blas_is_found():
    """NumPy's wheels bundle OpenBLAS: the split has its gemm (else it would never split)."""
    assert gemm.available()
    s, d, wide = gemm.functions()
    assert s and d and s != d


@pytest.mark.parametrize("case", ["broadcast", "negative", "ints", "mixed", "shape",
                                  "readonly", "empty"])
def test_what_blas_cannot_take_is_refused(case):
    a, b = np.ones((4, 3)), np.ones((3, 5))
    out = np.empty((4, 5))
    if case == "broadcast":
        a = np.broadcast_to(np.ones(3), (4, 3))
    elif case == "negative":
        a = a[::-1]
    elif case == "ints":
        a, b, out = a.astype(int), b.astype(int), out.astype(int)
    elif case == "mixed":
        a = a.astype(np.float32)
    elif case == "shape":
        out = np.empty((4, 6))
    elif case == "readonly":
        out.flags.writeable = False
    else:
        a, b, out = np.ones((0, 3)), b, np.empty((0, 5))
    assert not gemm.blasable(a, b, out)
