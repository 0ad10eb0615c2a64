"""Every primitive and public op, forward and gradient, against PyTorch in float64.

The habit of tinygrad's test_ops and micrograd's tests: one line per case in `cases.py`,
random inputs (scalar, vector, matrix and broadcast shapes), a random upstream gradient
(we differentiate sum(out * w) for a fixed random w, so every Jacobian entry counts).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import descent as ds

from .cases import CASES, make_inputs, run_descent, run_torch, t_max, t_min

RTOL, ATOL = 1e-10, 1e-12  # float64 against float64: a few ulps of disagreement at most


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_forward_and_gradient_match_torch(case):
    arrays = make_inputs(case)
    ours, our_grads, out = run_descent(case, arrays)
    theirs, their_grads = run_torch(case, arrays)

    assert ours.shape == theirs.shape, f"{case.name}: output shape"
    assert ours.dtype == theirs.dtype, f"{case.name}: output dtype"
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=f"{case.name} value")
    for i, (g, tg) in enumerate(zip(our_grads, their_grads, strict=True)):
        assert g is not None and tg is not None, f"{case.name}: input {i} got no gradient"
        assert g.shape == arrays[i].shape and g.dtype == np.float64
        np.testing.assert_allclose(g, tg, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{case.name}: gradient of input {i}")


def _ops_used(case) -> set[str]:
    xs = [ds.tensor(a, requires_grad=True) for a in make_inputs(case)]
    return {node.op for node in ds.topological_order(case.ours(*xs)) if node.op}


def test_the_table_covers_every_primitive():
    """Adding a primitive to PRIMITIVES without a case here fails this test."""
    used = set().union(*(_ops_used(c) for c in CASES))
    missing = sorted(set(ds.PRIMITIVES) - used)
    assert not missing, f"primitives with no case in tests/autodiff/cases.py: {missing}"
    assert used <= set(ds.PRIMITIVES)


def test_the_table_covers_every_public_function():
    names = {c.name.split("-")[0] for c in CASES}
    public = {"abs", "avg_pool1d", "avg_pool2d", "broadcast_to", "clip", "concatenate", "conv1d",
              "conv2d", "cos", "exp", "leaky_relu", "log", "log_softmax", "logsumexp", "matmul",
              "max", "max_pool1d", "max_pool2d", "maximum", "mean", "min", "minimum", "relu",
              "reshape", "sigmoid", "sin", "softmax", "sqrt", "square", "stack", "sum", "tanh",
              "transpose", "where", "windows"}
    assert public <= set(ds.__all__)
    assert not public - names, f"no case for {sorted(public - names)}"


# ---- ties and kinks: the subgradient each op picks, and that it is torch's ------------------

TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("op", ["max", "min"])
def test_reduction_ties_split_the_gradient_equally_like_torch_amax(op, axis):
    """A tie for the max (or min) shares the gradient equally among the tied entries."""
    data = TIES if op == "max" else -TIES
    x = ds.tensor(data.copy(), requires_grad=True)
    out = x.max(axis=axis) if op == "max" else ds.min(x, axis=axis)
    out.sum().backward()

    xt = torch.tensor(data, requires_grad=True)
    (t_max if op == "max" else t_min)(xt, axis).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=0)

    expected = {None: [[0, 0.5, 0.5], [0, 0, 0]],
                0: [[0, 1, 1], [1, 0, 0]],
                1: [[0, 0.5, 0.5], [0.5, 0.5, 0]]}[axis]
    np.testing.assert_array_equal(x.grad, expected)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_elementwise_ties_split_the_gradient_like_torch(op):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 4.0])
    x, y = ds.tensor(a, requires_grad=True), ds.tensor(b, requires_grad=True)
    getattr(ds, op)(x, y).sum().backward()
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    getattr(torch, op)(xt, yt).sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
    np.testing.assert_array_equal(y.grad, yt.grad.numpy())
    assert x.grad[0] == y.grad[0] == 0.5


KINKS = np.array([-1.0, 0.0, 1.0])


@pytest.mark.parametrize("ours, theirs, expected", [
    pytest.param(ds.relu, torch.relu, [0, 0, 1], id="relu"),
    pytest.param(ds.abs, torch.abs, [-1, 0, 1], id="abs"),
    pytest.param(lambda x: ds.leaky_relu(x, 0.1),
                 lambda x: torch.nn.functional.leaky_relu(x, 0.1), [0.1, 0.1, 1],
                 id="leaky_relu"),
    pytest.param(lambda x: ds.clip(x, -1.0, 0.0), lambda x: torch.clamp(x, -1.0, 0.0),
                 [1, 1, 0], id="clip-at-both-bounds"),
    pytest.param(lambda x: x**0, lambda x: x**0, [0, 0, 0], id="pow_const-p0"),
    pytest.param(lambda x: x**1, lambda x: x**1, [1, 1, 1], id="pow_const-p1"),
    pytest.param(lambda x: x**2, lambda x: x**2, [-2, 0, 2], id="pow_const-p2"),
    pytest.param(lambda x: x**ds.tensor(np.array([2.0, 0.0, 0.5])),
                 lambda x: x**torch.tensor([2.0, 0.0, 0.5], dtype=torch.float64),
                 [-2, 0, 0.5], id="pow-exponent0-at-base0"),
])
def test_derivatives_at_kinks_follow_torch(ours, theirs, expected):
    """relu'(0) = 0, |x|'(0) = 0, leaky_relu'(0) = slope, clip is 1 on its closed range."""
    x = ds.tensor(KINKS.copy(), requires_grad=True)
    ours(x).sum().backward()
    xt = torch.tensor(KINKS, requires_grad=True)
    theirs(xt).sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
    np.testing.assert_array_equal(x.grad, expected)


def test_exponent_gradient_at_base_zero_is_torchs_convention():
    """d(a^b)/db = a^b log a is taken as 0 where a == 0 and b >= 0 (torch's choice)."""
    a = np.array([0.0, 0.0, 2.0])
    b = np.array([2.0, 0.0, 1.5])
    x, y = ds.tensor(a), ds.tensor(b, requires_grad=True)
    (x**y).sum().backward()
    yt = torch.tensor(b, requires_grad=True)
    (torch.tensor(a) ** yt).sum().backward()
    np.testing.assert_allclose(y.grad, yt.grad.numpy(), rtol=1e-12, atol=0)
    assert np.all(np.isfinite(y.grad))
