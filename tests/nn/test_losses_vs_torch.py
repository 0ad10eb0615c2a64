"""Every loss, value and gradient, against PyTorch in float64 (rtol 1e-10, atol 1e-12)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import descent as ds

RTOL, ATOL = 1e-10, 1e-12
rng = np.random.default_rng(0)
N, K = 5, 3
Z = rng.standard_normal((N, K))
Y_REAL = rng.standard_normal((N, K))
Y_PROB = rng.uniform(0.05, 0.95, (N, K))
P = rng.uniform(0.05, 0.95, (N, K))
LABELS = rng.integers(0, K, N)
W = rng.uniform(0.5, 2.0, N)


def _torch_quadratic(z, y):
    return ((z - y) ** 2).sum(dim=1).mean() / 2


CASES = [
    # (name, our loss, prediction, target, torch function of (pred, target))
    ("quadratic", "quadratic", Z, Y_REAL, _torch_quadratic),
    ("mse", "mse", Z, Y_REAL, F.mse_loss),
    ("mae", "mae", Z, Y_REAL, F.l1_loss),
    ("huber", "huber", 2 * Z, Y_REAL, F.huber_loss),
    ("bce", "binary_cross_entropy", P, Y_PROB, F.binary_cross_entropy),
    ("bce_logits", "binary_cross_entropy_with_logits", 5 * Z, Y_PROB,
     F.binary_cross_entropy_with_logits),
    # logits of exactly 0 (a dead ReLU layer with zero biases gives them): the loss is
    # smooth there, but max(z, 0) and |z| in its formula have kinks
    ("bce_logits_at_zero", "binary_cross_entropy_with_logits",
     np.where(np.arange(N * K).reshape(N, K) % 2 == 0, 0.0, 5 * Z), Y_PROB,
     F.binary_cross_entropy_with_logits),
    ("cross_entropy_labels", "cross_entropy", Z, LABELS, F.cross_entropy),
    ("cross_entropy_probs", "cross_entropy", Z, np.eye(K)[LABELS], F.cross_entropy),
]


@pytest.mark.parametrize("name,loss,pred,target,torch_fn", CASES, ids=[c[0] for c in CASES])
def test_loss_and_gradient_match_torch(name, loss, pred, target, torch_fn):
    y_hat = ds.tensor(pred, requires_grad=True)
    C = ds.nn.get_loss(loss)(y_hat, target)
    C.backward()
    t_pred = torch.tensor(pred, requires_grad=True)
    t_target = torch.tensor(target)
    t_C = torch_fn(t_pred, t_target)
    t_C.backward()
    np.testing.assert_allclose(C.data, t_C.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(y_hat.grad, t_pred.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_quadratic_cost_gradient_is_residual_over_n():
    """The seeds' cost: C = 1/(2N) Σ(ŷ-y)², so ∂C/∂ŷ = (ŷ - y)/N exactly."""
    y_hat = ds.tensor(Z[:, :1], requires_grad=True)
    ds.nn.QuadraticCost()(y_hat, Y_REAL[:, :1]).backward()
    np.testing.assert_allclose(y_hat.grad, (Z[:, :1] - Y_REAL[:, :1]) / N, rtol=1e-14)


def test_sample_weights_give_weighted_mean():
    y_hat = ds.tensor(Z, requires_grad=True)
    C = ds.nn.get_loss("mse")(y_hat, Y_REAL, sample_weight=W)
    C.backward()
    t_pred = torch.tensor(Z, requires_grad=True)
    per_row = ((t_pred - torch.tensor(Y_REAL)) ** 2).mean(dim=1)
    t_C = (per_row * torch.tensor(W)).sum() / W.sum()
    t_C.backward()
    np.testing.assert_allclose(C.data, t_C.detach().numpy(), rtol=RTOL)
    np.testing.assert_allclose(y_hat.grad, t_pred.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_stable_at_extreme_logits():
    z = ds.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    C = ds.nn.get_loss("cross_entropy")(z, [1, 1])
    C.backward()
    assert np.isfinite(C.data) and np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(C.data, 1000.0, rtol=1e-12)  # (2000 + 0) / 2
    zb = ds.tensor([[1000.0], [-1000.0]], requires_grad=True)
    Cb = ds.nn.get_loss("bce_with_logits")(zb, [0.0, 1.0])
    Cb.backward()
    np.testing.assert_allclose(Cb.data, 1000.0, rtol=1e-12)
    assert np.all(np.isfinite(zb.grad))


def test_targets_are_reshaped_not_broadcast():
    """(N,) targets against (N, 1) outputs must not broadcast to (N, N)."""
    y_hat = ds.tensor(Z[:, :1])
    flat = ds.nn.get_loss("mse")(y_hat, Y_REAL[:, 0])
    col = ds.nn.get_loss("mse")(y_hat, Y_REAL[:, :1])
    assert float(flat.data) == float(col.data)


@pytest.mark.parametrize("bad,message", [
    ("nope", "unknown loss 'nope'"),
])
def test_unknown_loss_name(bad, message):
    with pytest.raises(ValueError, match=message):
        ds.nn.get_loss(bad)


def test_mismatched_target_size_is_named():
    with pytest.raises(ValueError, match=r"targets of shape \(4,\) do not match"):
        ds.nn.get_loss("mse")(ds.tensor(Z), np.zeros(4))


def test_cross_entropy_label_range_checked():
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        ds.nn.get_loss("cross_entropy")(ds.tensor(Z), np.full(N, 3))
