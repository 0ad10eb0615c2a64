"""Second derivatives: the primitive table differentiates its own VJPs.

For every case of the op table, the Hessian-vector product of L = sum(out * w) along a
random direction v, H v = d/dx <dL/dx, v>, is compared with PyTorch's double backward
(float64, rtol 1e-9, atol 1e-11: two chained backward passes of rounding).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import descent as ds
from descent.autodiff.tensor import gradients

from .cases import CASES, make_inputs, upstream

RTOL, ATOL = 1e-9, 1e-11


def _direction(arrays):
    rng = np.random.default_rng(12345)
    return [rng.standard_normal(a.shape) for a in arrays]


def _ours(case, arrays, v):
    xs = [ds.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = case.ours(*xs)
    L = (out * upstream(case, out.shape)).sum()
    g = gradients(L, xs, create_graph=True)
    gv = sum(((gi * vi).sum() for gi, vi in zip(g, v, strict=True)), ds.tensor(0.0))
    if not gv.requires_grad:  # a linear op: its second derivative is exactly 0
        return [np.zeros_like(a) for a in arrays]
    return gradients(gv, xs)


def _theirs(case, arrays, v):
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = case.theirs(*xs)
    L = (out * torch.from_numpy(upstream(case, tuple(out.shape)))).sum()
    g = torch.autograd.grad(L, xs, create_graph=True, allow_unused=True)
    gv = sum((gi * torch.from_numpy(vi)).sum() for gi, vi in zip(g, v, strict=True)
             if gi is not None and gi.requires_grad)
    if not isinstance(gv, torch.Tensor):
        return [np.zeros_like(a) for a in arrays]
    h = torch.autograd.grad(gv, xs, allow_unused=True)
    return [np.zeros_like(a) if hi is None else hi.numpy(force=True) for hi, a in zip(h, arrays,
                                                                         strict=True)]


SECOND_ORDER = [c for c in CASES if c.numeric]


@pytest.mark.parametrize("case", SECOND_ORDER, ids=[c.name for c in SECOND_ORDER])
def test_hessian_vector_product_matches_torch(case):
    arrays = make_inputs(case)
    v = _direction(arrays)
    for i, (h, th) in enumerate(zip(_ours(case, arrays, v), _theirs(case, arrays, v),
                                    strict=True)):
        assert h.shape == arrays[i].shape
        np.testing.assert_allclose(h, th, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{case.name}: H v for input {i}")


def test_nested_grad_of_the_seed_function():
    f = lambda x: x**2 - 4 * x + 6  # noqa: E731
    assert ds.grad(f)(8.0) == 12.0
    assert ds.grad(ds.grad(f))(8.0) == 2.0
    assert ds.grad(ds.grad(ds.grad(f)))(8.0) == 0.0


def test_third_derivative_against_torch():
    def f(x, lib):
        return lib.sigmoid(x) * lib.tanh(x) + lib.exp(-x * x) + lib.log(1 + x * x)

    ours = ds.grad(ds.grad(ds.grad(lambda x: f(x, ds))))(0.7)
    t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    d = f(t, torch)
    for _ in range(3):
        (d,) = torch.autograd.grad(d, t, create_graph=True)
    assert ours == pytest.approx(d.item(), rel=1e-12)


def test_hessian_of_a_two_variable_function():
    h = lambda v: v[0] ** 2 * v[1] + ds.sin(v[1]) * v[0]  # noqa: E731
    x = np.array([1.0, 2.0])
    H = np.array([ds.grad(lambda v, i=i: ds.grad(h)(v)[i])(x) for i in range(2)])
    exact = [[2 * x[1], 2 * x[0] + np.cos(x[1])], [2 * x[0] + np.cos(x[1]), -np.sin(x[1]) * x[0]]]
    np.testing.assert_allclose(H, exact, rtol=1e-14)


def test_first_order_grad_leaves_no_grad_behind():
    """grad() works on fresh leaves: the caller's tensors and .grad fields are untouched."""
    w = ds.tensor([1.0, 2.0], requires_grad=True)
    g = ds.grad(lambda x: (x * x).sum())(w.data)
    np.testing.assert_array_equal(g, [2.0, 4.0])
    assert w.grad is None
