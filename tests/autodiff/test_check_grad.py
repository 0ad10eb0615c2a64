"""The same op table checked against float64 central differences: an oracle with no PyTorch.

autograd's check_grads and scikit-learn's test_gradient habit. `check_grad` reports the worst
|engine - numeric| / max(1, |numeric|); 1e-6 leaves room for the O(eps^2) truncation and the
O(1e-16/eps) rounding of central differences with eps = 1e-6, and none for a wrong formula.
"""

from __future__ import annotations

import numpy as np
import pytest

import descent as ds
from descent.autodiff.primitives import PRIMITIVES, Primitive

from .cases import CASES, make_inputs

TOLERANCE = 1e-6
NUMERIC = [c for c in CASES if c.numeric]  # only float32 casts are left out (see cases.py)


@pytest.mark.parametrize("case", NUMERIC, ids=[c.name for c in NUMERIC])
def test_gradient_matches_central_differences(case):
    result = ds.check_grad(case.ours, *make_inputs(case), tolerance=TOLERANCE)
    assert result.tolerance == TOLERANCE
    assert result.ok, f"{case.name}: {result}"
    assert len(result.analytic) == len(case.shapes)


def test_only_float32_cases_are_left_out():
    assert [c.name for c in CASES if not c.numeric] == ["cast-float32-2x3"]


def _sin_with_vjp(vjp):
    return Primitive("sin", np.sin, (vjp,))


@pytest.mark.parametrize("wrong_vjp", [
    pytest.param(lambda g, out, x: g * np.sin(x), id="sin-instead-of-cos"),
    pytest.param(lambda g, out, x: -g * np.cos(x), id="wrong-sign"),
    pytest.param(lambda g, out, x: 1.001 * g * np.cos(x), id="off-by-0.1-percent"),
    pytest.param(lambda g, out, x: np.cos(x), id="forgets-the-upstream-gradient"),
])
def test_check_grad_detects_a_wrong_vjp(monkeypatch, wrong_vjp):
    x = np.array([[0.3, -1.2, 2.0], [0.7, 1.1, -0.4]])
    assert ds.check_grad(lambda t: ds.sin(t) * 2.0, x, tolerance=TOLERANCE).ok  # control

    monkeypatch.setitem(PRIMITIVES, "sin", _sin_with_vjp(wrong_vjp))
    result = ds.check_grad(lambda t: ds.sin(t) * 2.0, x, tolerance=TOLERANCE)
    assert not result.ok
    assert not bool(result)
    assert result.max_error > 1e-4  # the smallest planted error is 2e-3 * |cos x| * |w|
    assert "DISAGREE" in str(result)
    # The numeric side does not use the VJP, so it still holds the true derivative.
    w = np.random.default_rng(0).standard_normal(x.shape)
    np.testing.assert_allclose(result.numeric[0], 2.0 * np.cos(x) * w, rtol=1e-8, atol=1e-9)


def test_check_grad_detects_a_wrong_broadcast_gradient(monkeypatch):
    """A mul VJP that forgets to scale by the other operand, seen through broadcasting."""
    good = PRIMITIVES["mul"]
    monkeypatch.setitem(PRIMITIVES, "mul", Primitive("mul", np.multiply,
                                                     (good.vjps[0], lambda g, out, a, b: g)))
    result = ds.check_grad(lambda a, b: a * b, np.ones((2, 3)) * 0.5, np.array([[1.0, 2.0, 3.0]]))
    assert not result.ok
    assert result.analytic[1].shape == (1, 3)


def test_check_grad_returns_both_gradients_and_its_verdict():
    x = np.array([0.5, -1.0, 2.0])
    result = ds.check_grad(lambda t: (t**3).sum(), x, tolerance=TOLERANCE)
    assert result.ok and bool(result)
    np.testing.assert_allclose(result.analytic[0], 3 * x**2, rtol=1e-12)
    np.testing.assert_allclose(result.numeric[0], 3 * x**2, rtol=1e-8)
    assert result.max_error < 1e-8
    assert "agree" in str(result)
