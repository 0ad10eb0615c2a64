"""Per-layer deltas: against the engine's gradients and PyTorch's (float64, rtol 1e-10).

The seeds' two-node network x → w1 → σ → w2 → σ → ŷ is checked number by number, including
δ1 = δ2·w2·σ'(z1): the error is handed from the output back toward the input.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import descent as ds
from descent.explain.deltas import (
    activation_derivative,
    backprop_deltas,
    dense_layers,
    engine_gradients,
    explain_two_node,
    two_node_network,
)
from descent.explain.tables import deltas_text, render_deltas, render_two_node, two_node_text
from tests.torch_reference import TORCH_ACTIVATIONS

RTOL, ATOL = 1e-10, 1e-14  # float64 against float64: a few ulps apart at most

def _torch_loss(name, y_hat, y):
    if name == "quadratic":
        return ((y_hat - y.reshape(y_hat.shape)) ** 2).sum(dim=1).mean() / 2
    if name == "mse":
        return F.mse_loss(y_hat, y.reshape(y_hat.shape))
    if name == "cross_entropy":
        return F.cross_entropy(y_hat, y.long())
    if name == "binary_cross_entropy_with_logits":
        return F.binary_cross_entropy_with_logits(y_hat, y.reshape(y_hat.shape))
    raise AssertionError(name)


def torch_backprop(model, X, y, loss="quadratic"):
    """PyTorch's C, its ∂C/∂z_l (the deltas) and ∂C/∂(each parameter), by our names."""
    a = torch.tensor(np.asarray(X, dtype=np.float64))
    params, zs = {}, []
    for layer in dense_layers(model):
        W = torch.tensor(layer.linear.weight.data.astype(np.float64), requires_grad=True)
        params[layer.weight_name] = W
        z = a @ W
        if layer.bias_name is not None:
            b = torch.tensor(layer.linear.bias.data.astype(np.float64), requires_grad=True)
            params[layer.bias_name] = b
            z = z + b
        z.retain_grad()
        zs.append(z)
        a = TORCH_ACTIVATIONS[layer.activation](z)
    C = _torch_loss(loss, a, torch.tensor(np.asarray(y, dtype=np.float64)))
    C.backward()
    return (C.item(), [z.grad.numpy() for z in zs],
            {name: p.grad.numpy() for name, p in params.items()})


def random_mlp(sizes, activation, output_activation=None, seed=0):
    net = ds.nn.MLP(sizes, activation=activation, output_activation=output_activation,
                    seed=seed, dtype=np.float64)
    for p in net.parameters():  # nonzero biases, so every ∂z/∂b path is exercised
        if p.ndim == 1:
            p.data[...] = np.random.default_rng(seed + 1).normal(0, 0.5, p.shape)
    return net


# ---- the seeds' two-node network ----------------------------------------------------------------

TWO_NODE_CASES = [
    # (x, y, w1, b1, w2, b2)
    (1.5, 1.0, 0.5, 0.1, -0.8, 0.2),
    (-2.0, 0.0, 1.3, -0.4, 2.1, -0.7),
    ([0.5, -1.0, 2.0], [1.0, 0.0, 1.0], -0.6, 0.3, 1.7, 0.05),  # a batch of N = 3
]


@pytest.mark.parametrize("x,y,w1,b1,w2,b2", TWO_NODE_CASES)
def test_two_node_every_number_matches_torch(x, y, w1, b1, w2, b2):
    e = explain_two_node(x, y, w1=w1, b1=b1, w2=w2, b2=b2)
    xt = torch.tensor(np.atleast_1d(x), dtype=torch.float64)
    yt = torch.tensor(np.atleast_1d(y), dtype=torch.float64)
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in dict(w1=w1, b1=b1, w2=w2, b2=b2).items()}
    z1 = p["w1"] * xt + p["b1"]
    a1 = torch.sigmoid(z1)
    z2 = p["w2"] * a1 + p["b2"]
    y_hat = torch.sigmoid(z2)
    y_hat.retain_grad(), z1.retain_grad(), z2.retain_grad()
    C = ((y_hat - yt) ** 2).sum() / (2 * len(xt))  # C = 1/(2N) Σ (ŷ − y)²
    C.backward()
    for ours, theirs in [(e.z1, z1), (e.a1, a1), (e.z2, z2), (e.y_hat, y_hat), (e.C, C),
                         (e.dC_dyhat, y_hat.grad), (e.delta2, z2.grad), (e.delta1, z1.grad),
                         (e.dC_dw1, p["w1"].grad), (e.dC_db1, p["b1"].grad),
                         (e.dC_dw2, p["w2"].grad), (e.dC_db2, p["b2"].grad)]:
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("x,y,w1,b1,w2,b2", TWO_NODE_CASES)
def test_two_node_deltas_travel_back_from_the_output(x, y, w1, b1, w2, b2):
    e = explain_two_node(x, y, w1=w1, b1=b1, w2=w2, b2=b2)
    # σ'(z) from the engine is σ(z)(1 − σ(z)) with the logistic σ(z) = 1/(1 + e^{−z})
    np.testing.assert_allclose(e.a1, 1 / (1 + np.exp(-e.z1)), rtol=1e-14)
    np.testing.assert_allclose(e.sigma_prime_z1, e.a1 * (1 - e.a1), rtol=1e-14)
    np.testing.assert_allclose(e.sigma_prime_z2, e.y_hat * (1 - e.y_hat), rtol=1e-14)
    # ∂C/∂ŷ = (ŷ − y)/N: the 1/2 of the quadratic cost cancels the square's 2
    np.testing.assert_allclose(e.dC_dyhat, (e.y_hat - e.y) / len(e.x), rtol=1e-14)
    np.testing.assert_allclose(e.delta2, e.dC_dyhat * e.sigma_prime_z2, rtol=1e-14)
    np.testing.assert_allclose(e.delta1, e.delta2 * w2 * e.sigma_prime_z1, rtol=1e-14)
    np.testing.assert_allclose(e.dC_dw2, np.sum(e.delta2 * e.a1), rtol=1e-14)
    np.testing.assert_allclose(e.dC_dw1, np.sum(e.delta1 * e.x), rtol=1e-14)
    np.testing.assert_allclose(e.dC_db1, np.sum(e.delta1), rtol=1e-14)


