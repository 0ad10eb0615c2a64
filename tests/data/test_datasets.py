"""Bundled and generated data sets, checked against the raw file and the geometry."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from descent.data import load_digits, load_windsor, load_windsor_xy, make_moons, make_xor

WINDSOR = Path(__file__).parents[2] / "src/descent/datasets/windsor_housing.csv"


def test_windsor_table():
    table = load_windsor()
    assert len(table) == 546
    assert table.columns[0] == "price"
    assert len(table.columns) == 12


def test_windsor_xy_matches_the_raw_file():
    X, y, names = load_windsor_xy()
    assert X.shape == (546, 11) and y.shape == (546,)
    with open(WINDSOR, newline="") as f:
        rows = list(csv.DictReader(f))
    assert names == [c for c in rows[0] if c != "price"]
    word = {"yes": 1.0, "no": 0.0}
    expected = [[word[r[c]] if r[c] in word else float(r[c]) for c in names] for r in rows]
    assert X.tolist() == expected
    assert y.tolist() == [float(r["price"]) for r in rows]
    assert set(np.unique(X[:, names.index("driveway")]).tolist()) == {0.0, 1.0}
    X32, _, _ = load_windsor_xy(np.float32)
    assert X32.dtype == np.float32


def test_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and sorted(set(y.tolist())) == list(range(10))
    assert X.min() == 0 and X.max() == 16


def test_digits_without_sklearn(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import now fails
    with pytest.raises(ImportError, match="scikit-learn"):
        load_digits()


def test_xor():
    X, y = make_xor()
    assert X.shape == (4, 2)
    assert y.tolist() == [int(a) ^ int(b) for a, b in X]


def test_moons_geometry_and_seed():
    X, y = make_moons(101, noise=0.0)
    assert X.shape == (101, 2) and (y == 0).sum() == 50 and (y == 1).sum() == 51
    upper, lower = X[y == 0], X[y == 1]
    # Class 0 on the unit circle's upper half; class 1 on the circle about (1, 0.5), lower half.
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    assert (upper[:, 1] >= -1e-12).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert (lower[:, 1] <= 0.5 + 1e-12).all()
    a, _ = make_moons(50, noise=0.2, seed=4)
    b, _ = make_moons(50, noise=0.2, seed=4)
    c, _ = make_moons(50, noise=0.2, seed=5)
    assert (a == b).all() and not (a == c).all()
    clean, _ = make_moons(50, noise=0.0)
    assert 0.1 < np.std(a - clean) < 0.3
    for bad, error in [({"n": 1}, ValueError), ({"noise": -1.0}, ValueError),
                       ({"n": 2.5}, TypeError), ({"noise": float("nan")}, ValueError)]:
        with pytest.raises(error):
            make_moons(**bad)
