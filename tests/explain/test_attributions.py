"""Saliency, SmoothGrad, integrated gradients, Grad-CAM and the convolution chain rule,
each against PyTorch (float64, the same weights) computing the same thing its own way.

Tolerance: rtol 1e-10 / atol 1e-12 for gradients (float64 on both sides); Grad-CAM's
upsampling is Pillow's, compared at the layer's own size.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import descent as ds
from descent.explain import (
    conv_chain_text,
    conv_weight_chain,
    feature_maps,
    first_filters,
    grad_cam,
    input_gradient,
    integrated_gradients,
    saliency,
    smoothgrad,
)

RTOL, ATOL = 1e-10, 1e-12


def convnet(seed: int = 0, shape=(1, 8, 8), classes: int = 3, **kw) -> ds.nn.Module:
    return ds.nn.ConvNet(shape, classes, channels=(3, 4), kernel_size=3, hidden=(5,),
                         seed=seed, dtype=np.float64, **kw)


def to_torch(net: ds.nn.Module) -> torch.nn.Sequential:
    """The same network in PyTorch, weights copied (dense weights transposed: ours are
    (in, out), PyTorch's (out, in))."""
    layers = []
    for layer in net:
        kind = type(layer).__name__
        if kind == "Conv2d":
            t = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                stride=layer.stride, padding=layer.padding,
                                dilation=layer.dilation).double()
            t.weight.data = torch.from_numpy(layer.weight.data.copy())
            t.bias.data = torch.from_numpy(layer.bias.data.copy())
        elif kind == "Linear":
            t = torch.nn.Linear(layer.in_features, layer.out_features).double()
            t.weight.data = torch.from_numpy(layer.weight.data.T.copy())
            t.bias.data = torch.from_numpy(layer.bias.data.copy())
        elif kind == "Activation":
            assert layer.name == "relu"
            t = torch.nn.ReLU()
        elif kind == "MaxPool2d":
            t = torch.nn.MaxPool2d(layer.kernel_size)
        elif kind == "Flatten":
            t = torch.nn.Flatten()
        else:
            raise AssertionError(kind)
        layers.append(t)
    return torch.nn.Sequential(*layers)


def torch_input_grad(tnet: torch.nn.Module, x: np.ndarray, target: np.ndarray) -> np.ndarray:
    xt = torch.tensor(x, requires_grad=True)
    out = tnet(xt)
    out[torch.arange(len(x)), torch.from_numpy(target)].sum().backward()
    return xt.grad.numpy()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(1, 4), side=st.integers(5, 11),
       channels=st.sampled_from([1, 3]))
def test_input_gradient_and_saliency_match_torch(seed, n, side, channels):
    net = convnet(seed, (channels, side, side))
    x = np.random.default_rng(seed).random((n, channels, side, side))
    target = np.random.default_rng(seed + 1).integers(0, 3, n)
    want = torch_input_grad(to_torch(net), x, target)
    np.testing.assert_allclose(input_gradient(net, x, target), want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(saliency(net, x, target), np.abs(want).max(axis=1),
                               rtol=RTOL, atol=ATOL)


def test_one_picture_and_predicted_class_by_default():
    net = convnet(1)
    x = np.random.default_rng(2).random((1, 8, 8))
    predicted = int(ds.train.predict_array(net, x[None]).argmax())
    np.testing.assert_array_equal(saliency(net, x), saliency(net, x[None], predicted)[0])
    assert saliency(net, x).shape == (8, 8)


def test_smoothgrad_is_the_mean_gradient_over_seeded_noise():
    net = convnet(3)
    x = np.random.default_rng(4).random((2, 1, 8, 8))
    target = np.array([0, 2])
    got = smoothgrad(net, x, target, samples=5, noise=0.1, seed=7)
    rng = np.random.default_rng(7)
    span = x.max(axis=(1, 2, 3), keepdims=True) - x.min(axis=(1, 2, 3), keepdims=True)
    tnet = to_torch(net)
    total = sum(torch_input_grad(tnet, x + rng.normal(size=x.shape) * 0.1 * span, target)
                for _ in range(5))
    np.testing.assert_allclose(got, np.abs(total / 5).max(axis=1), rtol=1e-9, atol=ATOL)
    np.testing.assert_array_equal(got, smoothgrad(net, x, target, samples=5, noise=0.1, seed=7))
    with pytest.raises(ValueError, match="samples"):
        smoothgrad(net, x, samples=0)


def test_integrated_gradients_completeness_and_torch():
    net = convnet(5)
    x = np.random.default_rng(6).random((2, 1, 8, 8))
    target = np.array([1, 0])
    coarse = integrated_gradients(net, x, target, steps=4)
    fine = integrated_gradients(net, x, target, steps=256)
    tnet = to_torch(net)
    with torch.no_grad():
        F = tnet(torch.from_numpy(x))[torch.arange(2), torch.from_numpy(target)].numpy()
        F0 = tnet(torch.zeros(2, 1, 8, 8, dtype=torch.float64))[
            torch.arange(2), torch.from_numpy(target)].numpy()
    np.testing.assert_allclose(fine.score, F, rtol=RTOL)
    np.testing.assert_allclose(fine.baseline_score, F0, rtol=RTOL)
    # completeness: the sum of attributions approaches F(x) - F(0) as the quadrature refines
    assert np.all(fine.gap <= 0.02 * np.abs(fine.difference) + 1e-9)
    assert np.all(fine.gap <= coarse.gap + 1e-12)
    # the attributions are (x - 0) times the trapezoid mean of torch's gradients
    alphas = np.linspace(0, 1, 5)
    w = np.array([0.5, 1, 1, 1, 0.5]) / 4
    mean = sum(wk * torch_input_grad(tnet, a * x, target) for a, wk in zip(alphas, w,
                                                                           strict=True))
    np.testing.assert_allclose(coarse.attributions, x * mean, rtol=1e-9, atol=ATOL)
    assert "differ by" in fine.completeness(0)


def test_grad_cam_matches_a_torch_hook_implementation():
    net = convnet(8)
    x = np.random.default_rng(9).random((2, 1, 8, 8))
    target = np.array([2, 1])
    ours = grad_cam(net, x, target)
    tnet = to_torch(net)
    kept = {}
    last_relu = tnet[4]  # conv, relu, pool, conv, relu: the last block's rectified maps

    def keep(module, inputs, output):
        output.retain_grad()
        kept["A"] = output

    last_relu.register_forward_hook(keep)
    out = tnet(torch.from_numpy(x))
    out[torch.arange(2), torch.from_numpy(target)].sum().backward()
    A, dA = kept["A"].detach().numpy(), kept["A"].grad.numpy()
    alpha = dA.mean(axis=(2, 3))
    cam = np.maximum((alpha[:, :, None, None] * A).sum(axis=1), 0)
    assert ours.layer == "4"
    np.testing.assert_allclose(ours.weights, alpha, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.cam, cam, rtol=RTOL, atol=ATOL)
    assert ours.heatmap.shape == (2, 8, 8) and ours.heatmap.min() >= 0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(1, 3), layer=st.sampled_from([1, 2]),
       data=st.data())
