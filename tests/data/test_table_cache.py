"""TableCache: a table read back equals the table written, bit for bit, whatever its
columns (numbers with NaN, -0.0 and extremes; text with None, unicode, quotes, JSON-ish
text), with several tables in one file, read in any order and more than once."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descent.data.table import Table
from descent.data.table_cache import TableCache

_NUMBERS = st.floats(allow_nan=True, allow_infinity=True, width=64)
_TEXT = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(['"', "null", "[1]", "é"]))


@st.composite
def tables(draw: st.DrawFn) -> Table:
    n = draw(st.integers(0, 12))
    kinds = draw(st.lists(st.sampled_from(["numeric", "categorical"]), min_size=1,
                          max_size=4))
    names = [f"c{j}" for j in range(len(kinds))]
    values = {}
    for name, kind in zip(names, kinds, strict=True):
        if kind == "numeric":
            values[name] = np.array(draw(st.lists(_NUMBERS, min_size=n, max_size=n)),
                                    np.float64)
        else:
            column = np.empty(n, dtype=object)
            column[:] = draw(st.lists(_TEXT, min_size=n, max_size=n))
            values[name] = column
    lines = np.array(draw(st.lists(st.integers(1, 2**40), min_size=n, max_size=n)), np.int64)
    path = draw(st.sampled_from([None, "f.csv", "données.csv"]))
    return Table(names, values, dict(zip(names, kinds, strict=True)), lines, path)


def _equal(a: Table, b: Table) -> None:
    assert (a.columns, a.kinds, a.path) == (b.columns, b.kinds, b.path)
    np.testing.assert_array_equal(a.line_numbers, b.line_numbers)
    assert a.line_numbers.dtype == b.line_numbers.dtype
    for name in a.columns:
        x, y = a.values[name], b.values[name]
        assert x.dtype == y.dtype
        if x.dtype == object:
            assert x.tolist() == y.tolist()
            assert [type(v) for v in x] == [type(v) for v in y]
        else:
            assert x.view(np.uint64).tolist() == y.view(np.uint64).tolist()  # bit for bit


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tables(), min_size=1, max_size=4), st.randoms())
def test_tables_read_back_equal_in_any_order(written, rnd):
    cache = TableCache()
    try:
        for i, t in enumerate(written):
            assert cache.append(t) == i
        order = list(range(len(written))) * 2
        rnd.shuffle(order)
        for i in order:
            _equal(cache.read(i), written[i])
        assert len(cache) == len(written)
    finally:
        cache.close()


def test_the_file_has_no_name_so_a_killed_run_leaves_nothing(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cache = TableCache()
    t = Table(["x"], {"x": np.array([1.0, 2.0])}, {"x": "numeric"}, np.array([2, 3]), None)
    cache.append(t)
    assert list(tmp_path.iterdir()) == []  # while open, nothing has a name to leave behind
    _equal(cache.read(0), t)
    cache.close()
