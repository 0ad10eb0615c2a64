"""The numba path of fit (descent.train.jit) gives the engine's results.

Property tests over random networks (depth 1 to 4, widths 1 to 40 with layers narrower and
wider than their neighbours, every activation, every fused loss and output), float32 and
float64, batch sizes of 1, odd, and larger than the data, C-ordered, Fortran-ordered and
strided X, SGD (plain, momentum, Nesterov, weight decay), Adam and AdamW: the weights and
the losses after a few epochs match the engine's (`compiled=False`). Tolerances: float64
1e-9 relative (the kernel adds in another order than BLAS, nothing else). float32 follows
the rule of test_fastpath_properties.py for whole fits: 2e-3 of each entry plus 2e-3 of its
layer's largest weight, over at most 40 steps, with SGD and momentum only. Rounding
(~1e-6 a product; float32 tanh is a rational function within a few ulp) compounds
chaotically through the updates: a fixed 2e-4 was refuted by a width-1 network trained by
plain SGD for 76 batches of one row (4.6x over it, with the engine itself 4e-5 from the
float64 run). Adaptive rules divide by √v, which turns the rounding of a gradient near 0
into a step of ±lr; for them in float32 the bounded gradient and `step_flat` are the proof
(test_fastpath_properties.py). Speed is measured by bench/run.py, never asserted.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import descent as ds
from descent.errors import DivergenceError
from descent.train import halves, jit
from descent.train import jit_kernel as kernel
from descent.train import plan as plan_module

ACTIVATIONS = ["tanh", "relu", "sigmoid", "scaled_tanh", "leaky_relu"]
LOSS_OUT = [("mse", None), ("mse", "tanh"), ("quadratic", None), ("quadratic", "sigmoid"),
            ("cross_entropy", None), ("cross_entropy rows", None),
            ("binary_cross_entropy_with_logits", None)]
OPTIMIZERS = [
    lambda ps: ds.optim.SGD(ps, lr=0.05),
    lambda ps: ds.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=0.01),
    lambda ps: ds.optim.SGD(ps, lr=0.02, momentum=0.5, nesterov=True),
    lambda ps: ds.optim.Adam(ps, lr=0.01),
    lambda ps: ds.optim.Adam(ps, lr=0.01, weight_decay=0.1),
    lambda ps: ds.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
]
ADAPTIVE = OPTIMIZERS[3:]
TOL = {np.float32: dict(rtol=2e-3, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-12)}
#: float32 whole fits are compared over at most this many steps (see the module doc).
FLOAT32_STEPS = 40


def _targets(loss: str, rng: np.random.Generator, n: int, k: int, dtype) -> np.ndarray:
    if loss == "cross_entropy":
        return rng.integers(0, k, n)
    if loss == "cross_entropy rows":
        return np.eye(k, dtype=dtype)[rng.integers(0, k, n)]
    if loss.startswith("binary"):
        return rng.integers(0, 2, (n, k)).astype(dtype)
    return rng.standard_normal((n, k)).astype(dtype)


def _layout(X: np.ndarray, layout: str) -> np.ndarray:
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "strided":
        wide = np.zeros((X.shape[0], 2 * X.shape[1]), X.dtype)
        wide[:, ::2] = X
        return wide[:, ::2]
    return np.ascontiguousarray(X)


def _train(compiled, sizes, activation, loss, out_act, make_opt, dtype, n, batch_size,
           layout, epochs=2, seed=0, nudge=False):
    rng = np.random.default_rng(seed)
    X = _layout(rng.standard_normal((n, sizes[0])).astype(dtype), layout)
    y = _targets(loss, rng, n, sizes[-1], dtype)
    net = ds.nn.MLP(list(sizes), activation=activation, output_activation=out_act, seed=1,
                    dtype=dtype)
    if nudge:  # every starting weight one ulp up: how much does rounding alone move a run?
        for p in net.parameters():
            p.data[...] = np.nextafter(p.data, np.inf).astype(dtype)
    opt = make_opt(net.parameters())
    h = ds.fit(net, X, y, loss=loss.split()[0], optimizer=opt, epochs=epochs,
               batch_size=batch_size, seed=2, verbose=False, compiled=compiled)
    return net, h, opt


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 4))
    width = st.one_of(st.integers(1, 3), st.integers(4, 40))
    loss, out_act = draw(st.sampled_from(LOSS_OUT))
    sizes = [draw(width) for _ in range(depth + 1)]
    if loss.startswith("cross_entropy"):
        sizes[-1] = max(2, sizes[-1])
    return dict(
        sizes=sizes, activation=draw(st.sampled_from(ACTIVATIONS)), loss=loss,
        out_act=out_act, make_opt=draw(st.sampled_from(OPTIMIZERS)),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        n=draw(st.integers(1, 45)),
        batch_size=draw(st.sampled_from([1, 7, 16, 64])),
        layout=draw(st.sampled_from(["C", "F", "strided"])),
    )


@pytest.fixture(scope="module", autouse=True)
def _warm():
    assert jit.warm_up(np.float32) and jit.warm_up(np.float64)


def _float32_whole_fit_is_comparable(case) -> bool:
    steps = 2 * -(-case["n"] // case["batch_size"])
    return steps <= FLOAT32_STEPS and case["make_opt"] not in ADAPTIVE


def _close(a: np.ndarray, b: np.ndarray, tol: dict) -> bool:
    # plus tol of the layer's largest weight: a small entry carries the rounding of the
    # large ones it was computed from
    scale = tol["rtol"] * float(np.abs(b).max()) + tol["atol"]
    return bool(np.all(np.abs(a - b) <= tol["rtol"] * np.abs(b) + scale))


def _train_or_diverge(compiled, case, nudge=False):
    try:
        return _train(compiled, **case, nudge=nudge), False
    except DivergenceError:
        return (None, None, None), True


# Two cases found by the CI profile that the engine cannot decide against itself: weights
# grown to ~30 by one-row steps (scaled tanh), and a run on the edge of divergence.
@example(case=dict(sizes=[25, 30, 31], activation="scaled_tanh", loss="quadratic",
                   out_act=None, make_opt=OPTIMIZERS[0], dtype=np.float32, n=14, batch_size=1,
                   layout="C"))
@example(case=dict(sizes=[16, 1, 10], activation="relu", loss="quadratic", out_act=None,
                   make_opt=OPTIMIZERS[0], dtype=np.float32, n=11, batch_size=1, layout="C"))
# The refuting case of the module doc, now within the stated rule's reach (76 steps: out).
@example(case=dict(sizes=[1, 1, 39, 32], activation="tanh", loss="quadratic", out_act=None,
                   make_opt=OPTIMIZERS[0], dtype=np.float32, n=20, batch_size=1, layout="C"))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=networks())
def test_jit_matches_the_engine(case):
    if case["dtype"] == np.float32:
        assume(_float32_whole_fit_is_comparable(case))
    (net_j, h_j, opt_j), jit_diverged = _train_or_diverge("jit", case)
    (net_e, h_e, opt_e), diverged = _train_or_diverge(False, case)
    tol = TOL[case["dtype"]]
    # Near divergence (one-row steps, weights grown large) the dynamics amplify rounding:
    # the engine's own float32 run then ends past the tolerance from its float64 twin (0.49
    # in a weight of 126 in the first example above, where the kernel was 0.14 from it), and
    # one ulp more in every starting weight carries a float64 run over the edge. Such a case
    # cannot tell a bug from rounding and is set aside, as in test_fastpath_properties.py;
    # well-conditioned cases are compared.
    if case["dtype"] == np.float32:
        (net_t, _, _), twin_diverged = _train_or_diverge(False, {**case, "dtype": np.float64})
    else:
        (net_t, _, _), twin_diverged = _train_or_diverge(False, case, nudge=True)
    assume(twin_diverged == diverged)
    assume(diverged or all(_close(r.data, q.data, tol) for q, r in zip(
        net_t.parameters(), net_e.parameters(), strict=True)))
    assert jit_diverged == diverged  # both stop, or neither
    assume(not diverged)  # a run that blew up has nothing left to compare
    for (name, a), (_, b) in zip(net_j.named_parameters(), net_e.named_parameters(),
                                 strict=True):
        assert _close(a.data, b.data, tol), (name, a.data, b.data)
        assert a.data.dtype == case["dtype"]
    np.testing.assert_allclose(h_j["loss"], h_e["loss"], **tol)
    assert opt_j.step_count == opt_e.step_count
    np.testing.assert_array_equal(opt_j._t, opt_e._t)
    for a, b in zip(opt_j.state_arrays().values(), opt_e.state_arrays().values(),
                    strict=True):
        np.testing.assert_allclose(a, b, **tol)


@settings(max_examples=40, deadline=None)
@given(case=networks())
def test_jit_gradient_after_fit_is_the_last_batch_gradient(case):
    """`.grad` after fit reads as the last batch's gradient, as the plan leaves it."""
    case = {**case, "layout": "C"}
    net_j, _, _ = _train("jit", **case)
    net_p, _, _ = _train("numpy", **case)
    tol = TOL[case["dtype"]]
    for a, b in zip(net_j.parameters(), net_p.parameters(), strict=True):
        # Normwise: a gradient's small entries carry the rounding of its largest.
        scale = max(1.0, float(np.max(np.abs(b.grad))))
        np.testing.assert_allclose(a.grad, b.grad, rtol=tol["rtol"], atol=tol["atol"] * scale)


