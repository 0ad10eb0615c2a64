"""Products split over descent's own threads (train/split.py) are the unsplit products.

Property tests over random shapes (sides 1 to 300, both axes, float32 and float64,
operands C-ordered, Fortran-ordered and transposed views, 1 to 4 workers): the result
matches np.matmul to float rounding, is the same bit for bit however the parts fall to the
threads (run twice, and with helpers that never run), and an error in a part reaches the
caller.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descent.train import split


def _operand(rng, shape, dtype, layout):
    a = rng.standard_normal(shape).astype(dtype)
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "T":  # a transposed view, as the plan passes [a | 1]ᵀ and Wᵀ
        return np.ascontiguousarray(a.T).T
    return a


@settings(max_examples=80, deadline=None)
@given(m=st.integers(1, 300), k=st.integers(1, 300), n=st.integers(1, 300),
       axis=st.sampled_from([0, 1]), workers=st.integers(1, 4),
       dtype=st.sampled_from([np.float32, np.float64]),
       layouts=st.tuples(*[st.sampled_from(["C", "F", "T"])] * 2), seed=st.integers(0, 99))
def test_split_product_is_the_product(m, k, n, axis, workers, dtype, layouts, seed):
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, (m, k), dtype, layouts[0]), _operand(rng, (k, n), dtype, layouts[1])
    order = "C" if axis == 0 else "F"  # each part a contiguous block of the output
    out = np.full((m, n), np.nan, dtype, order=order)
    split.matmul(a, b, out, axis, workers)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=tol, atol=tol * k)
    again = np.full_like(out, np.nan)
    split.matmul(a, b, again, axis, workers)
    np.testing.assert_array_equal(out, again)


def test_parts_do_not_depend_on_who_runs_them(monkeypatch):
    """With helpers that never take a part, the caller runs them all: the same bits."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((128, 784)).astype(np.float32)
    b = rng.standard_normal((784, 256)).astype(np.float32)
    shared = np.empty((128, 256), np.float32, order="F")
    split.matmul(a, b, shared, 1, 2)
    monkeypatch.setattr(split, "helpers", lambda n: split.Helpers(0))
    alone = np.empty_like(shared)
    split.matmul(a, b, alone, 1, 2)
    np.testing.assert_array_equal(shared, alone)


def test_bounds_are_aligned_and_cover_the_output():
    for size in (1, 15, 16, 17, 100, 256, 784):
        for parts in (1, 2, 4):
            cuts = split.bounds(size, parts)
            assert cuts[0] == 0 and cuts[-1] == size and len(cuts) - 1 <= parts
            assert all(c % split.ALIGN == 0 for c in cuts[:-1])
            assert all(lo < hi for lo, hi in zip(cuts, cuts[1:], strict=False))


def test_an_error_in_a_part_reaches_the_caller():
    a, b = np.ones((64, 9)), np.ones((8, 64))  # inner sizes differ: every part fails
    out = np.empty((64, 64), order="F")
    with pytest.raises(ValueError):
        split.matmul(a, b, out, 1, 2)
    split.matmul(a[:, :8], b, out, 1, 2)  # and the helpers still serve the next product
    assert (out == 8).all()
