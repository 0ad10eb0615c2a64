"""Diagnostics: gradient norms, update ratios and saturation, per layer and epoch."""

from __future__ import annotations

import json

import numpy as np
import pytest

import descent as ds
from descent.explain.diagnostics import Diagnostics, saturated_fraction
from descent.train import fit

rng = np.random.default_rng(0)
X = rng.normal(size=(256, 4))
Y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]


def _train_deep(activation, init, epochs=3, **kwargs):
    net = ds.nn.MLP([4] + [16] * 7 + [1], activation=activation, init=init, seed=0)
    diag = Diagnostics(probe=X[:128])
    fit(net, X, Y, loss="quadratic", optimizer="sgd", lr=0.1, epochs=epochs, batch_size=32,
        seed=0, verbose=False, callbacks=[diag], **kwargs)
    return diag


def test_deep_sigmoid_gradients_vanish_and_tanh_relu_do_not():
    sigmoid = _train_deep("sigmoid", "glorot")
    tanh = _train_deep("tanh", "lecun")
    relu = _train_deep("relu", "he")
    assert list(sigmoid.grad_norm) == [f"W{l}" for l in range(1, 9)]
    # 8 sigmoid layers: σ' <= 1/4 per layer, so the input side gets a tiny fraction
    # (observed ~1e-4); tanh with LeCun and relu with He keep it within a few x (~0.8)
    assert sigmoid.first_to_last_ratio() < 1e-3
    assert tanh.first_to_last_ratio() > 0.05 and relu.first_to_last_ratio() > 0.05
    assert tanh.first_to_last_ratio() > 100 * sigmoid.first_to_last_ratio()
    norms = [sigmoid.grad_norm[f"W{l}"][-1] for l in range(1, 9)]
    assert all(a < b for a, b in zip(norms, norms[1:], strict=False))  # shrinking toward input


def _manual_epochs(net, diag, lr, epochs, batches):
    """A tiny training loop calling the hooks as fit does; returns per-step grads/weights."""
    opt = ds.optim.SGD(net.parameters(), lr=lr)
    seen = []
    for epoch in range(epochs):
        diag.on_epoch_begin(epoch, {})
        for b, idx in enumerate(batches):
            diag.on_batch_begin(b, {})
            before = [p.data.copy() for p in net.parameters()]
            opt.zero_grad()
            C = ds.nn.QuadraticCost()(net(ds.tensor(X[idx])), Y[idx])
            C.backward()
            opt.step()
            seen.append(([p.grad.copy() for p in net.parameters()], before))
            diag.on_batch_end(b, {"loss": float(C.data)})
        diag.on_epoch_end(epoch, {})
    return seen


def test_records_equal_norms_computed_by_hand():
    net = ds.nn.MLP([4, 6, 1], activation="tanh", seed=1, dtype=np.float64)
    diag = Diagnostics(model=net)
    start = net[0].weight.data.copy()
    batches = [np.arange(0, 32), np.arange(32, 64)]
    seen = _manual_epochs(net, diag, lr=0.05, epochs=2, batches=batches)
    # parameter order: 0.weight, 0.bias, 2.weight, 2.bias
    for epoch in range(2):
        steps = seen[2 * epoch: 2 * epoch + 2]
        for key, k in (("W1", 0), ("W2", 2)):
            grad = np.mean([np.linalg.norm(g[k]) for g, _ in steps])
            ratio = np.mean([0.05 * np.linalg.norm(g[k]) / np.linalg.norm(w[k])
                             for g, w in steps])  # SGD: ΔW = −lr·g
            assert diag.grad_norm[key][epoch] == pytest.approx(grad, rel=1e-12)
            assert diag.update_ratio[key][epoch] == pytest.approx(ratio, rel=1e-9)
    total = np.linalg.norm(net[0].weight.data - seen[2][1][0]) / np.linalg.norm(seen[2][1][0])
    assert diag.epoch_update_ratio["W1"][1] == pytest.approx(total, rel=1e-12)
    first = np.linalg.norm(seen[2][1][0] - start) / np.linalg.norm(start)
    assert diag.epoch_update_ratio["W1"][0] == pytest.approx(first, rel=1e-12)
    assert diag.epochs == [0, 1] and diag.saturation == {}  # no probe, no saturation


