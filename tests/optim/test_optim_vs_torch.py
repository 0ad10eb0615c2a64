"""Every update rule against torch.optim, float64 on CPU, step by step.

Tolerances: rtol 1e-12, atol 1e-14 on the parameters after each of 20 steps. The rules do
the same arithmetic as PyTorch in a slightly different order (NumPy `out=` in-place calls
instead of fused addcdiv/lerp), so agreement is to a few ulps, not bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from descent.optim import SGD, Adam, AdamW, Momentum, Nesterov, RMSProp

RTOL, ATOL = 1e-12, 1e-14
N_STEPS = 20
SHAPES = [(3, 4), (5,), (), (2, 3, 2)]  # a 0-d parameter included


class Param:
    """Stand-in for descent's Parameter: .data updated in place, .grad or None."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.grad: np.ndarray | None = None


T = torch.optim
CASES = [
    (SGD, {"lr": 0.1}, T.SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.1, "weight_decay": 0.2}, T.SGD, {"lr": 0.1, "weight_decay": 0.2}),
    (SGD, {"lr": 0.05, "momentum": 0.9}, T.SGD, {"lr": 0.05, "momentum": 0.9}),
    (
        SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True},
        T.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    ),
    (
        SGD, {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1},
        T.SGD, {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1},
    ),
    (
        SGD, {"lr": 0.02, "momentum": 0.99, "nesterov": True, "weight_decay": 0.01},
        T.SGD, {"lr": 0.02, "momentum": 0.99, "nesterov": True, "weight_decay": 0.01},
    ),
    (Momentum, {"lr": 0.05}, T.SGD, {"lr": 0.05, "momentum": 0.9}),
    (
        Nesterov, {"lr": 0.05, "momentum": 0.8},
        T.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    ),
    (Adam, {}, T.Adam, {}),
    (Adam, {"lr": 0.05}, T.Adam, {"lr": 0.05}),
    (
        Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
        T.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
    ),
    (Adam, {"lr": 0.01, "betas": (0.0, 0.0)}, T.Adam, {"lr": 0.01, "betas": (0.0, 0.0)}),
    (AdamW, {}, T.AdamW, {}),
    (
        AdamW, {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.3},
        T.AdamW, {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.3},
    ),
    (RMSProp, {}, T.RMSprop, {}),
    (
        RMSProp, {"lr": 1e-3, "alpha": 0.9, "momentum": 0.9, "weight_decay": 0.1},
        T.RMSprop, {"lr": 1e-3, "alpha": 0.9, "momentum": 0.9, "weight_decay": 0.1},
    ),
    (RMSProp, {"centered": True}, T.RMSprop, {"centered": True}),
    (
        RMSProp, {"lr": 1e-3, "centered": True, "momentum": 0.5, "eps": 1e-6},
        T.RMSprop, {"lr": 1e-3, "centered": True, "momentum": 0.5, "eps": 1e-6},
    ),
]
IDS = [f"{c.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}"
       for c, kw, _, _ in CASES]


def _grads(seed: int, skip: bool) -> list[list[np.ndarray | None]]:
    """A fixed sequence of gradients; with skip, some parameters get None on some steps."""
    rng = np.random.default_rng(seed)
    seq = []
    for k in range(N_STEPS):
        seq.append([
            None if skip and (k + j) % 4 == 0 else rng.normal(size=s) * 3.0
            for j, s in enumerate(SHAPES)
        ])
    return seq


@pytest.mark.parametrize("skip", [False, True], ids=["all-grads", "some-None"])
@pytest.mark.parametrize(("ours", "kw", "theirs", "tkw"), CASES, ids=IDS)
def test_matches_torch_every_step(ours, kw, theirs, tkw, skip):
    rng = np.random.default_rng(0)
    w0 = [rng.normal(size=s) for s in SHAPES]
    params = [Param(w.copy()) for w in w0]
    tparams = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in w0]
    opt, topt = ours(params, **kw), theirs(tparams, **tkw)
    for k, gs in enumerate(_grads(1, skip)):
        for p, tp, g in zip(params, tparams, gs, strict=True):
            p.grad = g
            tp.grad = None if g is None else torch.tensor(g)
        opt.step()
        topt.step()
        for j, (p, tp) in enumerate(zip(params, tparams, strict=True)):
            np.testing.assert_allclose(
                p.data, tp.detach().numpy(), rtol=RTOL, atol=ATOL,
                err_msg=f"step {k + 1}, parameter {j}",
            )
    # The run must actually have moved the weights, or the comparison proves nothing.
    assert all(not np.array_equal(p.data, w) for p, w in zip(params, w0, strict=True))


@pytest.mark.parametrize(("ours", "kw", "theirs", "tkw"), CASES, ids=IDS)
def test_float32_stays_float32_and_in_place(ours, kw, theirs, tkw):
    rng = np.random.default_rng(2)
    params = [Param(rng.normal(size=s).astype(np.float32)) for s in SHAPES]
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    arrays = [p.data for p in params]
    opt, topt = ours(params, **kw), theirs(tparams, **tkw)
    for gs in _grads(3, skip=False)[:5]:
        for p, tp, g in zip(params, tparams, gs, strict=True):
            p.grad = g.astype(np.float32)
            tp.grad = torch.tensor(p.grad)
        grads_before = [p.grad.copy() for p in params]
        opt.step()
        topt.step()
        for p, g in zip(params, grads_before, strict=True):
            assert np.array_equal(p.grad, g), "step() must not modify .grad"
    for p, a, tp in zip(params, arrays, tparams, strict=True):
        assert p.data is a, "the optimizer must update .data in place, not rebind it"
        assert p.data.dtype == np.float32
        # float32 arithmetic in a different order: agreement to float32 precision.
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-5, atol=1e-6)
    for st in opt.state:
        assert all(a.dtype == np.float32 for a in st.values())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_plain_sgd_is_exactly_w_minus_lr_g(dtype):
    rng = np.random.default_rng(4)
    p = Param(rng.normal(size=(7, 3)).astype(dtype))
    opt = SGD([p], lr=0.37)
    for _ in range(3):
        p.grad = rng.normal(size=(7, 3)).astype(dtype)
        expected = p.data - 0.37 * p.grad
        opt.step()
        assert p.data.dtype == dtype
        assert np.array_equal(p.data, expected)


def test_seed_worked_example_iterates():
    # y = x^2 - 4x + 6 from x0 = 8 at rate 0.1: the exact iterates 6.8, 5.84, 5.072, 4.4576.
    p = Param(np.array(8.0))
    opt = SGD([p], lr=0.1)
    xs = []
    for _ in range(4):
        p.grad = 2 * p.data - 4
        opt.step()
        xs.append(float(p.data))
    np.testing.assert_allclose(xs, [6.8, 5.84, 5.072, 4.4576], rtol=1e-14)