def _spy(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = kernel.train_batches

    def spy(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(kernel, "train_batches", spy)
    return calls


def test_the_kernel_runs_where_it_is_asked_and_supported(monkeypatch):
    calls = _spy(monkeypatch)
    args = ([5, 8, 1], "tanh", "mse", None, OPTIMIZERS[0], np.float32, 40, 8)
    _train("jit", *args, "C")
    assert calls
    calls.clear()
    _train("numpy", *args, "C")
    _train("jit", [5, 8, 1], "tanh", "mse", None,  # RMSProp: a rule the kernel lacks
           lambda ps: ds.optim.RMSProp(ps, lr=0.01), np.float32, 40, 8, "C")
    assert not calls


def test_auto_selection_small_warm_networks_only(monkeypatch):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 13)).astype(np.float32), np.zeros(64, np.float32)

    def plan_for(sizes):
        net = ds.nn.MLP(sizes, activation="tanh", seed=0, dtype=np.float32)
        opt = ds.optim.SGD(net.parameters(), lr=0.01)
        return plan_module.compile_step(net, ds.nn.get_loss("mse"), opt)

    small, big = plan_for([13, 64, 64, 1]), plan_for([13, 2048, 1024, 1])
    assert jit.for_fit(small, X, y, 32, 10, True) is not None  # loaded by the fixture
    # A big network: the plan's products are BLAS time anyway; with two threads allowed
    # its steps go to the two-core halves kernel (train/halves.py), else to the plan.
    epochs = jit.for_fit(big, X, y, 32, 10**6, True)
    two = big.threads.most >= halves.MIN_THREADS and halves.available()
    assert (epochs is not None and epochs.both >= 1) if two else epochs is None
    assert jit.for_fit(big, X, y, 32, 10, True, mode="jit") is not None
    assert jit.for_fit(small, X, y, 32, 10, True, mode="numpy") is None
    assert jit.for_fit(small, X, y.astype(np.float64), 32, 10, True) is None
    # A process that has not loaded the kernel: only fits long enough to pay for it.
    monkeypatch.setattr(jit._kernel, "warmed", set())
    monkeypatch.setattr(jit, "warm_up", lambda dtype: True)
    assert jit.for_fit(small, X, y, 32, 10, True) is None
    assert jit.for_fit(small, X, y, 32, jit.COLD_MIN_STEPS, True) is not None


