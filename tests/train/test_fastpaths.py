"""The fast paths of fit and predict_array give the engine's results.

What is checked here (speed itself is measured by bench/run.py, never asserted):
- `Optimizer.step_flat` (every parameter in one flat array) is bit for bit `step()`;
- the BLAS thread counts the plan picks change results only to float rounding, and the
  count is given back after fit;
- the plan's own flat copy of the weights is copied back whenever anyone can look:
  between batches for a callback that has batch hooks, after every epoch, after a
  divergence (then the last good epoch's), and after a step called on its own; `.grad`
  reads as the last gradient;
- the compiled forward pass of `predict_array` (chunked, spread over threads for many
  rows) gives the engine's outputs.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import descent as ds
from descent.autodiff import Tensor, no_grad
from descent.errors import DivergenceError
from descent.optim import SGD, Adam, AdamW, Momentum, Nesterov, RMSProp
from descent.train import Callback, compile_step, predict_array
from descent.train import plan as plan_module

threadpoolctl = pytest.importorskip("threadpoolctl")


# ---- Optimizer.step_flat --------------------------------------------------------------------

def _params(rng: np.random.Generator, dtype=np.float32) -> list[SimpleNamespace]:
    return [SimpleNamespace(data=rng.standard_normal(shape).astype(dtype), grad=None)
            for shape in [(5, 4), (4,), (4, 3), (3,)]]


OPTIMIZERS = [
    lambda ps: SGD(ps, lr=0.1),
    lambda ps: SGD(ps, lr=0.1, weight_decay=0.01),
    lambda ps: Momentum(ps, lr=0.1),
    lambda ps: Nesterov(ps, lr=0.1, weight_decay=0.001),
    lambda ps: Adam(ps, lr=0.01),
    lambda ps: Adam(ps, lr=0.01, weight_decay=0.1),
    lambda ps: AdamW(ps, lr=0.01),
    lambda ps: RMSProp(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_step_flat_is_bit_for_bit_step(make):
    rng = np.random.default_rng(0)
    ps = _params(rng)
    qs = [SimpleNamespace(data=p.data.copy(), grad=None) for p in ps]
    one_by_one, flat = make(ps), make(qs)
    w = np.concatenate([q.data.ravel() for q in qs])
    for _ in range(5):
        grads = [rng.standard_normal(p.data.shape).astype(np.float32) for p in ps]
        for p, g in zip(ps, grads, strict=True):
            p.grad = g
        one_by_one.step()
        assert flat.step_flat(w, np.concatenate([g.ravel() for g in grads]))
    np.testing.assert_array_equal(w, np.concatenate([p.data.ravel() for p in ps]))
    assert flat.step_count == one_by_one.step_count == 5
    for a, b in zip(flat.state_arrays().values(), one_by_one.state_arrays().values(),
                    strict=True):
        np.testing.assert_array_equal(a, b)


def test_step_flat_declines_what_it_cannot_do():
    rng = np.random.default_rng(0)
    mixed = _params(rng)
    mixed[1].data = mixed[1].data.astype(np.float64)
    assert not Adam(mixed).step_flat(np.zeros(39, np.float32), np.zeros(39, np.float32))

    ps = _params(rng)
    opt = Adam(ps)
    ps[0].grad = np.ones((5, 4), np.float32)  # the others get no gradient: counts differ
    opt.step()
    w = np.zeros(39, np.float32)
    assert not opt.step_flat(w, w.copy())
    assert not SGD(_params(rng), lr=0.1).step_flat(np.zeros(3, np.float32),
                                                   np.zeros(3, np.float32))

    class Clipped(SGD):  # a rule written elsewhere may not be elementwise
        def _update(self, w, g, s, t, h):
            super()._update(w, np.clip(g, -1, 1), s, t, h)

    assert not Clipped(_params(rng), lr=0.1).step_flat(w, w.copy())


def test_plain_rate_and_scaled_flat_step():
    rng = np.random.default_rng(0)
    assert SGD(_params(rng), lr=0.1).plain_rate() == 0.1
    assert Momentum(_params(rng), lr=0.1).plain_rate() is None
    assert SGD(_params(rng), lr=0.1, weight_decay=0.1).plain_rate() is None
    assert Adam(_params(rng)).plain_rate() is None
    ps = _params(rng)
    opt = SGD(ps, lr=0.5)
    w, g = np.ones(39, np.float32), np.full(39, 0.25, np.float32)
    assert opt.step_flat(w, g, scaled=True)  # g already holds lr * gradient
    np.testing.assert_array_equal(w, 0.75)
    assert opt.step_count == 1
    with pytest.raises(ValueError, match="plain SGD"):
        Momentum(_params(rng), lr=0.1).step_flat(w, g, scaled=True)


# ---- the compiled step inside fit -----------------------------------------------------------

def _data(n=200, d=20, k=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, k, n)


def _train(compiled, optimizer="sgd", epochs=2, callbacks=(), sizes=(20, 64, 32, 5),
           batch_size=32, lr=0.05):
    X, y = _data(d=sizes[0], k=sizes[-1])
    net = ds.nn.MLP(list(sizes), activation="relu", seed=3)
    h = ds.fit(net, X, y, loss="cross_entropy", optimizer=optimizer, lr=lr, epochs=epochs,
               batch_size=batch_size, seed=4, verbose=False, compiled=compiled,
               callbacks=list(callbacks))
    return net, h


def _close(a, b, rtol=2e-4, atol=2e-5):
    for name in a.state_dict():
        np.testing.assert_allclose(a.state_dict()[name], b.state_dict()[name], rtol=rtol,
                                   atol=atol, err_msg=name)


def test_thread_counts_change_results_only_to_rounding(monkeypatch):
    """Every product on all threads, or every product on one: the same weights."""
    monkeypatch.setattr(plan_module, "SPLIT_MIN_THREADS", 2)
    runs = []
    for flops, side in [(0.0, 1), (float("inf"), 1)]:
        monkeypatch.setattr(plan_module, "PARALLEL_MIN_FLOPS", flops)
        monkeypatch.setattr(plan_module, "PARALLEL_MIN_SIDE", side)
        with threadpoolctl.threadpool_limits(2, user_api="blas"):
            runs.append(_train(True, sizes=(20, 96, 64, 5), epochs=3)[0])
    _close(runs[0], runs[1], rtol=1e-5, atol=1e-6)
    _close(runs[0], _train(False, sizes=(20, 96, 64, 5), epochs=3)[0])


def test_nothing_is_split_on_two_threads():
    """On 2 threads (2 vCPUs, the machine measured) one thread did best: no product split."""
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        threads = plan_module.BlasThreads()
    if not threads.available or threads.most < 2:
        pytest.skip("needs a BLAS whose threads threadpoolctl can set")
    assert not threads.splitting and threads.for_product(128, 784, 256) == 1
    net = ds.nn.MLP([784, 256, 128, 10], activation="relu", seed=0)
    step = compile_step(net, ds.nn.get_loss("cross_entropy"),
                        ds.optim.SGD(net.parameters(), lr=0.1))
    step.threads = threads
    buf = step._buffers_for(128)
    assert not any(buf.forward_split + buf.grad_split + buf.delta_split)
    assert buf.chooser is None


def test_thread_choice_follows_the_product_size(monkeypatch):
    monkeypatch.setattr(plan_module, "SPLIT_MIN_THREADS", 2)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        threads = plan_module.BlasThreads()
    if not threads.available or threads.most < 2:
        pytest.skip("needs a BLAS whose threads threadpoolctl can set")
    assert threads.for_product(128, 784, 256) == 2  # 51 MFLOP
    assert threads.for_product(32, 784, 256) == 1  # 12.8 MFLOP: faster whole (benchmarks)
    assert threads.for_product(64, 784, 256) == 2  # 25.7 MFLOP, every side >= 32
    assert threads.for_product(16, 2000, 2000) == 1  # one side of 16
    assert threads.for_product(32, 13, 64) == 1
    # which products are split is the shape's business alone, not the thread count's
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        one = plan_module.BlasThreads()
    assert one.for_product(128, 784, 256) == 1 and plan_module.splits(128, 784, 256)
    # one count per batch size, for the whole step
    net = ds.nn.MLP([784, 256, 128, 10], activation="relu", seed=0)
    step = compile_step(net, ds.nn.get_loss("cross_entropy"),
                        ds.optim.SGD(net.parameters(), lr=0.1))
    step.threads = threads
    assert step._buffers_for(128).threads == 2
    assert step._buffers_for(16).threads == 1


def test_fit_gives_the_blas_thread_count_back(monkeypatch):
    monkeypatch.setattr(plan_module, "SPLIT_MIN_THREADS", 2)
    monkeypatch.setattr(plan_module, "PARALLEL_MIN_FLOPS", 1e5)  # some products on 2
    monkeypatch.setattr(plan_module, "PARALLEL_MIN_SIDE", 32)

    def blas_threads():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    for limit in (2, 1):
        with threadpoolctl.threadpool_limits(limit, user_api="blas"):
            before = blas_threads()
            _train(True, sizes=(20, 96, 64, 5), batch_size=64)
            assert blas_threads() == before


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "momentum"])
def test_grad_after_fit_is_the_last_batch_gradient(optimizer):
    fast, _ = _train(True, optimizer)
    slow, _ = _train(False, optimizer)
    _close(fast, slow)
    for p, q in zip(fast.parameters(), slow.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-3, atol=1e-5)


class _Recorder(Callback):
    """Copies the weights and gradients after every batch, as a diagnostic would."""

    def __init__(self):
        self.weights, self.grads = [], []

    def on_batch_end(self, batch, logs):
        self.weights.append([p.data.copy() for p in self.run.model.parameters()])
        self.grads.append([p.grad.copy() for p in self.run.model.parameters()])


def test_a_batch_callback_sees_the_weights_of_every_step():
    fast, slow = _Recorder(), _Recorder()
    _train(True, callbacks=[fast])
    _train(False, callbacks=[slow])
    assert len(fast.weights) == len(slow.weights) == 14  # 2 epochs of ceil(200 / 32)
    for a, b in zip(fast.weights + fast.grads, slow.weights + slow.grads, strict=True):
        for x, z in zip(a, b, strict=True):
            np.testing.assert_allclose(x, z, rtol=1e-3, atol=1e-5)


def test_a_step_called_on_its_own_updates_the_parameters():
    X, y = _data()
    nets = [ds.nn.MLP([20, 16, 5], activation="tanh", seed=1) for _ in range(2)]
    opts = [ds.optim.SGD(n.parameters(), lr=0.1) for n in nets]
    step = compile_step(nets[0], ds.nn.get_loss("cross_entropy"), opts[0])
    for start in (0, 32):
        step(X[start:start + 32], y[start:start + 32])
        opts[1].zero_grad()
        loss = ds.nn.get_loss("cross_entropy")(nets[1](Tensor(X[start:start + 32])),
                                               y[start:start + 32])
        loss.backward()
        opts[1].step()
        _close(nets[0], nets[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("compiled", [True, False])
def test_divergence_leaves_the_last_good_weights_in_the_model(compiled):
    """Epoch 1 trains well; then the rate jumps and epoch 2 blows up. The model holds the
    weights of the end of epoch 1: not the starting ones, not the plan's blown-up copy."""
    X, y = _data()

    class RateJump(Callback):
        def on_epoch_end(self, epoch, logs):
            self.kept = [p.data.copy() for p in self.run.model.parameters()]
            self.run.optimizer.lr = 1e6

    jump = RateJump()
    net = ds.nn.MLP([20, 64, 5], activation="relu", seed=0)
    before = [p.data.copy() for p in net.parameters()]
    with pytest.raises(DivergenceError, match=r"epoch 2, batch \d+.*end of epoch 1"):
        ds.fit(net, X * 1e3, y, loss="cross_entropy", optimizer="sgd", lr=1e-6, epochs=3,
               batch_size=32, seed=0, verbose=False, callbacks=[jump], compiled=compiled)
    for p, kept in zip(net.parameters(), jump.kept, strict=True):
        np.testing.assert_array_equal(p.data, kept)
    assert any(not np.array_equal(k, b) for k, b in zip(jump.kept, before, strict=True))


