"""Faults during training and saving: nothing is lost (issue: reliability and security)."""

import errno
import os
import signal

import numpy as np
import pytest

import descent as ds
from descent.train import Callback


class PoisonAt(Callback):
    """Makes the weights non-finite at the start of a given epoch (a stand-in for blow-up)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs):
        if epoch == self.epoch:
            self.run.model.parameters()[0].data[...] = np.inf


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((32, 3)), rng.standard_normal(32)


def test_non_finite_loss_keeps_the_last_good_checkpoint(tmp_path):
    X, y = _data()
    path = tmp_path / "ckpt.safetensors"
    net = ds.nn.MLP([3, 4, 1], seed=0)
    with pytest.raises(ds.DivergenceError, match=r"epoch 4, batch 1"):
        ds.fit(net, X, y, epochs=10, batch_size=8, verbose=False, seed=0,
               callbacks=[PoisonAt(3), ds.train.ModelCheckpoint(path)])
    saved = ds.load(path)
    assert all(np.all(np.isfinite(p.data)) for p in saved.parameters())
    _, meta = ds.io.read_model_file(path)
    assert meta["epochs_done"] == 3  # epochs 1-3 finished; the file holds the end of epoch 3


def test_ctrl_c_keeps_history_and_last_checkpoint(tmp_path):
    X, y = _data()
    path = tmp_path / "ckpt.safetensors"

    class CtrlC(Callback):
        def on_batch_end(self, batch, logs):
            if self.run.epoch == 2 and batch == 1:
                os.kill(os.getpid(), signal.SIGINT)

    h = ds.fit(ds.nn.MLP([3, 4, 1], seed=0), X, y, epochs=10, batch_size=8, verbose=False,
               callbacks=[CtrlC(), ds.train.ModelCheckpoint(path)])
    assert h.interrupted and len(h) == 2
    _, meta = ds.io.read_model_file(path)
    assert meta["epochs_done"] == 2 and len(meta["history"]["epoch"]) == 2


def _fail_with(err):
    def broken_write(*args, **kwargs):
        raise OSError(err, os.strerror(err))
    return broken_write


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_save_failure_names_the_path_and_keeps_the_old_model(tmp_path, monkeypatch, err):
    path = tmp_path / "model.safetensors"
    old = ds.nn.MLP([2, 3, 1], seed=0)
    ds.save(old, path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "write", _fail_with(err))
    with pytest.raises(ds.SaveError, match="model.safetensors"):
        ds.save(ds.nn.MLP([2, 3, 1], seed=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not [p for p in os.listdir(tmp_path) if p != "model.safetensors"]  # no temp left
    loaded = ds.load(path)
    assert all(np.array_equal(a, b) for a, b in zip(
        (p.data for p in old.parameters()), (p.data for p in loaded.parameters()), strict=True))


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ds.SaveError, match="no-such-folder"):
        ds.save(ds.nn.MLP([2, 1], seed=0), tmp_path / "no-such-folder" / "m.safetensors")


def test_predict_streams_in_chunks_with_flat_memory():
    """Predicting 1,000,000 rows: peak extra memory is the output plus one chunk, not the
    graph of the whole batch (measured with tracemalloc; NumPy reports its allocations)."""
    import tracemalloc

    net = ds.nn.MLP([13, 64, 64, 1], seed=0)
    X = np.random.default_rng(0).standard_normal((1_000_000, 13)).astype(np.float32)
    tracemalloc.start()
    out = ds.train.predict_array(net, X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out.shape == (1_000_000, 1)
    chunk = 8192 * 64 * 4 * 4  # a few (chunk, 64) float32 activations
    assert peak < out.nbytes * 2 + chunk * 4, f"peak {peak / 1e6:.1f} MB"