def test_targets_of_the_wrong_width_get_the_plans_error(monkeypatch):
    """The kernel never reads past y: a y the network's outputs do not fit is left to the
    plan, which raises."""
    calls = _spy(monkeypatch)
    X = np.ones((40, 5), np.float32)
    errors = []
    for compiled in ("jit", "numpy"):
        net = ds.nn.MLP([5, 8, 1], seed=0, dtype=np.float32)
        with pytest.raises(ValueError) as err:
            ds.fit(net, X, np.ones((40, 3), np.float32), optimizer="sgd", lr=0.1, epochs=1,
                   verbose=False, compiled=compiled)
        errors.append(str(err.value))
    assert errors[0] == errors[1] and not calls


def test_descent_trains_without_numba(monkeypatch):
    """Without numba (the `jit` extra not installed) fit takes the NumPy plan."""
    monkeypatch.setattr(jit, "available", lambda: False)
    calls = _spy(monkeypatch)
    args = ([5, 8, 1], "tanh", "mse", None, OPTIMIZERS[0], np.float32, 40, 8, "C")
    net, h, _ = _train("jit", *args)
    ref, h_ref, _ = _train("numpy", *args)
    assert not calls
    np.testing.assert_array_equal(h["loss"], h_ref["loss"])


def test_divergence_stops_at_the_same_batch_as_the_plan():
    messages, weights = [], []
    for compiled in ("jit", "numpy"):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((200, 4)) * 1e3
        net = ds.nn.MLP([4, 16, 1], activation="relu", seed=0)
        with pytest.raises(DivergenceError) as err:
            ds.fit(net, X, X.sum(axis=1) ** 3, optimizer="sgd", lr=1.0, epochs=3,
                   batch_size=10, seed=0, verbose=False, compiled=compiled)
        messages.append(str(err.value))
        weights.append(net.state_dict())
    assert messages[0] == messages[1]
    assert "epoch 1, batch" in messages[0]
    for key, value in weights[1].items():
        both_finite = np.isfinite(value) & np.isfinite(weights[0][key])
        np.testing.assert_array_equal(np.isfinite(value), np.isfinite(weights[0][key]))
        np.testing.assert_allclose(weights[0][key][both_finite], value[both_finite],
                                   rtol=1e-6)


