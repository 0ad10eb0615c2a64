"""The divergence guard: a finite but absurd loss is divergence too; sound training is not.

Before the guard knew finite losses, `descent train --lr 1e10 --optimizer adam` saved a
model with R² -5.9e17 and exit status 0 (Adam's steps are bounded by the rate, so the
loss grows to 1e20 without ever overflowing).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

import descent as ds
from descent.data import Standardizer, load_windsor_xy
from descent.sklearn import NeuralNetClassifier, NeuralNetRegressor
from descent.train import Callback
from descent.train.divergence import FACTOR, RISE_FACTOR, RISING, DivergenceGuard

from ..cli.conftest import run


def _windsor():
    X, y, _ = load_windsor_xy()
    return Standardizer().fit(X).transform(X), (y - y.mean()) / y.std()


class Snapshots(Callback):
    def on_train_begin(self, logs):
        self.weights = [[p.data.copy() for p in self.run.model.parameters()]]

    def on_epoch_end(self, epoch, logs):
        self.weights.append([p.data.copy() for p in self.run.model.parameters()])


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop"])
@pytest.mark.parametrize("compiled", [True, False])
def test_a_huge_rate_is_divergence_with_epoch_and_batch_and_the_start_kept(optimizer,
                                                                            compiled):
    X, y = _windsor()
    net = ds.nn.MLP([X.shape[1], 64, 1], seed=0)
    snaps = Snapshots()
    with pytest.raises(ds.DivergenceError, match=(
            r"diverged in epoch 1, batch \d+: the loss is .*e\+\d\d, more than 1e\+06 times "
            r".*smaller learning rate \(it was 1e\+10\); the model keeps its starting weights")):
        ds.fit(net, X, y, optimizer=optimizer, lr=1e10, epochs=5, verbose=False, seed=0,
               callbacks=[snaps], compiled=compiled)
    for p, start in zip(net.parameters(), snaps.weights[0], strict=True):
        np.testing.assert_array_equal(p.data, start)


def test_blow_up_after_good_epochs_keeps_the_last_good_epoch():
    X, y = _windsor()

    class RateJump(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                self.run.optimizer.lr = 1e10

    snaps = Snapshots()
    net = ds.nn.MLP([X.shape[1], 16, 1], seed=0)
    with pytest.raises(ds.DivergenceError, match=r"epoch 4, batch \d+.*end of epoch 3"):
        ds.fit(net, X, y, optimizer="adam", lr=1e-3, epochs=10, verbose=False, seed=0,
               callbacks=[snaps, RateJump()])
    for p, kept in zip(net.parameters(), snaps.weights[3], strict=True):
        np.testing.assert_array_equal(p.data, kept)


def test_the_rising_rule_needs_a_long_rise_far_above_the_start():
    net = ds.nn.MLP([2, 1], seed=0)
    reference = 2.0

    def feed(losses):
        guard = DivergenceGuard(net, baseline=None, lr=0.1)
        guard.batch(reference, 0, 0, 0.1)  # the first batch sets the reference
        for epoch, loss in enumerate(losses):
            guard.epoch_end(loss, epoch, 7)

    top = RISE_FACTOR * reference * 1.5
    rising = list(np.geomspace(reference, top, RISING + 1))
    with pytest.raises(ds.DivergenceError,
                       match=rf"epoch {RISING + 1}, batch 7: the loss has risen {RISING} "
                             rf"epochs in a row to .*the loss it started from \(2\)"):
        feed(rising)
    feed(rising[:-1])  # one rise fewer: fine
    feed(list(np.geomspace(reference, RISE_FACTOR * reference * 0.9, RISING + 3)))  # not far
    feed(rising[:3] + [rising[2] * 0.99] + rising[3:])  # a dip restarts the count


def test_the_reference_is_at_least_the_constant_prediction():
    """A model that starts near a perfect fit may get worse without being called divergent,
    as long as it stays within a million times what predicting the mean costs."""
    net = ds.nn.MLP([2, 1], seed=0)
    guard = DivergenceGuard(net, baseline=1.0, lr=0.1)
    guard.batch(1e-9, 0, 0, 0.1)  # started almost perfect
    guard.batch(1e3, 0, 1, 0.1)  # 1e12 times its start, 1e3 times the mean's: fine
    with pytest.raises(ds.DivergenceError, match="constant prediction"):
        guard.batch(FACTOR * 2, 0, 2, 0.1)


# ---- no false alarms on real, noisy training -------------------------------------------

@pytest.mark.parametrize("optimizer,lr,batch_size", [
    ("sgd", 0.01, 1), ("sgd", 0.05, 32), ("momentum", 0.02, 32), ("nesterov", 0.01, 8),
    ("adam", 0.05, 1), ("adam", 0.01, 32), ("adamw", 0.1, 32), ("rmsprop", 0.01, 16),
])
def test_sound_training_of_real_data_is_never_called_divergent(optimizer, lr, batch_size):
    """Windsor (regression), iris and digits (classification), every optimizer at rates up
    to the largest that still train, batch 1 included (the noisiest)."""
    X, y = _windsor()
    problems = [(X, y, "mse", 1)]
    Xi, yi = load_iris(return_X_y=True)
    problems.append((Standardizer().fit(Xi).transform(Xi), yi, "cross_entropy", 3))
    if batch_size > 1:
        Xd, yd = ds.data.load_digits()
        problems.append((Standardizer().fit(Xd).transform(Xd), yd, "cross_entropy", 10))
    for X_, y_, loss, k in problems:
        for activation in ("tanh", "relu", "sigmoid"):
            net = ds.nn.MLP([X_.shape[1], 32, k], activation=activation, seed=0)
            h = ds.fit(net, X_, y_, loss=loss, optimizer=optimizer, lr=lr, epochs=6,
                       batch_size=batch_size, seed=0, verbose=False)
            assert len(h) == 6 and np.isfinite(h["loss"][-1])


def test_the_command_exits_non_zero_with_one_line_and_saves_nothing(tmp_path):
    out = tmp_path / "model.safetensors"
    result = run("train", "--lr", "1e10", "--optimizer", "adam", "--out", out, "--quiet")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: training diverged in epoch 1, batch")
    assert "learning rate (it was 1e+10)" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("make", [
    lambda: NeuralNetRegressor(learning_rate=1e10, optimizer="adam", random_state=0),
    lambda: NeuralNetClassifier(learning_rate=1e10, optimizer="adam", random_state=0),
])
def test_the_estimators_raise_a_clear_error(make):
    X, y = _windsor()
    target = y if isinstance(make(), NeuralNetRegressor) else (y > 0).astype(int)
    with pytest.raises(ds.DivergenceError, match=r"diverged in epoch \d+, batch \d+.*1e\+10"):
        make().fit(X, target)