def test_conv_weight_chain_is_the_engines_and_torchs_gradient(seed, n, layer, data):
    net = convnet(seed)
    k = [m for m in net if type(m).__name__ == "Conv2d"][layer - 1]
    index = tuple(data.draw(st.integers(0, s - 1)) for s in k.weight.shape)
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 8, 8))
    y = rng.integers(0, 3, n)
    chain = conv_weight_chain(net, x, y, index, layer=layer)
    tnet = to_torch(net)
    loss = torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    conv_t = [m for m in tnet if isinstance(m, torch.nn.Conv2d)][layer - 1]
    want = conv_t.weight.grad.numpy()[index]
    assert chain.engine == pytest.approx(want, rel=RTOL, abs=ATOL)
    assert chain.total == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert chain.cost == pytest.approx(loss.item(), rel=RTOL)
    np.testing.assert_allclose(chain.terms, chain.delta * chain.patch)


def test_conv_chain_with_stride_and_dilation():
    net = ds.nn.Sequential(
        ds.nn.Conv2d(2, 3, 3, stride=2, padding=1, dilation=2, dtype=np.float64, seed=0),
        ds.nn.Activation("tanh"), ds.nn.Flatten(), ds.nn.Linear(3 * 3 * 3, 2, seed=1,
                                                                   dtype=np.float64))
    x = np.random.default_rng(0).random((2, 2, 7, 7))
    for index in [(0, 0, 0, 0), (2, 1, 2, 1), (1, 0, 1, 2)]:
        chain = conv_weight_chain(net, x, np.array([0, 1]), index)
        assert chain.abs_error < 1e-13, index


@pytest.mark.parametrize("padding", ["same", "valid", (0, 2)])
def test_conv_chain_with_string_and_uneven_padding(padding):
    conv = ds.nn.Conv2d(2, 3, (4, 3), padding=padding, dtype=np.float64, seed=0)
    x = np.random.default_rng(1).random((2, 2, 6, 7))
    n_out = conv(ds.tensor(x)).data[0].size
    net = ds.nn.Sequential(conv, ds.nn.Activation("relu"), ds.nn.Flatten(),
                           ds.nn.Linear(n_out, 2, seed=1, dtype=np.float64))
    for index in [(0, 0, 0, 0), (2, 1, 3, 2), (1, 0, 1, 1)]:
        chain = conv_weight_chain(net, x, np.array([1, 0]), index)
        assert chain.abs_error < 1e-13, (padding, index)


def test_chain_text_and_bad_index():
    net = convnet(0)
    chain = conv_weight_chain(net, np.ones((1, 8, 8)), 1, (1, 0, 1, 1))
    text = conv_chain_text(chain)
    assert "sum over positions" in text and "engine's ∂C/∂w" in text
    with pytest.raises(ValueError, match=r"does not fit 0.weight of shape \(3, 1, 3, 3\)"):
        conv_weight_chain(net, np.ones((1, 8, 8)), 1, (3, 0, 0, 0))
    with pytest.raises(ValueError, match="layer must be 1..2"):
        conv_weight_chain(net, np.ones((1, 8, 8)), 1, layer=3)


def test_feature_maps_and_filters_match_torch():
    net = convnet(11)
    x = np.random.default_rng(12).random((1, 8, 8))
    maps = feature_maps(net, x)
    tnet = to_torch(net)
    with torch.no_grad():
        first = tnet[:2](torch.from_numpy(x[None])).numpy()[0]
        second = tnet[:5](torch.from_numpy(x[None])).numpy()[0]
    np.testing.assert_allclose(maps[0][1], first, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(maps[1][1], second, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(first_filters(net), net[0].weight.data)


def test_a_network_without_convolutions_is_refused_by_name():
    mlp = ds.nn.Sequential(ds.nn.Flatten(), ds.nn.Linear(4, 2, seed=0))
    with pytest.raises(ValueError, match="no Conv2d layer"):
        grad_cam(mlp, np.zeros((1, 2, 2)))
    assert saliency(mlp, np.zeros((1, 2, 2)), 0).shape == (2, 2)  # saliency needs none