def test_runs_of_batches_cover_the_epoch(monkeypatch):
    """Kernel calls of a few batches each (as for a network with big products) train the
    same as one call per epoch, and the progress hooks still see every batch."""
    monkeypatch.setattr(jit, "CHUNK_WORK", 1)  # one batch per kernel call
    calls = _spy(monkeypatch)
    seen = []

    class Progress(ds.train.progress.ProgressLog):
        def on_batch_end(self, batch, logs):
            seen.append(batch)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3)).astype(np.float32)
    nets = []
    for cbs in ([Progress(1)], []):
        net = ds.nn.MLP([3, 4, 1], activation="tanh", seed=0, dtype=np.float32)
        ds.fit(net, X, X[:, 0], optimizer="sgd", lr=0.1, epochs=1, batch_size=8, seed=0,
               verbose=False, compiled="jit", callbacks=cbs)
        nets.append(net)
    assert seen == list(range(7)) and len(calls) >= 7
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_float32_tanh_is_within_a_few_ulp():
    """Eigen's rational tanh (XLA's too), over [-12, 12] and the special values."""
    x = np.concatenate([np.linspace(-12, 12, 200_001, dtype=np.float32),
                        np.float32([0, -0.0, 1e-30, 3e-4, 5e-4, np.inf, -np.inf])])
    z = x.reshape(1, -1).copy()
    kernel._activate(z, 1, z.shape[1], 1, True)
    exact = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(z[0] - exact) / ulp) <= 5  # measured: 4.4 ulp at most


@pytest.mark.parametrize("module", ["jit", "split"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"descent.train.{module}"))
    assert result.attempted and not result.failed
