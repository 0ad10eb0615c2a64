"""Property tests: random expression trees of primitives, gradients compared with PyTorch.

Hypothesis draws a small tree of unary and binary elementwise ops, reductions (keepdims, so
shapes stay broadcastable), softmax and a matmul, over 1-3 float64 leaves of random
broadcastable shapes; we differentiate sum(out * w) in both engines. Every op here is total
on the reals (log and sqrt only see 1 + x^2, exp only sees a clipped argument), so no example
is rejected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import descent as ds

SHAPES = [(), (3,), (1, 3), (2, 1), (2, 3)]  # all broadcast to (2, 3)
W = np.array([[0.5, -1.0, 0.25], [1.5, 0.75, -0.5], [-0.25, 1.0, 2.0]])

# name -> (ours, torch's)
UNARY: dict[str, tuple[Any, Any]] = {
    "neg": (lambda x: -x, lambda x: -x),
    "tanh": (ds.tanh, torch.tanh),
    "sigmoid": (ds.sigmoid, torch.sigmoid),
    "sin": (ds.sin, torch.sin),
    "cos": (ds.cos, torch.cos),
    "relu": (ds.relu, torch.relu),
    "abs": (ds.abs, torch.abs),
    "leaky_relu": (lambda x: ds.leaky_relu(x, 0.1), lambda x: F.leaky_relu(x, 0.1)),
    "square": (ds.square, torch.square),
    "cube": (lambda x: x**3, lambda x: x**3),
    "scale": (lambda x: 0.5 * x - 1.0, lambda x: 0.5 * x - 1.0),
    "exp_clip": (lambda x: ds.exp(ds.clip(x, -4.0, 4.0)),
                 lambda x: torch.exp(torch.clamp(x, -4.0, 4.0))),
    "log1p_sq": (lambda x: ds.log(1.0 + x * x), lambda x: torch.log(1.0 + x * x)),
    "sqrt1p_sq": (lambda x: ds.sqrt(x**2 + 1.0), lambda x: torch.sqrt(x**2 + 1.0)),
    "sum_last": (lambda x: x.sum(axis=-1, keepdims=True) if x.ndim else x,
                 lambda x: x.sum(dim=-1, keepdim=True) if x.dim() else x),
    "mean_all": (lambda x: x.mean(keepdims=True), lambda x: x.mean(
        dim=tuple(range(x.dim())), keepdim=True)),
    "max_first": (lambda x: x.max(axis=0, keepdims=True) if x.ndim else x,
                  lambda x: torch.amax(x, dim=0, keepdim=True) if x.dim() else x),
    "logsumexp_last": (lambda x: ds.logsumexp(x, axis=-1, keepdims=True) if x.ndim else x,
                       lambda x: torch.logsumexp(x, dim=-1, keepdim=True) if x.dim() else x),
    "softmax": (lambda x: ds.softmax(x) if x.ndim else x,
                lambda x: torch.softmax(x, -1) if x.dim() else x),
    "log_softmax": (lambda x: ds.log_softmax(x) if x.ndim else x,
                    lambda x: torch.log_softmax(x, -1) if x.dim() else x),
    "matmul_W": (lambda x: x @ W if x.shape[-1:] == (3,) else x,
                 lambda x: x @ torch.from_numpy(W) if x.shape[-1:] == (3,) else x),
    "transpose_back": (lambda x: x.T.T, lambda x: x.mT.mT if x.dim() >= 2 else x),
    # maximum(x, x) = x: both sides tie everywhere, and the halves must add up to 1.
    "self_maximum": (lambda x: ds.maximum(x, x), lambda x: torch.maximum(x, x)),
    "self_minimum": (lambda x: ds.minimum(x, x), lambda x: torch.minimum(x, x)),
    "stack_sum": (lambda x: ds.stack([x, 2.0 * x]).sum(axis=0),
                  lambda x: torch.stack([x, 2.0 * x]).sum(dim=0)),
}
BINARY: dict[str, tuple[Any, Any]] = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (1.0 + b * b), lambda a, b: a / (1.0 + b * b)),
    "pow": (lambda a, b: (1.0 + a * a) ** ds.tanh(b), lambda a, b: (1.0 + a * a) ** torch.tanh(b)),
    "maximum": (ds.maximum, torch.maximum),
    "minimum": (ds.minimum, torch.minimum),
    "where": (lambda a, b: ds.where(a > b, a, b * 0.5),
              lambda a, b: torch.where(a > b, a, b * 0.5)),
}


def trees(n_leaves: int) -> st.SearchStrategy:
    """Nested tuples ("op", child, ...) / ("leaf", i): readable when Hypothesis reports one."""
    leaves = st.integers(0, n_leaves - 1).map(lambda i: ("leaf", i))

    def node(sub: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(st.tuples(st.sampled_from(sorted(UNARY)), sub),
                         st.tuples(st.sampled_from(sorted(BINARY)), sub, sub))

    return node(st.recursive(leaves, node, max_leaves=8))  # at least one op at the root


def evaluate(tree: tuple, leaves: list, which: int) -> Any:
    """which = 0 for descent, 1 for torch."""
    if tree[0] == "leaf":
        return leaves[tree[1]]
    if tree[0] in UNARY:
        return UNARY[tree[0]][which](evaluate(tree[1], leaves, which))
    return BINARY[tree[0]][which](evaluate(tree[1], leaves, which),
                                  evaluate(tree[2], leaves, which))


@st.composite
def problems(draw) -> tuple[tuple, list[np.ndarray]]:
    n = draw(st.integers(1, 3))
    values = []
    for k in range(n):
        shape = draw(st.sampled_from(SHAPES))
        x = draw(arrays(np.float64, shape, elements=st.floats(-3, 3, allow_subnormal=False)))
        # A different irrational offset per entry and per leaf: exact ties and exact zeros
        # still arise inside the tree (x - x), but never between transcendental results that
        # the two engines might round differently.
        values.append(x + np.sqrt(2.0 + np.arange(x.size) + 7 * k).reshape(shape) * 1e-3)
    return draw(trees(n)), values


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_random_compositions_have_torchs_gradient(problem):
    tree, values = problem
    ours_in = [ds.tensor(v, requires_grad=True) for v in values]
    theirs_in = [torch.tensor(v, requires_grad=True) for v in values]
    out = evaluate(tree, ours_in, 0)
    tout = evaluate(tree, theirs_in, 1)
    assert out.shape == tuple(tout.shape)
    w = np.random.default_rng(out.ndim).standard_normal(out.shape)
    # Forward values and gradients agree to 1e-9 relative to the largest magnitude in play.
    scale = max(1.0, float(np.max(np.abs(tout.detach().numpy()), initial=0.0)))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-9, atol=1e-9 * scale)
    if not out.requires_grad:
        return
    (out * w).sum().backward()
    (tout * torch.from_numpy(w)).sum().backward()
    for x, xt in zip(ours_in, theirs_in, strict=True):
        assert (x.grad is None) == (xt.grad is None)
        if x.grad is not None:
            g = xt.grad.numpy()
            gscale = max(1.0, float(np.max(np.abs(g), initial=0.0)))
            np.testing.assert_allclose(x.grad, g, rtol=1e-9, atol=1e-9 * gscale)


@settings(max_examples=30, deadline=None)
@given(problems())
def test_random_compositions_match_central_differences_away_from_kinks(problem):
    """The second oracle, on the same trees; kinks (relu, abs, max, clip...) can sit within
    eps of an input, so this one only asserts where every kink is at least 1e-3 away."""
    tree, values = problem
    if _near_kink(tree, [ds.tensor(v) for v in values]):
        return
    result = ds.check_grad(lambda *xs: evaluate(tree, list(xs), 0), *values, tolerance=1e-5)
    assert result.ok, str(result)


_KINKED = {"relu", "abs", "leaky_relu", "exp_clip", "max_first", "maximum", "minimum", "where"}


def _near_kink(tree: tuple, leaves: list) -> bool:
    """True if some kinked op in the tree sees an argument within 1e-3 of its kink."""
    if tree[0] == "leaf":
        return False
    args = [evaluate(t, leaves, 0) for t in tree[1:]]
    if any(_near_kink(t, leaves) for t in tree[1:]):
        return True
    if tree[0] not in _KINKED:
        return False
    a = args[0].data
    if tree[0] in {"relu", "abs", "leaky_relu"}:
        return bool(np.any(np.abs(a) < 1e-3))
    if tree[0] == "exp_clip":
        return bool(np.any(np.abs(np.abs(a) - 4.0) < 1e-3))
    if tree[0] == "max_first":
        if a.ndim == 0:
            return False
        top = np.sort(a, axis=0)
        return a.shape[0] > 1 and bool(np.any(top[-1] - top[-2] < 1e-3))
    return bool(np.any(np.abs(a - args[1].data) < 1e-3))