def test_two_node_network_is_the_seeds_network():
    net = two_node_network(w1=0.5, b1=0.1, w2=-0.8, b2=0.2)
    assert [l.activation for l in dense_layers(net)] == ["sigmoid", "sigmoid"]
    out = net(ds.tensor(np.array([[1.5]]))).data[0, 0]
    a1 = 1 / (1 + np.exp(-(0.5 * 1.5 + 0.1)))
    assert out == pytest.approx(1 / (1 + np.exp(-(-0.8 * a1 + 0.2))), rel=1e-14)


def test_two_node_plain_data_and_tables():
    e = explain_two_node(1.5, 1.0)
    data = json.loads(json.dumps(e.to_dict()))
    assert data["dC_dw1"] == pytest.approx(e.dC_dw1, rel=1e-15)
    assert isinstance(data["delta1"], float) and isinstance(data["x"], float)
    assert render_two_node(e).row_count == len(e.rows()) == 16
    text = two_node_text(e)
    assert "δ2 · w2 · σ'(z1)" in text and f"{e.dC_dw1:.8g}" in text
    batch = explain_two_node([1.0, 2.0], [0.0, 1.0]).to_dict()
    assert len(batch["delta1"]) == 2 and isinstance(batch["dC_dw1"], float)


def test_two_node_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="1-D arrays of one length"):
        explain_two_node([1.0, 2.0], [1.0])


# ---- any MLP -----------------------------------------------------------------------------------

MLP_CASES = [
    # (sizes, hidden, output activation, loss)
    ([3, 4, 1], "sigmoid", "sigmoid", "quadratic"),
    ([3, 5, 4, 2], "tanh", None, "quadratic"),
    ([2, 6, 6, 3], "relu", None, "mse"),
    ([4, 5, 3], "leaky_relu", None, "cross_entropy"),
    ([3, 4, 4, 2], "scaled_tanh", "softmax", "quadratic"),
    ([3, 4, 1], "tanh", None, "binary_cross_entropy_with_logits"),
    ([3, 4, 2], "identity", None, "quadratic"),
]


