"""Whole-network gradients equal PyTorch's (float64) for every activation x loss pair.

The same weights go into a descent MLP and a hand-built PyTorch forward pass; every
parameter's gradient must agree to rtol 1e-10 (atol 1e-12).
"""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import descent as ds
from tests.torch_reference import TORCH_ACTIVATIONS

RTOL, ATOL = 1e-10, 1e-12
SIZES = [4, 5, 3, 2]

TORCH_ACT = TORCH_ACTIVATIONS


def _quadratic(z, y):
    return ((z - y) ** 2).sum(dim=1).mean() / 2


TORCH_LOSS = {
    "quadratic": _quadratic,
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": F.huber_loss,
    "binary_cross_entropy": F.binary_cross_entropy,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "cross_entropy": F.cross_entropy,
}


def _data(loss: str, rng: np.random.Generator):
    X = rng.standard_normal((6, SIZES[0]))
    if loss == "cross_entropy":
        return X, rng.integers(0, SIZES[-1], 6)
    if "binary" in loss:
        return X, rng.uniform(0, 1, (6, SIZES[-1])).round()
    return X, rng.standard_normal((6, SIZES[-1]))


@pytest.mark.parametrize("activation,loss", list(itertools.product(TORCH_ACT, TORCH_LOSS)))
def test_network_gradients_match_torch(activation, loss):
    rng = np.random.default_rng(abs(hash((activation, loss))) % 2**32)
    out_act = "sigmoid" if loss == "binary_cross_entropy" else None
    net = ds.nn.MLP(SIZES, activation=activation, output_activation=out_act, seed=rng,
                    dtype=np.float64)
    # Move biases off 0 so relu kinks and symmetric cases are not hit by accident.
    for _, p in net.named_parameters():
        p.data += rng.normal(0, 0.1, p.shape)
    X, y = _data(loss, rng)
    C = ds.nn.get_loss(loss)(net(ds.tensor(X)), y)
    C.backward()

    params = {n: torch.tensor(p.data, requires_grad=True) for n, p in net.named_parameters()}
    a = torch.tensor(X)
    linear_names = [n[:-len(".weight")] for n in params if n.endswith(".weight")]
    for i, name in enumerate(linear_names):
        a = a @ params[f"{name}.weight"] + params[f"{name}.bias"]
        last = i == len(linear_names) - 1
        act = (out_act or "identity") if last else activation
        a = TORCH_ACT[act](a)
    t_C = TORCH_LOSS[loss](a, torch.tensor(y))
    t_C.backward()

    np.testing.assert_allclose(C.data, t_C.detach().numpy(), rtol=RTOL, atol=ATOL)
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad, params[name].grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{activation} x {loss}: {name}")
