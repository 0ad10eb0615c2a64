"""Each picture layer against the PyTorch layer holding the same weights, in float64.

Output and the gradients of the input and of every parameter, for a random upstream
gradient, in training and evaluation mode (rtol 1e-10: float64 against float64, a few
ulps). BatchNorm's running statistics are followed over several training steps.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import descent as ds
from descent import nn

RTOL, ATOL = 1e-10, 1e-12


def _copy_weights(ours: nn.Module, theirs: torch.nn.Module) -> None:
    """PyTorch's parameters into ours (same layouts for convolutions and norms)."""
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()
             if k != "num_batches_tracked" and not k.endswith(".num_batches_tracked")}
    ours.load_state_dict(state)


def _compare(ours: nn.Module, theirs: torch.nn.Module, x: np.ndarray, seed: int = 0) -> None:
    """Forward and gradients (input and parameters) of ours and theirs on x."""
    xo = ds.tensor(x.copy(), requires_grad=True)
    out = ours(xo)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    ours.zero_grad()
    (out * g).sum().backward()

    xt = torch.tensor(x, requires_grad=True)
    theirs.zero_grad()
    out_t = theirs(xt)
    (out_t * torch.from_numpy(g)).sum().backward()

    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=RTOL, atol=ATOL,
                               err_msg="output")
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=RTOL, atol=ATOL,
                               err_msg="input gradient")
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, their_params[name].grad.numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=f"gradient of {name}")
    assert set(dict(ours.named_parameters())) == set(their_params)


def _x(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


CONVS = [
    (nn.Conv2d(3, 4, 3, dtype=np.float64), torch.nn.Conv2d(3, 4, 3), (2, 3, 7, 9)),
    (nn.Conv2d(2, 5, (2, 3), stride=(2, 1), padding=(1, 2), dilation=(1, 2), dtype=np.float64),
     torch.nn.Conv2d(2, 5, (2, 3), stride=(2, 1), padding=(1, 2), dilation=(1, 2)), (3, 2, 8, 7)),
    (nn.Conv2d(1, 6, 5, padding="same", bias=False, dtype=np.float64),
     torch.nn.Conv2d(1, 6, 5, padding="same", bias=False), (2, 1, 9, 9)),
    (nn.Conv1d(3, 2, 4, stride=2, padding=1, dtype=np.float64),
     torch.nn.Conv1d(3, 2, 4, stride=2, padding=1), (4, 3, 11)),
    (nn.Conv1d(1, 3, 3, padding="same", dilation=2, dtype=np.float64),
     torch.nn.Conv1d(1, 3, 3, padding="same", dilation=2), (2, 1, 10)),
]


@pytest.mark.parametrize("ours,theirs,shape", CONVS, ids=[repr(c[0]) for c in CONVS])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_convolution_layers_match_torch(ours, theirs, shape, mode):
    theirs = theirs.double()
    _copy_weights(ours, theirs)
    ours.train(mode == "train")
    theirs.train(mode == "train")
    _compare(ours, theirs, _x(*shape))


POOLS = [
    (nn.MaxPool2d(2), torch.nn.MaxPool2d(2), (2, 3, 8, 7)),
    (nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 1)),
     torch.nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 1)), (1, 2, 9, 6)),
    (nn.AvgPool2d(3, stride=2, padding=1), torch.nn.AvgPool2d(3, stride=2, padding=1),
     (2, 2, 7, 7)),
    (nn.MaxPool1d(3, stride=2), torch.nn.MaxPool1d(3, stride=2), (2, 3, 10)),
    (nn.AvgPool1d(2), torch.nn.AvgPool1d(2), (2, 3, 9)),
    (nn.Flatten(), torch.nn.Flatten(), (2, 3, 4, 5)),
    (nn.GlobalAvgPool(), torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()),
     (2, 3, 5, 4)),
    (nn.GlobalAvgPool(), torch.nn.Sequential(torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten()),
     (3, 2, 7)),
]


@pytest.mark.parametrize("ours,theirs,shape", POOLS, ids=[repr(p[0]) + str(p[2]) for p in POOLS])
def test_pooling_and_reshaping_layers_match_torch(ours, theirs, shape):
    _compare(ours, theirs, _x(*shape))