def _data(sizes, loss, n=7, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    if loss == "cross_entropy":
        return X, rng.integers(0, sizes[-1], n)
    if loss == "binary_cross_entropy_with_logits":
        return X, rng.integers(0, 2, (n, sizes[-1])).astype(float)
    return X, rng.normal(size=(n, sizes[-1]))


@pytest.mark.parametrize("sizes,hidden,out,loss", MLP_CASES,
                         ids=[f"{c[1]}-{c[3]}" for c in MLP_CASES])
def test_deltas_give_the_engines_and_torchs_gradients(sizes, hidden, out, loss):
    net = random_mlp(sizes, hidden, out)
    X, y = _data(sizes, loss)
    d = backprop_deltas(net, X, y, loss)
    C_engine, engine = engine_gradients(net, X, y, loss)
    C_torch, torch_deltas, theirs = torch_backprop(net, X, y, loss)
    assert d.cost == pytest.approx(C_engine, rel=1e-12) == pytest.approx(C_torch, rel=1e-12)
    ours = d.gradients()
    assert sorted(ours) == sorted(engine) == sorted(theirs)
    for name in ours:
        np.testing.assert_allclose(ours[name], engine[name], rtol=RTOL, atol=ATOL, err_msg=name)
        np.testing.assert_allclose(ours[name], theirs[name], rtol=RTOL, atol=ATOL, err_msg=name)
    for l, (delta, theirs_delta) in enumerate(zip(d.delta, torch_deltas, strict=True)):
        np.testing.assert_allclose(delta, theirs_delta, rtol=RTOL, atol=ATOL, err_msg=f"δ{l + 1}")


def test_deltas_obey_the_backward_recursion():
    net = random_mlp([3, 5, 4, 2], "tanh", "sigmoid")
    X, y = _data([3, 5, 4, 2], "quadratic")
    d = backprop_deltas(net, X, y)
    np.testing.assert_allclose(d.delta[-1], d.dC_dyhat * d.f_prime[-1], rtol=1e-14)
    for l in range(len(d.layers) - 1):  # δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ f'(z_l)
        np.testing.assert_allclose(d.delta[l], (d.delta[l + 1] @ d.weights[l + 1].T)
                                   * d.f_prime[l], rtol=1e-13)
        np.testing.assert_allclose(d.grad_W[l], d.a[l].T @ d.delta[l], rtol=1e-14)
    np.testing.assert_allclose(d.f_prime[-1], d.a[-1] * (1 - d.a[-1]), rtol=1e-14)  # σ' = a(1−a)
    np.testing.assert_allclose(d.f_prime[0], 1 - d.a[1] ** 2, rtol=1e-13)  # tanh' = 1 − a²


def test_deltas_are_the_engines_intermediate_gradients():
    """The engine keeps ∂C/∂(node) on every node; z_l is the node adding layer l's bias."""
    net = random_mlp([3, 4, 4, 1], "sigmoid", "sigmoid")
    X, y = _data([3, 4, 4, 1], "quadratic")
    C = ds.nn.QuadraticCost()(net(ds.tensor(X)), y)
    C.backward()
    biases = [layer.linear.bias for layer in dense_layers(net)]
    z_nodes = [next(t for t in ds.topological_order(C) if t.op == "add" and t.parents[1] is b)
               for b in biases]
    d = backprop_deltas(net, X, y)
    for l, node in enumerate(z_nodes):
        np.testing.assert_allclose(d.delta[l], node.grad, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(d.z[l], node.data, rtol=1e-15)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "scaled_tanh", "relu", "leaky_relu",
                                  "identity"])
def test_activation_derivative_comes_out_as_torchs(name):
    z = np.array([-3.0, -0.7, -0.01, 0.02, 0.4, 2.5])  # no kink at exactly 0
    zt = torch.tensor(z, requires_grad=True)
    TORCH_ACTIVATIONS[name](zt).sum().backward()
    np.testing.assert_allclose(activation_derivative(name, z), zt.grad.numpy(), rtol=1e-14)


def test_softmax_has_no_elementwise_derivative():
    with pytest.raises(ValueError, match="Jacobian"):
        activation_derivative("softmax", np.zeros(3))


def test_the_model_is_left_as_it_was():
    net = ds.nn.MLP([2, 3, 1], activation="sigmoid", seed=0)  # float32
    before = net.state_dict()
    d = backprop_deltas(net, np.ones((4, 2)), np.zeros(4))
    engine_gradients(net, np.ones((4, 2)), np.zeros(4))
    assert all(p.grad is None for p in net.parameters())
    for name, p in net.named_parameters():
        assert p.dtype == np.float32 and np.array_equal(p.data, before[name])
    assert d.delta[0].dtype == np.float64


@pytest.mark.parametrize("layers,message", [
    ([ds.nn.Tanh(), ds.nn.Linear(2, 1)], "before any Linear"),
    ([ds.nn.Linear(2, 3), ds.nn.Tanh(), ds.nn.Sigmoid(), ds.nn.Linear(3, 1)], "follows another"),
    ([ds.nn.Linear(2, 3), ds.nn.Module()], "neither Linear nor Activation"),
])
def test_dense_layers_names_the_layer_that_does_not_fit(layers, message):
    with pytest.raises(ValueError, match=message):
        dense_layers(ds.nn.Sequential(*layers))


def test_dense_layers_reads_nested_stacks_and_lone_layers():
    inner = ds.nn.Sequential(ds.nn.Linear(3, 2, bias=False), ds.nn.Sigmoid())
    layers = dense_layers(ds.nn.Sequential(ds.nn.Linear(2, 3), ds.nn.Tanh(), inner))
    assert [(l.number, l.activation, l.weight_name, l.bias_name) for l in layers] == [
        (1, "tanh", "0.weight", "0.bias"), (2, "sigmoid", "2.0.weight", None)]
    alone = dense_layers(ds.nn.Linear(2, 1))
    assert [(l.weight_name, l.bias_name) for l in alone] == [("weight", "bias")]


def test_deltas_table_and_plain_data():
    net = random_mlp([3, 4, 2], "tanh", None)
    X, y = _data([3, 4, 2], "quadratic")
    d = backprop_deltas(net, X, y)
    assert render_deltas(d).row_count == 2
    text = deltas_text(d).splitlines()
    assert text[1].split()[0] == "2" and text[2].split()[0] == "1"  # output layer first
    data = json.loads(json.dumps(d.to_dict()))
    np.testing.assert_allclose(data["layers"][0]["delta"], d.delta[0], rtol=1e-15)
    assert data["layers"][1]["activation"] == "identity"


def test_x_must_fit_the_first_layer():
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        backprop_deltas(random_mlp([3, 2], "tanh"), np.ones((4, 2)), np.zeros((4, 2)))
