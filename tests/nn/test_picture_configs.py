"""Picture layers as data: configs rebuild the same network, buffers travel with the weights,
train()/eval() reach every layer, and bad or absurd configs are refused by name."""

from __future__ import annotations

import numpy as np
import pytest

import descent as ds
from descent import nn

NETS = [
    nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1, seed=0),
                  nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.3),
                  nn.GlobalAvgPool(), nn.Linear(4, 2, seed=0)),
    nn.Sequential(nn.Conv1d(2, 3, 5, padding="same", dilation=2, bias=False, seed=0),
                  nn.BatchNorm1d(3, momentum=0.2, eps=1e-3, affine=False), nn.AvgPool1d(2),
                  nn.MaxPool1d(3, stride=1, padding=1), nn.Flatten()),
    nn.ConvNet((1, 28, 28), 10, seed=0),
    nn.ConvNet((3, 12, 10), 4, channels=(8, 8, 4), kernel_size=3, hidden=(16,),
               batch_norm=True, dropout=0.25, seed=0, dtype=np.float64),
]


@pytest.mark.parametrize("net", NETS, ids=["conv2d-stack", "conv1d-stack", "lenet",
                                           "convnet-bn-dropout"])
def test_config_rebuilds_the_same_network_and_names_every_tensor(net):
    rebuilt = nn.from_config(net.config())
    assert rebuilt.config() == net.config()
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    assert nn.parameter_shapes(net.config()) == shapes
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes


def test_buffers_are_saved_state_but_not_parameters():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, seed=0), nn.BatchNorm2d(2))
    assert [n for n, _ in net.named_buffers()] == ["1.running_mean", "1.running_var"]
    assert "1.running_mean" not in dict(net.named_parameters())
    state = net.state_dict()
    state["1.running_var"] = np.full(2, 4.0, np.float32)
    net.load_state_dict(state)
    assert net[1].running_var.tolist() == [4.0, 4.0]
    state["1.running_var"][...] = 9  # state_dict hands out copies
    assert net[1].running_var.tolist() == [4.0, 4.0]


def test_train_and_eval_reach_every_layer():
    net = nn.ConvNet((1, 8, 8), 2, batch_norm=True, dropout=0.5, seed=0)
    assert net.eval() is net and not any(m.training for _, m in net.named_modules())
    assert all(m.training for _, m in net.train().named_modules())


def test_convnet_is_lenet5_on_28x28_and_sizes_itself_from_the_picture():
    lenet = nn.ConvNet((1, 28, 28), 10, seed=0)
    kinds = [type(m).__name__ for m in lenet]
    assert kinds == ["Conv2d", "Activation", "MaxPool2d", "Conv2d", "Activation", "MaxPool2d",
                     "Flatten", "Linear", "Activation", "Linear", "Activation", "Linear"]
    assert [lenet[0].weight.shape, lenet[3].weight.shape] == [(6, 1, 5, 5), (16, 6, 5, 5)]
    assert [lenet[i].weight.shape for i in (7, 9, 11)] == [(784, 120), (120, 84), (84, 10)]
    tiny = nn.ConvNet((1, 3, 2), 2, channels=(2, 2, 2), seed=0)  # pools only while >= 2 px
    assert sum(isinstance(m, nn.MaxPool2d) for m in tiny) == 1
    assert tiny(ds.tensor(np.zeros((1, 1, 3, 2), np.float32))).shape == (1, 2)


def test_same_seed_same_convnet():
    a, b, c = (nn.ConvNet((1, 8, 8), 3, seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters(),
                                                              strict=True))
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)


def test_conv_initializer_uses_the_fan_in_of_a_whole_window():
    w = nn.Conv2d(16, 64, 5, init="he", seed=0).weight.data
    fan_in = 16 * 5 * 5
    assert abs(w.std() / np.sqrt(2 / fan_in) - 1) < 0.03  # 25,600 draws


@pytest.mark.parametrize("config,message", [
    ({"type": "Conv2d", "in_channels": 3, "out_channels": 10**7, "kernel_size": 3},
     "Conv2d out_channels 10000000 is larger than 65536"),
    ({"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": [3, 10**6]},
     "Conv2d kernel_size .* is larger than 1024"),
    ({"type": "Conv1d", "in_channels": 3, "out_channels": 4, "kernel_size": 3,
      "padding": 10**9}, "Conv1d padding 1000000000 is larger than 1024"),
    ({"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 0},
     "Conv2d kernel_size must be an integer >= 1"),
    ({"type": "Conv2d", "in_channels": 3, "out_channels": 4}, "Conv2d kernel_size must be"),
    ({"type": "MaxPool2d", "kernel_size": 2**40}, "MaxPool2d kernel_size .* larger than 1024"),
    ({"type": "AvgPool1d", "kernel_size": 2, "stride": [1, 2, 3]}, "AvgPool1d stride must be"),
    ({"type": "MaxPool2d", "kernel_size": 2, "padding": 2}, "padding is more than half"),
    ({"type": "BatchNorm2d", "num_features": 10**8}, "BatchNorm2d num_features 100000000"),
    ({"type": "BatchNorm1d", "num_features": 3, "eps": -1}, "BatchNorm1d eps must be"),
    ({"type": "Dropout", "p": 2}, r"Dropout p must be a probability in \[0, 1\]"),
    ({"type": "ConvNet", "input_shape": [1, 10**9, 28], "classes": 2}, "is too large"),
    ({"type": "ConvNet", "input_shape": [1, 28, 28], "classes": 2, "channels": [4, 10**6]},
     "channel count 1000000 is larger than 65536"),
    ({"type": "ConvNet", "input_shape": [28, 28], "classes": 2},
     r"input_shape must be \(channels, height, width\)"),
    ({"type": "ConvNet", "input_shape": [1, 8, 8], "classes": 2, "kernel_size": 5000},
     "kernel_size 5000 is larger than 1024"),
    ({"type": "Conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 3,
      "dtype": "float16"}, "dtype must be float32 or float64"),
])
def test_bad_and_absurd_configs_are_refused_by_name(config, message):
    with pytest.raises(ValueError, match=message):
        nn.parameter_shapes(config)
    with pytest.raises(ValueError, match=message):
        nn.from_config(config)


def test_constructors_validate_their_arguments():
    with pytest.raises(ValueError, match="Conv2d padding='same' needs stride 1"):
        nn.Conv2d(1, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Conv1d kernel_size must be an integer or a tuple of 1"):
        nn.Conv1d(1, 2, (3, 3))
    with pytest.raises(ValueError, match="MaxPool2d padding 3 is more than half"):
        nn.MaxPool2d(2, padding=3)
    with pytest.raises(ValueError, match="BatchNorm2d momentum must be in"):
        nn.BatchNorm2d(3, momentum=2)
