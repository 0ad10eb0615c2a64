"""The fit loop on real problems, its guarantees, and its failure modes."""

import os
import signal

import numpy as np
import pytest

import descent as ds
from descent.data import Standardizer, load_windsor_xy
from descent.train import Callback, predict_array


def test_xor_with_two_two_one_sigmoid_quadratic_cost_plain_sgd():
    """The classic: XOR needs the hidden layer and its nonlinearity."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)
    y = np.array([0, 1, 1, 0], np.float64)
    net = ds.nn.MLP([2, 2, 1], activation="sigmoid", output_activation="sigmoid", seed=1,
                    dtype=np.float64)
    h = ds.fit(net, X, y, loss="quadratic", optimizer=ds.optim.SGD(net.parameters(), lr=2.0),
               epochs=5000, batch_size=4, seed=0, verbose=False)
    out = predict_array(net, X).ravel()
    assert np.array_equal(out > 0.5, y > 0.5), out
    assert h["loss"][-1] < 0.01


def test_digits_default_mlp_reaches_98_percent():
    """scikit-learn's 8x8 digits, the small stand-in for 'is it a cat or a dog'."""
    X, y = ds.data.load_digits()
    split = ds.data.split_indices(len(X), (0.75, 0.25), seed=0, stratify=y)
    train, test = split
    scaler = Standardizer().fit(X[train])
    net = ds.nn.MLP([64, 128, 10], seed=0)
    ds.fit(net, scaler.transform(X[train]), y[train], loss="cross_entropy", epochs=40,
           seed=0, verbose=False)
    accuracy = np.mean(predict_array(net, scaler.transform(X[test])).argmax(1) == y[test])
    print(f"digits test accuracy {accuracy:.4f}")
    assert accuracy >= 0.98


def test_windsor_house_prices_beat_the_mean_predictor():
    X, y, _ = load_windsor_xy()
    train, test = ds.data.split_indices(len(X), (0.8, 0.2), seed=0)
    xs, ys = Standardizer().fit(X[train]), Standardizer().fit(y[train, None])
    net = ds.nn.MLP([X.shape[1], 32, 16, 1], activation="tanh", seed=0)
    ds.fit(net, xs.transform(X[train]), ys.transform(y[train, None]), loss="mse",
           optimizer="adam", lr=3e-3, epochs=60, seed=0, verbose=False,
           callbacks=[ds.train.EarlyStopping(patience=10)], validation_split=0.2)
    pred = ys.inverse_transform(predict_array(net, xs.transform(X[test]))).ravel()
    r2 = ds.train.r2(y[test], pred)
    mean_r2 = ds.train.r2(y[test], np.full(len(test), y[train].mean()))
    print(f"windsor held-out R2 {r2:.3f} (mean predictor {mean_r2:.3f})")
    assert r2 > mean_r2 + 0.4


def _run(seed, compiled=True):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((100, 3)), rng.standard_normal(100)
    net = ds.nn.MLP([3, 8, 1], seed=seed)
    ds.fit(net, X, y, epochs=3, batch_size=7, seed=seed, validation_split=0.2, verbose=False,
           compiled=compiled)
    return net.state_dict()


@pytest.mark.parametrize("compiled", [True, False])
def test_same_seed_gives_bit_identical_weights(compiled):
    a, b, c = _run(5, compiled), _run(5, compiled), _run(6, compiled)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_divergence_guard_names_epoch_and_batch():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 2)) * 100, rng.standard_normal(64) * 1e6
    net = ds.nn.MLP([2, 4, 1], activation="relu", seed=0)
    with pytest.raises(ds.DivergenceError, match=r"epoch \d+, batch \d+.*smaller learning rate"):
        ds.fit(net, X, y, optimizer="sgd", lr=10.0, epochs=50, batch_size=8, verbose=False)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, batch, logs):
        self.calls.append(f"batch_end {batch}")

    def on_epoch_end(self, epoch, logs):
        self.calls.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_train_end(self, logs):
        self.calls.append("train_end")


