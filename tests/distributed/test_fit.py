"""ds.distributed.fit on a LocalCluster of in-process workers: same weights on any number of
workers, the large-batch step of one machine, callbacks, resume, sources, a lost
scheduler."""

from __future__ import annotations

import logging

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import descent as ds
from descent.distributed import ClusterError, close, connect
from descent.errors import DataError


def _data(n=240, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=n)
    return X, y


def _weights(net):
    return [p.data.copy() for p in net.parameters()]


def _train(client, workers_note="", **kwargs):
    X, y = _data()
    net = ds.nn.MLP([3, 6, 1], activation="tanh", seed=0, dtype=np.float64)
    options = dict(epochs=3, batch_size=50, lr=0.01, seed=3, shards=4, verbose=False)
    options.update(kwargs)
    history = ds.distributed.fit(net, da.from_array(X, chunks=60), da.from_array(y, chunks=60),
                                 client=client, **options)
    return net, history


def test_one_two_and_four_workers_give_bit_identical_weights():
    logging.getLogger("distributed").setLevel(logging.ERROR)
    results = []
    for n_workers in (1, 2, 4):
        client = connect(f"local:{n_workers}", processes=False)
        try:
            assert len(client.scheduler_info()["workers"]) == n_workers
            net, history = _train(client, validation_split=0.2)
            results.append((_weights(net), history["loss"], history["val_loss"]))
        finally:
            close(client)
    for weights, losses, val in results[1:]:
        for a, b in zip(results[0][0], weights, strict=True):
            np.testing.assert_array_equal(a, b)  # bit for bit
        assert losses == results[0][1] and val == results[0][2]


def test_one_round_per_epoch_is_the_large_batch_step_of_one_machine(client):
    X, y = _data(n=200)
    net = ds.nn.MLP([3, 5, 1], activation="tanh", seed=2, dtype=np.float64)
    twin = ds.nn.MLP([3, 5, 1], activation="tanh", seed=2, dtype=np.float64)
    h = ds.distributed.fit(net, da.from_array(X, chunks=50), da.from_array(y, chunks=50),
                           client=client, optimizer="sgd", lr=0.1, epochs=4, batch_size=200,
                           shards=5, seed=0, verbose=False)
    h1 = ds.fit(twin, X, y, optimizer="sgd", lr=0.1, epochs=4, batch_size=200, shuffle=False,
                seed=0, verbose=False)
    for a, b in zip(_weights(net), _weights(twin), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h["loss"], h1["loss"], rtol=1e-12)


def test_training_lowers_the_loss_and_early_stopping_restores_the_best(client):
    stop = ds.train.EarlyStopping("val_loss", patience=0)
    net, history = _train(client, epochs=15, lr=0.2, batch_size=120, validation_split=0.25,
                          callbacks=[stop])
    assert history["loss"][-1] < history["loss"][0]
    assert history.stopped_early or len(history) == 15
    if history.stopped_early:
        assert history.best_epoch == int(np.argmin(history["val_loss"]))


def test_resume_from_a_checkpoint_continues_bit_identically(client, tmp_path):
    ckpt = tmp_path / "run.safetensors"
    full, _ = _train(client, epochs=4)
    _train(client, epochs=2, callbacks=[ds.train.ModelCheckpoint(ckpt, monitor="loss")])
    resumed, history = _train(client, epochs=4, resume=str(ckpt), seed=None)
    assert len(history) == 4
    for a, b in zip(_weights(full), _weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_dask_dataframe_with_a_target_column_trains_like_its_arrays(client):
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y)
    ddf = dd.from_pandas(frame, npartitions=3)
    net = ds.nn.MLP([3, 6, 1], activation="tanh", seed=0, dtype=np.float64)
    ds.distributed.fit(net, ddf, "target", client=client, epochs=3, batch_size=50, lr=0.01,
                       seed=3, shards=4, verbose=False)
    same, _ = _train(client)
    for a, b in zip(_weights(net), _weights(same), strict=True):
        np.testing.assert_array_equal(a, b)


def test_csv_files_of_numbers_train_and_text_columns_are_named(client, tmp_path):
    X, y = _data(n=300)
    path = tmp_path / "numbers.csv"
    pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y).to_csv(path, index=False)
    net = ds.nn.MLP([3, 6, 1], activation="tanh", seed=0, dtype=np.float64)
    h = ds.distributed.fit(net, str(path), "target", client=client, epochs=5, batch_size=60,
                           lr=0.02, seed=0, shards=3, verbose=False)
    assert h["loss"][-1] < h["loss"][0]
    bad = tmp_path / "text.csv"
    bad.write_text("a,color,target\n" + "".join(f"{i},red,{i}\n" for i in range(40)))
    with pytest.raises(DataError, match="column 'color': text"):
        ds.distributed.fit(ds.nn.MLP([2, 1], seed=0), str(bad), "target", client=client,
                           shards=2, verbose=False)


def test_bad_options_are_named(client):
    X, y = _data(n=10)
    with pytest.raises(ValueError, match="shards"):
        ds.distributed.fit(ds.nn.MLP([3, 1]), X, y, client=client, shards=0)
    with pytest.raises(DataError, match="fewer than the 16 shards"):
        ds.distributed.fit(ds.nn.MLP([3, 1]), X, y, client=client, shards=16)
    with pytest.raises(ValueError, match="--cluster must be local:N"):
        connect("localhost")


class _StopTheScheduler(ds.train.Callback):
    def __init__(self, client, after_epoch):
        self.client, self.after_epoch = client, after_epoch

    def on_epoch_end(self, epoch, logs):
        if epoch == self.after_epoch:
            self.client.cluster.close()


def test_a_lost_scheduler_is_one_clear_error_and_the_checkpoint_is_kept(tmp_path):
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    client = connect("local:2", processes=False)
    ckpt = tmp_path / "ckpt.safetensors"
    try:
        with pytest.raises(ClusterError, match=r"lost the Dask cluster in epoch 3.*"
                                               r"ckpt.safetensors \(epoch 2\)"):
            _train(client, epochs=6, callbacks=[ds.train.ModelCheckpoint(ckpt, monitor="loss"),
                                                _StopTheScheduler(client, 1)])
    finally:
        client.close()
    # the checkpoint reads back and resumes on a new cluster
    client = connect("local:1", processes=False)
    try:
        _, history = _train(client, epochs=3, resume=str(ckpt), seed=None)
        assert len(history) == 3
    finally:
        close(client)


def test_divergence_is_named_and_keeps_the_last_good_weights(client):
    from descent.errors import DivergenceError

    X, y = _data()
    net = ds.nn.MLP([3, 6, 1], activation="relu", seed=0, dtype=np.float64)
    with pytest.raises(DivergenceError, match="epoch"):
        ds.distributed.fit(net, da.from_array(X, chunks=60), da.from_array(y * 1e3, chunks=60),
                           client=client, optimizer="sgd", lr=1e3, epochs=5, batch_size=60,
                           shards=4, seed=0, verbose=False)
    assert all(np.isfinite(p.data).all() for p in net.parameters())