def test_blas_threads_without_threadpoolctl_are_a_no_op(monkeypatch):
    monkeypatch.setattr(plan_module.BlasThreads, "_controllers", [])
    threads = plan_module.BlasThreads()
    assert not threads.available and threads.most == 1
    threads.use(2)
    threads.restore()
    X, y = _data()
    net = ds.nn.MLP([20, 16, 5], seed=0)
    ds.fit(net, X, y, loss="cross_entropy", epochs=1, verbose=False)
    assert predict_array(net, np.tile(X, (100, 1))).shape == (20_000, 5)


# ---- the compiled forward pass of predict_array ---------------------------------------------

def _engine_predict(net, X):
    with no_grad():
        return net(Tensor(X)).data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation,output", [("tanh", None), ("relu", "softmax"),
                                               ("sigmoid", "sigmoid"),
                                               ("leaky_relu", "tanh"),
                                               ("scaled_tanh", None)])
@pytest.mark.parametrize("rows", [7, 40_000])  # one chunk; several chunks on several threads
def test_predict_array_matches_the_engine(dtype, activation, output, rows):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, 13)).astype(dtype)
    net = ds.nn.MLP([13, 64, 64, 3], activation=activation, output_activation=output, seed=2,
                    dtype=dtype)
    assert plan_module.compile_forward(net) is not None
    got = predict_array(net, X)
    assert got.dtype == dtype and got.shape == (rows, 3)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, _engine_predict(net, X), rtol=rtol, atol=rtol)


def test_predict_array_falls_back_for_other_models():
    net = ds.nn.Sequential(ds.nn.Linear(4, 3, bias=False, seed=0), ds.nn.Activation("tanh"))
    assert plan_module.compile_forward(net) is None
    X = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    np.testing.assert_allclose(predict_array(net, X), _engine_predict(net, X), rtol=1e-6)
    hidden_softmax = ds.nn.Sequential(ds.nn.Linear(4, 3, seed=0), ds.nn.Activation("softmax"),
                                      ds.nn.Linear(3, 2, seed=0))
    assert plan_module.compile_forward(hidden_softmax) is None