def test_hooks_are_called_in_order_with_logs():
    rec = Recorder()
    X, y = np.zeros((5, 2)), np.zeros(5)
    ds.fit(ds.nn.MLP([2, 1], seed=0), X, y, epochs=2, batch_size=3, callbacks=[rec],
           validation_data=(X, y), metrics=["r2"], verbose=False)
    logs = "['loss', 'lr', 'r2', 'val_loss', 'val_r2']"
    assert rec.calls == ["train_begin", "epoch_begin 0", "batch_end 0", "batch_end 1",
                         f"epoch_end 0 {logs}", "epoch_begin 1", "batch_end 0", "batch_end 1",
                         f"epoch_end 1 {logs}", "train_end"]


def test_early_stopping_stops_and_restores_the_best_weights():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, 5)), rng.standard_normal(40)  # pure noise: val gets worse
    X_val, y_val = rng.standard_normal((40, 5)), rng.standard_normal(40)
    net = ds.nn.MLP([5, 64, 1], seed=0)
    stop = ds.train.EarlyStopping(monitor="val_loss", patience=3)
    h = ds.fit(net, X, y, lr=0.01, epochs=200, batch_size=8, validation_data=(X_val, y_val),
               callbacks=[stop], seed=0, verbose=False)
    assert h.stopped_early and len(h) < 200
    best = int(np.argmin(h["val_loss"]))
    assert h.best_epoch == best and len(h) == best + 1 + 3 + 1
    val_now = ds.train.evaluate(net, X_val.astype(np.float32), y_val.astype(np.float32),
                                ds.nn.get_loss("mse"), [])["loss"]
    assert val_now == pytest.approx(h["val_loss"][best], rel=1e-6)


def test_early_stopping_without_validation_data_says_what_to_do():
    with pytest.raises(ValueError, match="needs validation data"):
        ds.fit(ds.nn.MLP([1, 1], seed=0), np.zeros((4, 1)), np.zeros(4), epochs=2,
               callbacks=[ds.train.EarlyStopping()], verbose=False)


def test_reduce_lr_on_plateau_cuts_the_rate():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 2)), rng.standard_normal(32)
    net = ds.nn.MLP([2, 1], seed=0)
    cb = ds.train.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    h = ds.fit(net, X, y, optimizer="sgd", lr=0.1, epochs=4, callbacks=[cb], verbose=False)
    # a relative min_delta of 10 means no epoch counts as an improvement, so each epoch
    # halves the rate; the log holds the rate each epoch trained with
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])


def test_model_checkpoint_save_best_only(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, 5)), rng.standard_normal(40)
    path = tmp_path / "best.safetensors"
    cb = ds.train.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    h = ds.fit(ds.nn.MLP([5, 32, 1], seed=0), X, y, lr=0.01, epochs=15, validation_split=0.5,
               callbacks=[cb], seed=0, verbose=False)
    val = h["val_loss"]
    improved = [e for e in range(len(val)) if val[e] < min(val[:e], default=np.inf)]
    assert cb.saved_epochs == improved
    assert path.exists()


def _resume_setup(seed=3):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 4)), rng.integers(0, 3, 60)
    net = ds.nn.MLP([4, 10, 3], activation="relu", seed=seed)
    sched = ds.train.LearningRateSchedule(lambda opt: ds.optim.StepLR(opt, 2, gamma=0.5))
    return X, y, net, sched


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_resume_from_checkpoint_is_bit_identical(tmp_path, optimizer):
    kw = dict(loss="cross_entropy", optimizer=optimizer, lr=0.01, batch_size=8,
              validation_split=0.25, seed=7, verbose=False)
    X, y, net, sched = _resume_setup()
    whole = ds.fit(net, X, y, epochs=10, callbacks=[sched], **kw)

    path = tmp_path / "ckpt.safetensors"
    X, y, first, sched = _resume_setup()
    ds.fit(first, X, y, epochs=5, callbacks=[sched, ds.train.ModelCheckpoint(path)], **kw)
    X, y, second, sched = _resume_setup(seed=99)  # different init: everything comes from disk
    resumed = ds.fit(second, X, y, epochs=10, callbacks=[sched], resume=str(path),
                     **{**kw, "seed": None})
    for name, value in net.state_dict().items():
        assert np.array_equal(value, second.state_dict()[name]), name
    assert resumed["loss"] == whole["loss"] and resumed["val_loss"] == whole["val_loss"]
    assert resumed["lr"] == whole["lr"]


