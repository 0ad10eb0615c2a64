"""Linear collapse: a stack of linear layers is exactly one linear layer; tanh breaks that."""

from __future__ import annotations

import json

import numpy as np
import pytest

import descent as ds
from descent.explain.collapse import best_linear_fit, collapse_linear, linear_collapse_demo


def _predict(model, X):
    with ds.no_grad():
        return model(ds.tensor(X)).data


def test_collapsed_layer_predicts_what_the_stack_predicts():
    net = ds.nn.MLP([3, 5, 4, 2], activation="identity", seed=0, dtype=np.float64)
    for p in net.parameters():
        if p.ndim == 1:
            p.data[...] = np.random.default_rng(1).normal(size=p.shape)
    X = np.random.default_rng(2).normal(size=(50, 3))
    W, b = collapse_linear(net)
    assert W.shape == (3, 2) and b.shape == (2,)
    np.testing.assert_allclose(X @ W + b, _predict(net, X), rtol=1e-12, atol=1e-12)
    W1, W2, W3 = (net[i].weight.data for i in range(3))
    b1, b2, b3 = (net[i].bias.data for i in range(3))
    np.testing.assert_allclose(W, W1 @ W2 @ W3, rtol=1e-13)
    np.testing.assert_allclose(b, (b1 @ W2 + b2) @ W3 + b3, rtol=1e-13)
    # column-vector notation (y = W x, the seeds' W_o W_i): the output matrix on the left
    np.testing.assert_allclose(W.T, W3.T @ W2.T @ W1.T, rtol=1e-13)


def test_identity_activations_and_missing_biases_collapse_too():
    net = ds.nn.Sequential(ds.nn.Linear(2, 3, bias=False, seed=0, dtype=np.float64),
                           ds.nn.Identity(),
                           ds.nn.Linear(3, 1, seed=1, dtype=np.float64))
    net[2].bias.data[...] = 0.75
    X = np.random.default_rng(0).normal(size=(10, 2))
    W, b = collapse_linear(net)
    np.testing.assert_allclose(X @ W + b, _predict(net, X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b, [0.75], rtol=0)


def test_a_nonlinear_activation_is_refused_naming_the_layer():
    net = ds.nn.MLP([3, 4, 4, 1], activation="tanh", seed=0)
    with pytest.raises(ValueError, match=r"Linear layer 1 \(0\.weight\).*'tanh'"):
        collapse_linear(net)
    relu_last = ds.nn.Sequential(ds.nn.Linear(2, 2), ds.nn.Linear(2, 2), ds.nn.ReLU())
    with pytest.raises(ValueError, match=r"Linear layer 2 \(1\.weight\).*'relu'"):
        collapse_linear(relu_last)


def test_best_linear_fit_recovers_a_linear_map():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    W_true, b_true = rng.normal(size=(3, 2)), rng.normal(size=2)
    W, b, rms = best_linear_fit(X, X @ W_true + b_true)
    np.testing.assert_allclose(W, W_true, rtol=1e-10)
    np.testing.assert_allclose(b, b_true, rtol=1e-10)
    assert rms < 1e-12
    *_, noisy = best_linear_fit(X, X @ W_true + b_true + 0.1 * rng.normal(size=(40, 2)))
    assert 0.05 < noisy < 0.15  # the noise it cannot fit, of RMS ~0.1 minus 4 fitted dofs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_demo_linear_matches_and_tanh_cannot_be_matched(seed):
    demo = linear_collapse_demo(seed)
    assert demo.linear_max_abs_diff < 1e-12
    assert demo.linear_fit_rms < 1e-12
    assert demo.nonlinear_relative_residual > 0.2  # observed 0.41-0.67 for seeds 0-4
    data = json.loads(json.dumps(demo.to_dict()))
    assert data["nonlinear_fit_rms"] == demo.nonlinear_fit_rms
    text = str(demo)
    assert "no single linear layer" in text and f"{demo.nonlinear_fit_rms:.3g}" in text


def test_demo_is_reproducible_and_depends_on_the_seed():
    assert linear_collapse_demo(7).to_dict() == linear_collapse_demo(7).to_dict()
    assert linear_collapse_demo(7).nonlinear_fit_rms != linear_collapse_demo(8).nonlinear_fit_rms