@pytest.mark.parametrize("ours,theirs,shape", [
    (nn.BatchNorm2d(3, dtype=np.float64), torch.nn.BatchNorm2d(3), (4, 3, 5, 6)),
    (nn.BatchNorm1d(4, dtype=np.float64), torch.nn.BatchNorm1d(4), (6, 4)),
    (nn.BatchNorm1d(2, momentum=0.3, eps=1e-3, dtype=np.float64),
     torch.nn.BatchNorm1d(2, momentum=0.3, eps=1e-3), (3, 2, 5)),
    (nn.BatchNorm2d(2, affine=False, dtype=np.float64), torch.nn.BatchNorm2d(2, affine=False),
     (2, 2, 3, 3)),
], ids=["2d", "1d-table", "1d-signal-momentum0.3", "2d-no-affine"])
def test_batch_norm_matches_torch_in_training_then_evaluation(ours, theirs, shape):
    theirs = theirs.double()
    rng = np.random.default_rng(0)
    if ours.weight is not None:  # not the initial 1 and 0, so every term shows
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, shape[1])))
            theirs.bias.copy_(torch.from_numpy(rng.standard_normal(shape[1])))
    _copy_weights(ours, theirs)
    ours.train()
    theirs.train()
    for step in range(3):  # the batch statistics, and the running ones moving toward them
        x = 3.0 + 2.0 * _x(*shape, seed=10 + step)
        _compare(ours, theirs, x, seed=step)
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=RTOL)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=RTOL)
    ours.eval()
    theirs.eval()
    before = ours.running_mean.copy()
    _compare(ours, theirs, _x(*shape, seed=20), seed=5)
    np.testing.assert_array_equal(ours.running_mean, before)  # evaluation changes nothing


def test_batch_norm_refuses_a_single_value_per_channel_in_training():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than one value per channel"):
        bn(ds.tensor(np.ones((1, 3))))
    assert bn.eval()(ds.tensor(np.ones((1, 3)))).shape == (1, 3)


def test_batch_norm_names_the_layout_it_needs():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) needs an input of shape "
                                         r"\(N, C, H, W\) with C = 3, got \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(ds.tensor(np.ones((2, 4, 5, 5))))


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.9])
def test_dropout_is_inverted_in_training_and_the_identity_in_evaluation(p):
    x = ds.tensor(np.random.default_rng(0).uniform(1, 2, (200, 50)), requires_grad=True)
    drop = nn.Dropout(p, seed=0)
    out = drop(x)
    kept = out.data != 0
    # inverted scaling: kept values are x / (1 - p), the rest 0
    np.testing.assert_allclose(out.data[kept], x.data[kept] / (1 - p), rtol=1e-15)
    assert abs(1 - kept.mean() - p) < 0.02  # 10,000 draws: sampling error ~0.005
    g = np.random.default_rng(1).standard_normal(x.shape)
    (out * g).sum().backward()
    np.testing.assert_allclose(x.grad, g * kept / (1 - p), rtol=1e-15)  # same mask, same scale
    drop.eval()
    assert drop(x) is x


def test_dropout_of_one_gives_zeros_and_seeds_repeat():
    x = ds.tensor(np.ones((4, 5)))
    assert not nn.Dropout(1.0)(x).data.any()
    a, b = nn.Dropout(0.5, seed=3)(x).data, nn.Dropout(0.5, seed=3)(x).data
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match=r"Dropout p must be a probability in \[0, 1\]"):
        nn.Dropout(1.5)


def _torch_convnet(net: nn.ConvNet) -> torch.nn.Sequential:
    """The PyTorch network with the same layers and weights as `net`."""
    layers = []
    for layer in net:
        if isinstance(layer, nn.Conv2d):
            t = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                padding=layer.padding, bias=layer.bias is not None)
        elif isinstance(layer, nn.BatchNorm2d):
            t = torch.nn.BatchNorm2d(layer.num_features)
        elif isinstance(layer, nn.MaxPool2d):
            t = torch.nn.MaxPool2d(layer.kernel_size)
        elif isinstance(layer, nn.Flatten):
            t = torch.nn.Flatten()
        elif isinstance(layer, nn.Linear):
            t = torch.nn.Linear(layer.in_features, layer.out_features)
        else:
            assert layer.config() == {"type": "Activation", "name": "relu"}
            t = torch.nn.ReLU()
        layers.append(t.double())
    theirs = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for t, layer in zip(theirs, net, strict=True):
            for name, p in layer.named_parameters():
                value = p.data.T if isinstance(layer, nn.Linear) and name == "weight" else p.data
                getattr(t, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return theirs


@pytest.mark.parametrize("shape,kwargs", [
    ((1, 28, 28), {}),
    ((3, 9, 7), {"channels": (4, 3, 2), "kernel_size": 3, "hidden": (5,), "batch_norm": True}),
    ((1, 8, 8), {"channels": (2,), "kernel_size": 4, "hidden": ()}),
])
def test_convnet_matches_the_same_network_in_torch(shape, kwargs):
    net = nn.ConvNet(shape, classes=3, seed=0, dtype=np.float64, **kwargs)
    theirs = _torch_convnet(net)
    for mode in (True, False):
        net.train(mode)
        theirs.train(mode)
        x = _x(4, *shape)
        xo = ds.tensor(x, requires_grad=True)
        out = net(xo)
        net.zero_grad()
        out.sum().backward()
        theirs.zero_grad()
        xt = torch.tensor(x, requires_grad=True)
        out_t = theirs(xt)
        out_t.sum().backward()
        np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        conv = net[0]
        np.testing.assert_allclose(conv.weight.grad, theirs[0].weight.grad.numpy(), rtol=1e-9,
                                   atol=1e-12)
