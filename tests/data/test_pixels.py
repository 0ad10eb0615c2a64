"""PixelArray: uint8 pictures whose batches are the floats of the whole set, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descent.data import ImageSet, PixelArray


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 9), shape=st.sampled_from([(1, 3, 3), (3, 2, 5), (7,)]),
       dtype=st.sampled_from([np.float32, np.float64]), scale=st.sampled_from([1 / 255, 0.5, 3.0]),
       cast=st.sampled_from([None, np.float32, np.float64]), seed=st.integers(0, 1000))
def test_batches_are_the_rows_of_the_float_copy(n, shape, dtype, scale, cast, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n, *shape)).astype(np.uint8)
    X = PixelArray(pixels, scale, dtype)
    whole = pixels.astype(dtype) * dtype(scale)  # what a float copy of the set holds
    if cast is not None:
        X, whole = X.astype(cast), whole.astype(cast)
    rows = rng.integers(0, n, rng.integers(1, 2 * n + 1))
    batch = X.take(rows, axis=0)
    assert batch.dtype == whole.dtype and batch.flags.c_contiguous
    np.testing.assert_array_equal(batch, whole.take(rows, axis=0))
    part = X[rows[: len(rows) // 2 + 1]]
    assert isinstance(part, PixelArray) and part.dtype == whole.dtype
    np.testing.assert_array_equal(np.asarray(part), whole[rows[: len(rows) // 2 + 1]])
    np.testing.assert_array_equal(np.asarray(X[1:]), whole[1:])
    assert X.shape == whole.shape and X.ndim == whole.ndim and len(X) == n


def test_image_set_pixels_give_its_floats():
    pics = np.arange(24, dtype=np.uint8).reshape(6, 1, 2, 2) * 10
    s = ImageSet(pics, np.array([0, 1] * 3), ["a", "b"], list("uvwxyz"))
    X = s.pixels([5, 1, 3])
    assert X.pixels.dtype == np.uint8
    np.testing.assert_array_equal(X.take([0, 1, 2]), s.floats([5, 1, 3]))
    np.testing.assert_array_equal(np.asarray(s.pixels()), s.floats())


@pytest.mark.parametrize("make,message", [
    (lambda: PixelArray(np.zeros((2, 2)), 1.0), "uint8"),
    (lambda: PixelArray(np.zeros(3, np.uint8)), r"uint8 array \(N, ...\)"),
    (lambda: PixelArray(np.zeros((2, 2), np.uint8), dtype=np.int32), "float32 or float64"),
    (lambda: PixelArray(np.zeros((2, 2), np.uint8)).astype(np.float16), "float32 or float64"),
])
def test_bad_construction_is_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_only_rows_index_it():
    X = PixelArray(np.zeros((3, 1, 2, 2), np.uint8))
    for key in (0, (slice(None), 0)):
        with pytest.raises(IndexError, match="indexed by rows only"):
            X[key]
    with pytest.raises(ValueError, match="first axis"):
        X.take([0], axis=1)