def test_fit_compiled_and_engine_paths_give_the_same_records():
    records = []
    for compiled in (True, False):
        net = ds.nn.MLP([4, 8, 8, 1], activation="sigmoid", seed=2, dtype=np.float64)
        diag = Diagnostics(probe=X[:64])
        fit(net, X, Y, loss="quadratic", optimizer="sgd", lr=0.1, epochs=2, batch_size=64,
            seed=0, verbose=False, callbacks=[diag], compiled=compiled)
        records.append(diag.to_dict())
    for key in ("grad_norm", "update_ratio", "epoch_update_ratio", "saturation"):
        for layer, values in records[0][key].items():
            np.testing.assert_allclose(values, records[1][key][layer], rtol=1e-9, atol=1e-15,
                                       err_msg=f"{key}[{layer}]")
    assert all(v > 0 for values in records[0]["grad_norm"].values() for v in values)


def _probe_activations(net, probe):
    a = probe
    out = []
    for layer in net:
        a = layer(ds.tensor(a)).data
        if isinstance(layer, ds.nn.Activation):
            out.append(a)
    return out


@pytest.mark.parametrize("activation,flat", [
    ("sigmoid", lambda a: (a < 0.01) | (a > 0.99)),
    ("tanh", lambda a: np.abs(a) > 0.99),
    ("scaled_tanh", lambda a: np.abs(a) > 1.7159 * 0.99),
])
def test_saturation_is_the_flat_fraction_of_the_probe(activation, flat):
    net = ds.nn.MLP([4, 10, 10, 1], activation=activation, seed=3, dtype=np.float64)
    for layer in net:
        if isinstance(layer, ds.nn.Linear):
            layer.weight.data *= 20.0  # big weights push units into their flat tails
    diag = Diagnostics(probe=X[:100], model=net)
    diag.on_epoch_begin(0)
    diag.on_epoch_end(0)
    acts = _probe_activations(net, X[:100])
    assert list(diag.saturation) == ["a1", "a2"]
    for key, a in zip(diag.saturation, acts, strict=False):
        assert diag.saturation[key] == [pytest.approx(flat(a).mean(), abs=0)]
    assert diag.saturation["a1"][0] > 0.5
    calm = ds.nn.MLP([4, 10, 1], activation=activation, seed=3, dtype=np.float64)
    quiet = Diagnostics(probe=X[:100] * 0.1, model=calm)
    quiet.on_epoch_end(0)
    assert quiet.saturation["a1"] == [0.0]


def test_dead_relu_units_are_counted():
    net = ds.nn.MLP([4, 10, 1], activation="relu", seed=4, dtype=np.float64)
    net[0].bias.data[:5] = -100.0  # these five units never fire
    diag = Diagnostics(probe=X[:50], model=net)
    diag.on_epoch_end(0)
    assert diag.dead == {"a1": [0.5]}
    assert saturated_fraction("relu", np.ones(3)) is None


def test_models_that_are_not_plain_stacks_are_watched_by_parameter_name():
    class Twin(ds.nn.Module):
        def __init__(self):
            super().__init__()
            self.left = ds.nn.Linear(4, 1, seed=0, dtype=np.float64)
            self.right = ds.nn.Linear(4, 1, seed=1, dtype=np.float64)

        def forward(self, x):
            return self.left(x) * self.right(x)

    net = Twin()
    diag = Diagnostics(probe=X[:10], model=net)
    _manual_epochs(net, diag, lr=0.01, epochs=1, batches=[np.arange(16)])
    assert sorted(diag.grad_norm) == ["left.weight", "right.weight"]
    assert diag.saturation == {} and all(v[0] > 0 for v in diag.grad_norm.values())


def test_plain_data_and_bad_arguments():
    diag = _train_deep("tanh", "lecun", epochs=2)
    data = json.loads(json.dumps(diag.to_dict()))
    assert data["epochs"] == [0, 1] and data["activations"]["a1"] == "tanh"
    assert data["grad_norm"]["W8"] == diag.grad_norm["W8"]
    assert len(data["saturation"]) == 7  # seven tanh layers; the output is linear
    with pytest.raises(ValueError, match="margin"):
        Diagnostics(margin=0.7)
    with pytest.raises(RuntimeError, match="needs a model"):
        Diagnostics().on_epoch_begin(0)
    with pytest.raises(ValueError, match="no epochs"):
        Diagnostics(model=ds.nn.Linear(2, 1)).first_to_last_ratio()
