"""A worker process killed in the middle of training: its shards are rebuilt from their
source on the surviving worker, the round runs again, and the weights come out the same
bit for bit; killed in the middle of a grid search or cross-validation: its fits run again
elsewhere and the scores are those of one process. Real worker processes (a LocalCluster
with a nanny per worker)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import warnings
from collections import Counter

import dask.array as da
import numpy as np
import pytest
from distributed.diagnostics.plugin import SchedulerPlugin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

import descent as ds
from descent.distributed import close, connect, resilient_backend
from descent.sklearn import NeuralNetRegressor


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


class _KillDuringSearch:
    """SIGKILL the worker process that is running a fit once some fits have finished and
    others are running: a search killed in the middle, as a crash (no goodbye)."""

    def __init__(self, client):
        self.client = client
        self.killed: list[tuple[int, list[str]]] = []  # (pid, the fits it was running)
        self.seen: set[str] = set()
        self.victims: set[str] = set()
        self.finished = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self.client.wait_for_workers(2)  # a worker killed before has been restarted
        self.workers = set(self.client.run(os.getpid).values())
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        deadline = time.monotonic() + 60
        while self.victims & set(self.client.scheduler_info()["workers"]):
            assert time.monotonic() < deadline, "the scheduler never noticed the death"
            time.sleep(0.05)  # until the scheduler has seen the death

    def _watch(self):
        while not self._stop.is_set() and not self.killed:
            running = {w: [str(k) for k in keys] for w, keys in
                       self.client.processing().items()}
            now = {k for keys in running.values() for k in keys}
            self.finished = len(self.seen - now)  # fits seen running that are gone
            self.seen |= now
            busy = [w for w, keys in running.items() if keys]
            if self.finished >= 2 and busy:
                victim = busy[0]
                pid = self.client.run(os.getpid, workers=[victim])[victim]
                os.kill(pid, signal.SIGKILL)
                self.killed.append((pid, running[victim]))
                self.victims.add(victim)
            time.sleep(0.02)


class _Starts(SchedulerPlugin):
    """How many times the scheduler sent each task to a worker."""

    def __init__(self):
        self.count: Counter[str] = Counter()

    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "processing":
            self.count[str(key)] += 1


@pytest.mark.slow
def test_killing_a_worker_process_mid_search_loses_no_work():
    """GridSearchCV and cross_val_score under joblib's Dask backend: a worker killed while
    it runs a fit; the fits it held run again on the other worker (Dask reschedules the
    tasks of a lost worker; `resilient_backend` keeps the data inside the tasks, where
    joblib's own "dask" backend scatters it to one worker and loses it) and the results
    equal a one-process run's bit for bit."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    X, y, _ = ds.data.load_windsor_xy()
    X, y = X[:200], y[:200]
    grid = {"hidden_layer_sizes": [(4,), (16,)], "learning_rate": [3e-3, 1e-2]}
    base = NeuralNetRegressor(epochs=15, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        here = GridSearchCV(base, grid, cv=cv).fit(X, y)
        scores_here = cross_val_score(base, X, y, cv=KFold(10, shuffle=True, random_state=1))
        client = connect("local:2", processes=True)
        starts = _Starts()
        client.cluster.scheduler.add_plugin(starts)  # the scheduler runs in this process
        try:
            with resilient_backend(client):
                with _KillDuringSearch(client) as search_kill:
                    there = GridSearchCV(base, grid, cv=cv, n_jobs=-1).fit(X, y)
                with _KillDuringSearch(client) as score_kill:
                    scores_there = cross_val_score(base, X, y, n_jobs=-1,
                                                   cv=KFold(10, shuffle=True, random_state=1))
            alive = set(client.run(os.getpid).values())
        finally:
            close(client)
    for kill in (search_kill, score_kill):
        assert len(kill.killed) == 1, "the search ended before a worker could be killed"
        pid, running = kill.killed[0]
        assert pid in kill.workers and pid not in alive  # a worker, and it died
        assert running and all(k.startswith("batch_of__fit_and_score") for k in running)
        # the fits the dead worker held were sent again, to a worker that lived
        assert max(starts.count[k] for k in running) >= 2, (running, starts.count)
    np.testing.assert_array_equal(here.cv_results_["mean_test_score"],
                                  there.cv_results_["mean_test_score"])
    for k in range(3):
        np.testing.assert_array_equal(here.cv_results_[f"split{k}_test_score"],
                                      there.cv_results_[f"split{k}_test_score"])
    assert here.best_params_ == there.best_params_
    np.testing.assert_array_equal(here.predict(X), there.predict(X))
    np.testing.assert_array_equal(scores_here, scores_there)
