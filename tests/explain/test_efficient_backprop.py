"""efficient_backprop: each run differs from the full recipe in exactly the one setting named."""

from __future__ import annotations

import doctest

import numpy as np

import descent as ds
from descent.explain import efficient_backprop as module
from descent.explain.efficient_backprop import RECOMMENDATIONS, efficient_backprop


def _data():
    rng = np.random.default_rng(1)
    X = rng.normal([3000.0, 3.0, 0.5], [800.0, 1.0, 0.5], size=(60, 3))
    y = X @ [0.01, 5.0, 3.0] + rng.normal(size=60)
    return X, y


def _by_hand(X, y, *, standardize=True, shuffle=True, lecun=True, activation="scaled_tanh",
             momentum=True, seed=0):
    """One epoch of the recipe written out with the public API; the cost after it."""
    order = np.argsort(y, kind="stable")
    X, y = X[order], (y[order] - y.mean()) / y.std()
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    net = ds.nn.MLP([3, 4, 1], activation=activation, init="lecun", seed=seed, dtype=np.float64)
    if not lecun:
        rng = np.random.default_rng(seed)
        for p in net.parameters():
            if p.data.ndim == 2:
                p.data[...] = rng.normal(0.0, 1.0, p.data.shape)
    opt = (ds.optim.Momentum if momentum else ds.optim.SGD)(net.parameters(), lr=0.01)
    ds.fit(net, X, y, loss="quadratic", optimizer=opt, epochs=1, batch_size=16,
           shuffle=shuffle, seed=seed, verbose=False)
    out = ds.train.predict_array(net, X)
    return float(ds.nn.get_loss("quadratic")(ds.tensor(out), y).data)


def test_each_run_changes_only_its_own_setting():
    X, y = _data()
    runs = efficient_backprop(X, y, hidden=(4,), epochs=1, seeds=(0,))
    assert [r.name for r in runs] == ["all five", *(f"without {n}" for n in RECOMMENDATIONS)]
    expected = {
        "all five": {},
        "without standardized inputs": {"standardize": False},
        "without shuffling": {"shuffle": False},
        "without LeCun initialization": {"lecun": False},
        "without scaled tanh": {"activation": "sigmoid"},
        "without momentum": {"momentum": False},
    }
    for run in runs:
        np.testing.assert_allclose(run.costs[0], _by_hand(X, y, **expected[run.name]),
                                   rtol=1e-9, err_msg=run.name)
    assert len({float(r.costs[0, 0]) for r in runs}) == len(runs)  # each setting matters


def test_medians_and_divergence_are_reported():
    a = module.Ablation("x", np.array([[1.0, np.nan], [3.0, 2.0], [2.0, 4.0]]), 1)
    np.testing.assert_array_equal(a.median, [2.0, 3.0])
    assert "1 of 3 seeds diverged" in module.ablation_table([a], early=1)


def test_docstrings():
    assert doctest.testmod(module).failed == 0
