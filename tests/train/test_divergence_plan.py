"""The divergence guard with the compiled plan: no second copy of the weights, and the
model still keeps the last good epoch's weights, for the NumPy plan and the numba path."""

from __future__ import annotations

import numpy as np
import pytest

import descent as ds
from descent.train import divergence


class _BlowUpAfter(ds.train.Callback):
    """Keeps each epoch's weights; from epoch `k` on, a learning rate that diverges."""

    def __init__(self, k: int) -> None:
        self.k, self.kept = k, []

    def on_epoch_end(self, epoch, logs):
        self.kept.append({n: p.data.copy() for n, p in self.run.model.named_parameters()})
        if epoch + 1 == self.k:
            self.run.optimizer.lr = 1e12


@pytest.mark.parametrize("compiled", ["numpy", "jit", False])
def test_divergence_keeps_the_last_good_epoch(compiled, monkeypatch):
    copies = []
    real = divergence.DivergenceGuard.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        copies.append(self.good is not None)

    monkeypatch.setattr(divergence.DivergenceGuard, "__init__", spy)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    net = ds.nn.MLP([3, 8, 1], activation="tanh", seed=0)
    cb = _BlowUpAfter(2)
    with pytest.raises(ds.DivergenceError, match="the model keeps the weights of the end of "
                                                 "epoch 2"):
        ds.fit(net, X, X.sum(axis=1), optimizer="sgd", lr=0.01, epochs=6, batch_size=8,
               seed=0, verbose=False, compiled=compiled, callbacks=[cb])
    assert len(cb.kept) == 2
    for name, p in net.named_parameters():
        np.testing.assert_array_equal(p.data, cb.kept[1][name])
    assert copies == [compiled is False]  # the plan's paths keep no extra copy