def _dropout_net(kind, seed):
    if kind == "cnn":  # the compiled CNN step draws the masks from the layers' generators
        return ds.nn.ConvNet((1, 6, 6), 3, channels=(2,), kernel_size=3, hidden=(6,),
                             dropout=0.5, seed=seed)
    return ds.nn.Sequential(ds.nn.Linear(36, 12, seed=seed), ds.nn.ReLU(),
                            ds.nn.Dropout(0.5, seed=seed), ds.nn.Linear(12, 3, seed=seed))


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
def test_resume_with_dropout_is_bit_identical(tmp_path, kind):
    """The Dropout layers' generators are in the checkpoint: the resumed run draws the
    masks the uninterrupted one drew."""
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 1, 6, 6), dtype=np.float32), rng.integers(0, 3, 40)
    if kind == "mlp":
        X = X.reshape(40, 36)
    kw = dict(loss="cross_entropy", optimizer="adam", lr=0.01, batch_size=8, seed=5,
              verbose=False)
    net = _dropout_net(kind, seed=1)
    whole = ds.fit(net, X, y, epochs=4, **kw)
    path = tmp_path / "ckpt.safetensors"
    first = _dropout_net(kind, seed=1)
    ds.fit(first, X, y, epochs=2, callbacks=[ds.train.ModelCheckpoint(path)], **kw)
    second = _dropout_net(kind, seed=2)  # other weights and other dropout streams
    resumed = ds.fit(second, X, y, epochs=4, resume=str(path), **{**kw, "seed": None})
    for name, value in net.state_dict().items():
        assert np.array_equal(value, second.state_dict()[name]), name
    assert resumed["loss"] == whole["loss"]


class CtrlCAt(Callback):
    def __init__(self, epoch, batch):
        self.at, self.batches_after = (epoch, batch), 0

    def on_batch_end(self, batch, logs):
        if (self.run.epoch, batch) == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        elif self.run.interrupt_requested:
            self.batches_after += 1


def test_ctrl_c_stops_after_the_current_batch_and_keeps_history():
    X, y = np.zeros((40, 2)), np.zeros(40)
    cb = CtrlCAt(epoch=1, batch=2)
    h = ds.fit(ds.nn.MLP([2, 1], seed=0), X, y, epochs=5, batch_size=4, callbacks=[cb],
               verbose=False)
    assert h.interrupted and len(h) == 1 and cb.batches_after == 0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_progress_one_line_per_epoch_when_not_a_terminal(capsys):
    X, y = np.zeros((8, 2)), np.zeros(8)
    ds.fit(ds.nn.MLP([2, 1], seed=0), X, y, epochs=3, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("loss" in line for line in lines)
    ds.fit(ds.nn.MLP([2, 1], seed=0), X, y, epochs=3, verbose=False)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("kwargs,message", [
    (dict(epochs=-1), "epochs must be"),
    (dict(batch_size=0), "batch_size must be"),
    (dict(validation_split=1.0), "validation_split must be"),
    (dict(optimizer="adagrad"), "adagrad"),
    (dict(lr=-1.0), "lr"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ds.fit(ds.nn.MLP([2, 1], seed=0), np.zeros((4, 2)), np.zeros(4), verbose=False, **kwargs)


def test_bad_data_is_named():
    with pytest.raises(ds.DataError, match="X has 4 rows but y has 3"):
        ds.fit(ds.nn.MLP([2, 1], seed=0), np.zeros((4, 2)), np.zeros(3), verbose=False)
    with pytest.raises(ds.DataError, match="NaN"):
        ds.fit(ds.nn.MLP([2, 1], seed=0), np.array([[0, np.nan]]), [1.0], verbose=False)
