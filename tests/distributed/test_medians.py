"""Exact medians from passes over blocks: bit for bit np.median, whatever the values (ties,
signs, zeros of both signs, tiny and huge magnitudes), the cut into blocks, and however
many narrowing passes a small gather limit forces."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import descent.distributed.medians as medians
from descent.distributed.medians import MedianFinder, order_keys, top_counts

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
values = st.one_of(
    arrays(np.float64, st.integers(1, 120), elements=finite),
    arrays(np.float64, st.integers(1, 120), elements=st.sampled_from([-0.0, 0.0, 1.0, 3.0])),
    arrays(np.float64, st.integers(1, 120),
           elements=st.floats(1000.0, 1001.0, allow_nan=False)),  # one range of 16 bits
)


@settings(max_examples=300, deadline=None)
@given(x=values, cuts=st.lists(st.integers(0, 120), max_size=4),
       gaps=st.lists(st.integers(0, 119), max_size=10), limit=st.sampled_from([1, 3, 1 << 21]))
def test_median_of_blocks_is_np_median(x, cuts, gaps, limit):
    x = x.copy()
    x[[g for g in gaps if g < len(x) - 1]] = np.nan  # the last value stays: never all gaps
    blocks = np.split(x, sorted({c for c in cuts if c < len(x)}))
    old, medians.GATHER_LIMIT = medians.GATHER_LIMIT, limit
    try:
        finder = MedianFinder({"c": sum((top_counts(b) for b in blocks), Counter())})
        passes = 0
        while finder.pending():
            for b in blocks:
                finder.add(finder.scan({"c": b}))
            finder.finish()
            passes += 1
    finally:
        medians.GATHER_LIMIT = old
    want = np.median(x[~np.isnan(x)])
    got = finder.medians()["c"]
    assert got == want, (got, want)  # (-0.0 == 0.0: a fill, either zero is the same)
    assert passes <= 4


def test_order_keys_sort_as_the_numbers():
    x = np.array([-np.inf, -1e300, -2.0, -5e-324, -0.0, 0.0, 5e-324, 1.0, 1e300, np.inf])
    keys = order_keys(x)
    assert np.all(keys[1:] > keys[:-1])
