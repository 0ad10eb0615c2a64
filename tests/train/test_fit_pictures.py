"""fit and predict_array on (N, C, L) and (N, C, H, W) arrays, honouring train() / eval()."""

from __future__ import annotations

import numpy as np
import pytest

import descent as ds
from descent.errors import DataError


def _pictures(n=60, seed=0):
    """Bright-left vs bright-right 6x6 pictures: a CNN separates them in a few epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.uniform(0, 0.3, (n, 1, 6, 6))
    X[y == 0, :, :, :3] += 0.7
    X[y == 1, :, :, 3:] += 0.7
    return X.astype(np.float32), y


def test_fit_trains_a_convnet_on_pictures_and_predicts_in_eval_mode():
    X, y = _pictures()
    net = ds.nn.ConvNet((1, 6, 6), 2, channels=(4,), kernel_size=3, hidden=(8,),
                        batch_norm=True, dropout=0.3, seed=0)
    history = ds.fit(net, X, y, loss="cross_entropy", optimizer="adam", lr=0.01, epochs=15,
                     batch_size=10, validation_split=0.2, metrics=["accuracy"], seed=0,
                     verbose=False)
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] == 1.0
    assert not net.training  # fit leaves the model ready to predict
    stats = net[1].running_mean.copy()
    first = ds.train.predict_array(net, X)
    assert np.array_equal(first, ds.train.predict_array(net, X))  # no dropout, no updates
    assert np.array_equal(net[1].running_mean, stats)


def test_predict_array_uses_eval_mode_and_restores_the_mode():
    net = ds.nn.Sequential(ds.nn.Conv1d(1, 2, 3, seed=0), ds.nn.Dropout(0.5, seed=0),
                           ds.nn.Flatten())
    X = np.ones((3, 1, 5), np.float32)
    net.train()
    out = ds.train.predict_array(net, X)
    assert net.training and net[1].training
    with ds.no_grad():
        expected = ds.conv1d(X, net[0].weight, net[0].bias).data.reshape(3, -1)
    np.testing.assert_array_equal(out, expected)  # nothing dropped


def test_fit_on_signals_with_validation_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 2, 9))
    y = X[:, 0, :].mean(axis=1)
    net = ds.nn.Sequential(ds.nn.Conv1d(2, 3, 3, padding="same", seed=0, dtype=np.float64),
                           ds.nn.GlobalAvgPool(), ds.nn.Linear(3, 1, seed=0, dtype=np.float64))
    h = ds.fit(net, X, y, loss="mse", lr=0.05, epochs=30, batch_size=8, seed=0, verbose=False,
               validation_data=(X[:8], y[:8]))
    assert h["val_loss"][-1] < 0.2 * h["val_loss"][0]


@pytest.mark.parametrize("X,message", [
    (np.full((2, 1, 3, 3), np.nan), r"X has a non-finite value \(nan\) in example 0 at "
                                    r"position \(0, 0, 0\)"),
    (np.zeros((2, 1, 2, 2, 2)), r"X must be \(N, features\), \(N, C, L\) or \(N, C, H, W\)"),
    (np.zeros((0, 1, 3, 3)), "X has no values"),
    (np.array([[["a"]]]), "X has dtype <U1, not numbers"),
])
def test_bad_picture_arrays_are_named(X, message):
    net = ds.nn.Sequential(ds.nn.Flatten(), ds.nn.Linear(9, 2))
    with pytest.raises(DataError, match=message):
        ds.fit(net, X, np.zeros(len(X), int), loss="cross_entropy", verbose=False)
