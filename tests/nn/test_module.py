"""Module bookkeeping, layers, initializers and the config round trip."""

import numpy as np
import pytest

import descent as ds
from descent import nn


def test_named_parameters_in_registration_order():
    net = nn.MLP([3, 4, 2], activation="relu", seed=0)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [p.shape for p in net.parameters()] == [(3, 4), (4,), (4, 2), (2,)]


def test_nested_sequential_names():
    net = nn.Sequential(nn.Sequential(nn.Linear(2, 3, seed=0), nn.Tanh()), nn.Linear(3, 1, seed=1))
    assert [n for n, _ in net.named_parameters()] == ["0.0.weight", "0.0.bias", "1.weight",
                                                      "1.bias"]


def test_state_dict_is_a_copy_and_round_trips():
    a, b = nn.MLP([2, 3, 1], seed=0), nn.MLP([2, 3, 1], seed=1)
    state = a.state_dict()
    state["0.weight"][...] = 7  # editing the copy must not touch the model
    assert not np.all(a[0].weight.data == 7)
    b.load_state_dict(a.state_dict())
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert np.array_equal(p.data, q.data)


def test_load_state_dict_names_the_mismatch():
    net = nn.MLP([2, 3, 1], seed=0)
    state = net.state_dict()
    state["0.weight"] = np.zeros((5, 5), np.float32)
    with pytest.raises(ValueError, match=r"0.weight has shape \(5, 5\), the model needs \(2, 3\)"):
        net.load_state_dict(state)
    del state["0.weight"]
    with pytest.raises(ValueError, match=r"missing \['0.weight'\]"):
        net.load_state_dict(state)


def test_load_state_dict_keeps_array_identity():
    """Optimizers hold references to parameter arrays: loading must write in place."""
    net = nn.MLP([2, 3, 1], seed=0)
    before = [p.data for p in net.parameters()]
    net.load_state_dict(nn.MLP([2, 3, 1], seed=5).state_dict())
    assert all(p.data is a for p, a in zip(net.parameters(), before, strict=True))


def test_zero_grad_train_eval():
    net = nn.MLP([2, 3, 1], seed=0)
    net(ds.tensor(np.ones((4, 2), np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.eval()
    assert not any(m.training for _, m in net.named_modules())
    net.train()
    assert all(m.training for _, m in net.named_modules())


def test_repr_is_readable():
    text = repr(nn.MLP([2, 3, 1], activation="sigmoid", seed=0))
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in text
    assert "(1): Activation('sigmoid')" in text


@pytest.mark.parametrize("net", [
    nn.MLP([3, 4, 2], activation="tanh", output_activation="softmax", seed=0),
    nn.MLP([3, 2], activation="relu", seed=0, dtype=np.float64),
    nn.Sequential(nn.Linear(3, 4, init="he", seed=0), nn.ReLU(), nn.Linear(4, 1, bias=False)),
])
def test_config_rebuilds_the_same_architecture(net):
    rebuilt = nn.from_config(net.config())
    assert rebuilt.config() == net.config()
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == \
        {k: v.shape for k, v in net.state_dict().items()}
    assert nn.parameter_shapes(net.config()) == {k: v.shape for k, v in net.state_dict().items()}


@pytest.mark.parametrize("config,message", [
    ({"type": "LSTM"}, "unknown layer type 'LSTM'"),
    ({"type": "Linear", "in_features": 2}, "out_features"),
    ({"type": "MLP", "sizes": [2, -1], "activation": "tanh", "output_activation": None},
     "every MLP size must be a positive integer"),
    ({"type": "Activation", "name": "swish"}, "unknown activation 'swish'"),
    ([1, 2], "must be an object with a 'type'"),
])
def test_bad_configs_are_named(config, message):
    with pytest.raises(ValueError, match=message):
        nn.parameter_shapes(config)
    with pytest.raises(ValueError, match=message):
        nn.from_config(config)


def test_same_seed_same_weights_different_seed_different():
    a, b, c = (nn.MLP([5, 8, 1], seed=s) for s in (3, 3, 4))
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters(),
                                                              strict=True))
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)


@pytest.mark.parametrize("init,std", [
    ("lecun", lambda fi, fo: fi ** -0.5),
    ("he", lambda fi, fo: (2 / fi) ** 0.5),
    ("glorot", lambda fi, fo: (2 / (fi + fo)) ** 0.5),  # uniform(±sqrt(6/(fi+fo))) has this std
])
def test_initializer_spread(init, std):
    fan_in, fan_out = 400, 300
    w = nn.Linear(fan_in, fan_out, init=init, seed=0).weight.data
    assert abs(w.std() / std(fan_in, fan_out) - 1) < 0.02  # 120,000 draws: ~0.2% sampling error
    assert abs(w.mean()) < 0.01 * std(fan_in, fan_out) * 10


def test_default_init_follows_activation():
    assert nn.MLP([4, 4, 1], activation="relu", seed=0)[0].init == "he"
    assert nn.MLP([4, 4, 1], activation="tanh", seed=0)[0].init == "lecun"
    assert nn.MLP([4, 4, 1], activation="sigmoid", seed=0)[0].init == "glorot"


def test_reset_parameters_redraws_and_zeroes_bias():
    layer = nn.Linear(3, 2, seed=0)
    layer.bias.data[...] = 5
    old = layer.weight.data.copy()
    layer.reset_parameters(seed=1)
    assert not np.array_equal(old, layer.weight.data)
    assert np.all(layer.bias.data == 0)


def test_scaled_tanh_is_efficient_backprop_recipe():
    x = ds.tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
    y = nn.get_activation("scaled_tanh")(x)
    np.testing.assert_allclose(y.data, 1.7159 * np.tanh(2 / 3 * x.data), rtol=1e-15)
    np.testing.assert_allclose(y.data[[0, 2]], [-1, 1], atol=2e-4)  # f(±1) ≈ ±1


def test_parameter_requires_grad_and_float():
    p = nn.Parameter([1, 2, 3])
    assert p.requires_grad and p.dtype == np.float32


@pytest.mark.parametrize("bad", [[3], [3, 0, 1], [3, 2.5, 1]])
def test_mlp_sizes_validated(bad):
    with pytest.raises(ValueError):
        nn.MLP(bad)


def test_unknown_activation_lists_choices():
    with pytest.raises(ValueError, match="choose one of: identity, leaky_relu"):
        nn.MLP([2, 2], activation="swish")
