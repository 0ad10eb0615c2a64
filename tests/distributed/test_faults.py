"""A worker process killed in the middle of training: its shards are rebuilt from their
source on the surviving worker, the round runs again, and the weights come out the same
bit for bit. Real worker processes (a LocalCluster with a nanny per worker)."""

from __future__ import annotations

import logging
import os
import signal

import dask.array as da
import numpy as np
import pytest

import descent as ds
from descent.distributed import close, connect


class _KillAWorker(ds.train.Callback):
    """SIGKILL one worker process after a given round: no goodbye, as a crash."""

    def __init__(self, client, epoch, batch):
        self.client, self.epoch, self.batch = client, epoch, batch
        self.killed: list[int] = []

    def on_batch_end(self, batch, logs):
        if self.run.epoch == self.epoch and batch == self.batch and not self.killed:
            # The victim: the worker holding shard 0 (and, spread round robin, others).
            holders = self.client.who_has()
            shards = {k: v for k, v in holders.items() if str(k).startswith("descent-shard-")}
            victim = next(iter(shards[min(shards)]))
            self.lost_shards = sorted(k for k, v in shards.items() if set(v) == {victim})
            pid = self.client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            self.killed.append(pid)


def _fit(client, callbacks=()):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = np.tanh(X @ np.array([1.0, -2.0, 0.5, 0.0])) + 0.05 * rng.normal(size=600)
    net = ds.nn.MLP([4, 8, 1], activation="tanh", seed=0, dtype=np.float64)
    history = ds.distributed.fit(net, da.from_array(X, chunks=150), da.from_array(y, chunks=150),
                                 client=client, epochs=3, batch_size=100, lr=0.02, seed=1,
                                 shards=4, verbose=False, callbacks=list(callbacks))
    return [p.data.copy() for p in net.parameters()], history


@pytest.mark.slow
def test_killing_a_worker_process_mid_training_gives_the_same_weights():
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    client = connect("local:2", processes=True)
    try:
        before = set(client.run(os.getpid).values())
        assert os.getpid() not in before  # real processes
        reference, ref_history = _fit(client)
        killer = _KillAWorker(client, epoch=1, batch=2)
        weights, history = _fit(client, [killer])
        assert killer.killed and killer.killed[0] in before
        assert 0 < len(killer.lost_shards) < 4  # it held some shards, not all
        assert killer.killed[0] not in set(client.run(os.getpid).values())  # it is gone
    finally:
        close(client)
    assert history["loss"] == ref_history["loss"]
    for a, b in zip(reference, weights, strict=True):
        np.testing.assert_array_equal(a, b)
