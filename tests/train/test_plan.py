"""The compiled MLP step must give the engine's weights after many steps.

Both paths start from the same weights and see the same batches; in float64 they agree
to 1e-9 relative after 30 steps, in float32 to float32 rounding (rtol 2e-4 after 30
steps, where rounding differences compound through the updates).
"""

import itertools

import numpy as np
import pytest

import descent as ds
from descent.train import compile_step

LOSS_OUT = [("mse", None), ("quadratic", None), ("quadratic", "sigmoid"), ("mse", "tanh"),
            ("cross_entropy", None), ("binary_cross_entropy_with_logits", None)]
ACTIVATIONS = ["tanh", "relu", "sigmoid", "scaled_tanh", "leaky_relu"]


def _targets(loss: str, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    if loss == "cross_entropy":
        return rng.integers(0, k, n)
    if loss.startswith("binary"):
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.standard_normal((n, k))


def _run(compiled: bool, dtype, activation, loss, out_act, optimizer="sgd"):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6)).astype(dtype)
    y = _targets(loss, rng, 50, 3)
    net = ds.nn.MLP([6, 8, 5, 3], activation=activation, output_activation=out_act, seed=1,
                    dtype=dtype)
    h = ds.fit(net, X, y, loss=loss, optimizer=optimizer, lr=0.05, epochs=3, batch_size=16,
               seed=2, verbose=False, compiled=compiled)
    return net.state_dict(), h["loss"]


@pytest.mark.parametrize("activation,loss_out", list(itertools.product(ACTIVATIONS, LOSS_OUT)))
def test_compiled_step_matches_engine_float64(activation, loss_out):
    loss, out_act = loss_out
    fast, fast_loss = _run(True, np.float64, activation, loss, out_act)
    slow, slow_loss = _run(False, np.float64, activation, loss, out_act)
    np.testing.assert_allclose(fast_loss, slow_loss, rtol=1e-9)
    for name in slow:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
def test_compiled_step_matches_engine_float32(optimizer):
    fast, _ = _run(True, np.float32, "tanh", "cross_entropy", None, optimizer)
    slow, _ = _run(False, np.float32, "tanh", "cross_entropy", None, optimizer)
    for name in slow:
        assert fast[name].dtype == np.float32
        np.testing.assert_allclose(fast[name], slow[name], rtol=2e-4, atol=2e-5, err_msg=name)


def test_plan_covers_mlps_and_declines_the_rest():
    opt = lambda net: ds.optim.SGD(net.parameters(), lr=0.1)  # noqa: E731
    mlp = ds.nn.MLP([3, 4, 2], seed=0)
    assert compile_step(mlp, ds.nn.get_loss("mse"), opt(mlp)) is not None
    softmax_out = ds.nn.MLP([3, 4, 2], output_activation="softmax", seed=0)
    assert compile_step(softmax_out, ds.nn.get_loss("mse"), opt(softmax_out)) is None
    assert compile_step(mlp, ds.nn.get_loss("mae"), opt(mlp)) is None
    no_bias = ds.nn.Sequential(ds.nn.Linear(3, 2, bias=False))
    assert compile_step(no_bias, ds.nn.get_loss("mse"), opt(no_bias)) is None
