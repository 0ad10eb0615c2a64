"""Standardizer: statistics against Python's `statistics` module, train-only fitting, dicts."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descent.data import Standardizer, scaling, split_indices
from descent.errors import DataError, NotFittedError


def test_statistics_match_an_independent_oracle():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[3.0, -200.0, 1e4], scale=[0.1, 5.0, 2e3], size=(57, 3))
    s = Standardizer().fit(X)
    for j in range(3):
        column = [float(v) for v in X[:, j]]
        assert s.mean_[j] == pytest.approx(statistics.fmean(column), rel=1e-12)
        assert s.scale_[j] == pytest.approx(statistics.pstdev(column), rel=1e-12)
    Z = s.transform(X)
    # Standardized columns have mean 0 and (population) standard deviation 1.
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(s.inverse_transform(Z), X, rtol=1e-12)


def test_fitted_on_training_rows_only():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    X[:, 1] *= 10
    train, test = split_indices(100, (0.7, 0.3), seed=0)
    s = Standardizer().fit(X[train])
    for j in range(2):
        train_column = [float(v) for v in X[train, j]]
        assert s.mean_[j] == pytest.approx(statistics.fmean(train_column), rel=1e-12)
        assert s.scale_[j] == pytest.approx(statistics.pstdev(train_column), rel=1e-12)
    whole = Standardizer().fit(X)
    assert not np.allclose(s.mean_, whole.mean_)
    expected = (X[test] - s.mean_) / s.scale_
    np.testing.assert_allclose(s.transform(X[test]), expected, rtol=1e-12)


def test_constant_column_maps_to_zero():
    X = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 4.0]] * 5)
    s = Standardizer().fit(X)
    assert s.scale_[0] == 1.0
    assert s.transform(X)[:, 0].tolist() == [0.0] * 15
    assert np.isfinite(s.transform(np.array([[7.0, 1.0]]))).all()


def test_dtype_and_vector_mode():
    X32 = np.arange(12, dtype=np.float32).reshape(6, 2)
    s = Standardizer().fit(X32)
    assert s.mean_.dtype == np.float64
    assert s.transform(X32).dtype == np.float32
    assert s.transform(X32.astype(np.int64)).dtype == np.float64
    y = np.array([100.0, 200.0, 300.0])
    v = Standardizer().fit(y)
    z = v.transform(y)
    assert z.shape == (3,)
    expected = [(t - 200.0) / statistics.pstdev([100.0, 200.0, 300.0]) for t in y]
    np.testing.assert_allclose(z, expected, rtol=1e-12)
    np.testing.assert_allclose(v.inverse_transform(z), y, rtol=1e-12)
    with pytest.raises(DataError, match="fitted on a vector"):
        v.transform(y[:, None])


@pytest.mark.parametrize(
    "X, expected",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0]]), "row 0, column 1"),
        (np.array([[1.0, 2.0], [np.inf, 3.0]]), "row 1, column 0"),
        (np.zeros((0, 2)), "no rows"),
        (np.zeros((2, 2, 2)), "shape"),
        (np.array([["a"]]), "real numbers"),
    ],
)
def test_bad_input(X, expected):
    with pytest.raises(DataError, match=expected):
        Standardizer().fit(X)


def test_wrong_width_and_not_fitted():
    s = Standardizer().fit(np.ones((3, 2)))
    with pytest.raises(DataError, match="3 columns, but the Standardizer was fitted on 2"):
        s.transform(np.ones((3, 3)))
    with pytest.raises(NotFittedError):
        Standardizer().transform(np.ones((2, 2)))


def test_dict_round_trip_and_hostile_dicts():
    rng = np.random.default_rng(2)
    s = Standardizer().fit(rng.normal(size=(10, 3)) * [1.0, 1e-3, 1e6])
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    again = Standardizer.from_dict(d)
    assert again.mean_.tolist() == s.mean_.tolist()  # exact: JSON floats round-trip
    assert again.scale_.tolist() == s.scale_.tolist()
    for bad, expected in [
        ({**d, "scale": [1.0, 0.0, 2.0]}, "positive"),
        ({**d, "scale": [1.0, 2.0]}, "mean has 3 entries but scale has 2"),
        ({**d, "mean": [1.0, "x", 2.0]}, r"mean\[1\]"),
        ({**d, "mean": [1.0, float("nan"), 2.0]}, "finite"),
        ({**d, "vector": "no"}, "vector"),
        ({**d, "vector": True}, "one mean"),
        ({**d, "format": "x"}, "format"),
        ({k: v for k, v in d.items() if k != "mean"}, "missing key"),
        ("not a dict", "JSON object"),
    ]:
        with pytest.raises(DataError, match=expected):
            Standardizer.from_dict(bad)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3 * 8_192 + 5), d=st.integers(2, 40), seed=st.integers(0, 2**32 - 1),
       block=st.sampled_from([1, 7, 8_192]))
def test_blockwise_mean_std_equal_numpys_to_the_last_bit(n, d, seed, block):
    """A large matrix's statistics are taken block by block (no (n, d) temporary); they
    must be NumPy's own, bit for bit, or the model file of a large table would change."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(1e-3, 1e4, size=d) + rng.normal(size=d) * 100
    old, scaling.BLOCK_ROWS = scaling.BLOCK_ROWS, block  # (no monkeypatch inside @given)
    try:
        mean, std = scaling.column_mean_std(x)
    finally:
        scaling.BLOCK_ROWS = old
    assert mean.tobytes() == x.mean(axis=0).tobytes()
    assert std.tobytes() == x.std(axis=0).tobytes()


def test_a_large_matrix_takes_the_blockwise_route(monkeypatch):
    calls = []
    monkeypatch.setattr(scaling, "BLOCKWISE_BYTES", 0)
    monkeypatch.setattr(scaling, "column_mean_std",
                        lambda x: calls.append(x.shape) or (x.mean(0), x.std(0)))
    X = np.random.default_rng(0).normal(size=(50, 3))
    s = Standardizer().fit(X)
    assert calls == [(50, 3)] and np.allclose(s.transform(X).std(axis=0), 1.0)
    Standardizer().fit(X[:, :1])  # one column: NumPy sums it pairwise; the plain route
    assert calls == [(50, 3)]

