"""gradient_descent, newton, grid_search, compare and format_table.

The seed texts' worked example: y = x² − 4x + 6 from x0 = 8 with rate 0.1. Exactly,
x_k − 2 = (1 − 0.1·2)^k (x0 − 2), i.e. x_k = 2 + 6·0.8^k; iterates are compared with that
closed form at rtol 1e-12 (a few roundings per step). Curvatures come from central
differences of engine gradients: compared at rtol 1e-6.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import descent as ds
from descent.explain.minimize import (
    Comparison,
    compare,
    format_table,
    gradient_descent,
    grid_search,
    iteration_rows,
    largest_curvature,
    newton,
)

RTOL = 1e-12
CURVATURE_RTOL = 1e-6


def seed(x):
    return x**2 - 4 * x + 6


def bowl(v):
    """f(v) = v0² + 10 v1²: Hessian diag(2, 20), so gradient descent is stable for lr < 0.1."""
    return v[0] ** 2 + 10 * v[1] ** 2


# ---- the seed's worked table ----------------------------------------------------------------


def test_seed_iterates_follow_the_closed_form():
    result = gradient_descent(seed, 8.0, lr=0.1)
    k = np.arange(12)
    np.testing.assert_allclose(result.path[:12], 2 + 6 * 0.8**k, rtol=RTOL)
    np.testing.assert_allclose(result.path[:5], [8, 6.8, 5.84, 5.072, 4.4576], rtol=RTOL)


def test_seed_values_and_slopes_are_the_engines():
    result = gradient_descent(seed, 8.0, lr=0.1)
    np.testing.assert_allclose(result.grads, 2 * result.path - 4, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(result.values, result.path**2 - 4 * result.path + 6, rtol=RTOL)
    assert result.grads[0] == 12.0 and result.values[0] == 38.0


def test_seed_reaches_two_at_two_decimals_and_converges():
    result = gradient_descent(seed, 8.0, lr=0.1)
    first_two = next(k for k, x in enumerate(result.path) if round(float(x), 2) == 2.00)
    assert first_two == 32  # smallest k with 6·0.8^k < 0.005
    assert round(float(result.path[31]), 2) == 2.01
    assert result.converged and result.regime == "converged"
    assert result.x == pytest.approx(2.0, abs=1e-7)
    assert result.suggestion is None
    assert result.evaluations.function == result.evaluations.gradient == result.steps + 1
    assert len(result.path) == len(result.values) == len(result.grads) == result.steps + 1


def test_table_rounds_for_display_only():
    result = gradient_descent(seed, 8.0, lr=0.1)
    lines = format_table(result).splitlines()
    assert lines[0] == "gradient descent, rate 0.1: x_new = x_old - 0.1 * f'(x_old)"
    assert lines[1].split() == ["k", "x_old", "f'(x_old)", "x_new"]
    assert lines[2].split() == ["1", "8.00", "12.00", "6.80"]
    assert lines[3].split() == ["2", "6.80", "9.60", "5.84"]
    assert lines[4].split() == ["3", "5.84", "7.68", "5.07"]
    # The seed prints 4.45 here, having rounded 5.072 to 5.07 first; exactly it is 4.4576.
    assert lines[5].split() == ["4", "5.07", "6.14", "4.46"]
    assert lines[-1].startswith("converged")
    assert "4.4576" in format_table(result, digits=4)
    assert iteration_rows(result)[3] == (4, result.path[3], result.grads[3], result.path[4])


def test_table_elides_middle_rows_and_never_shows_minus_zero():
    table = format_table(gradient_descent(seed, 8.0, lr=0.1), max_rows=4)
    body = table.splitlines()[2:-1]
    assert len(body) == 5 and body[2] == "..."
    assert "-0.00" not in format_table(gradient_descent(seed, 8.0, lr=0.95, max_steps=200))


# ---- regimes and suggestions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lr", "regime", "steps", "suggestion"),
    [
        (0.01, "too_slow", 100, "try a larger rate: rates below 1 "),
        (1e-10, "too_slow", 100, "try a larger rate"),  # tiny steps are not convergence
        (0.1, "converged", 82, None),
        (0.5, "converged", 1, None),  # 1/f'': one step onto the minimum
        (1.0, "oscillating", 6, "try a rate below 1 "),  # 8, -4, 8, -4, ...
        (1.05, "diverging", 6, "try a rate below 1 "),
        (3.0, "diverging", 6, "try a rate below 1 "),
    ],
)
def test_seed_regimes(lr, regime, steps, suggestion):
    result = gradient_descent(seed, 8.0, lr=lr, max_steps=100)
    assert (result.regime, result.steps) == (regime, steps), result.reason
    assert result.converged == (regime == "converged")
    assert result.reason.startswith(regime.replace("_", " "))
    if suggestion is None:
        assert result.suggestion is None
    else:
        assert result.suggestion.startswith(suggestion)


def test_seed_stable_range_is_below_one():
    result = gradient_descent(seed, 8.0, lr=0.1)
    assert result.curvature == pytest.approx(2.0, rel=CURVATURE_RTOL)
    assert result.stable_range[0] == 0.0
    assert result.stable_range[1] == pytest.approx(1.0, rel=CURVATURE_RTOL)


def test_slowly_dying_oscillation_suggests_half_the_limit():
    result = gradient_descent(seed, 8.0, lr=0.95, max_steps=50)  # factor −0.9 per step
    assert result.regime == "oscillating"
    assert result.suggestion.startswith("try a smaller rate, e.g. 0.5")


def test_oscillation_on_a_kink():
    result = gradient_descent(ds.abs, 1.05, lr=0.1)  # x ends bouncing between ±0.05
    assert result.regime == "oscillating"
    np.testing.assert_allclose(np.abs(result.path[-4:]), 0.05, rtol=1e-9)


def test_nan_is_diverging():
    result = gradient_descent(lambda x: ds.log(x) + x**2, 1.0, lr=2.0)  # x1 = 1 − 2·3 < 0
    assert result.regime == "diverging" and result.steps == 1
    assert "nan" in result.reason


@pytest.mark.parametrize("f", [lambda x: -(x**2), lambda x: -x])
def test_no_minimum(f):
    result = gradient_descent(f, 1.0, lr=0.1)
    assert result.regime == "diverging"
    assert "no minimum" in result.reason
    assert "bounded below" in result.suggestion


def test_start_must_be_finite_where_f_is():
    with pytest.raises(ValueError, match="start where f is defined"):
        gradient_descent(ds.log, -1.0, lr=0.1)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"lr": 0.0}, "lr"), ({"lr": -1}, "lr"), ({"lr": float("nan")}, "lr"),
     ({"lr": 0.1, "max_steps": -1}, "max_steps"), ({"lr": 0.1, "max_steps": 2.5}, "max_steps"),
     ({"lr": 0.1, "tol": -1.0}, "tol"), ({"lr": 0.1, "x0": [[1.0]]}, "x0")],
)
def test_bad_settings_are_named(kwargs, name):
    kwargs = {"x0": 8.0, **kwargs}
    with pytest.raises(ValueError, match=name):
        gradient_descent(seed, **kwargs)


# ---- several variables ------------------------------------------------------------------------


def test_vector_descent_converges_and_reports_largest_curvature():
    result = gradient_descent(bowl, [3.0, 1.0], lr=0.09)
    assert result.regime == "converged"
    assert result.path.shape == result.grads.shape == (result.steps + 1, 2)
    np.testing.assert_allclose(result.x, [0.0, 0.0], atol=1e-6)
    assert result.curvature == pytest.approx(20.0, rel=CURVATURE_RTOL)
    assert result.stable_range[1] == pytest.approx(0.1, rel=CURVATURE_RTOL)
    # first step by hand: ∇f(3, 1) = (6, 20)
    np.testing.assert_allclose(result.path[1], [3 - 0.09 * 6, 1 - 0.09 * 20], rtol=RTOL)


def test_vector_descent_diverges_above_two_over_lambda_max():
    result = gradient_descent(bowl, [3.0, 1.0], lr=0.11)
    assert result.regime == "diverging"
    assert result.suggestion.startswith("try a rate below 0.1 (2/λmax")


def test_ill_conditioned_valley_is_too_slow_at_the_stable_limit():
    result = gradient_descent(lambda v: v[0] ** 2 + 1e-4 * v[1] ** 2, [1.0, 1.0], lr=0.9,
                              max_steps=200)
    assert result.regime == "too_slow"
    assert result.suggestion.startswith("allow more steps, or rescale")


@pytest.mark.parametrize(
    "H",
    [
        [[2.0, 1.0], [1.0, -6.0]],  # the largest |λ| is negative: −6.12; λmax = 2.12
        [[-1.0, 0.0], [0.0, -4.0]],  # all negative: λmax = −1
        [[3.0, 0.0], [0.0, -3.0]],  # ±3: plain power iteration would not settle
        [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]],
    ],
)
def test_largest_curvature_is_the_top_eigenvalue(H):
    H = np.array(H)
    x = np.linspace(0.5, -1.0, len(H))
    # f(v) = ½ vᵀHv, written with engine ops
    value = largest_curvature(lambda v: 0.5 * (v @ (ds.tensor(H) @ v)), x)
    assert value == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=CURVATURE_RTOL)


# ---- Newton and grid search -------------------------------------------------------------------


def test_newton_takes_one_step_on_the_quadratic():
    result = newton(seed, 8.0)
    assert (result.steps, result.regime) == (1, "converged")
    assert result.x == pytest.approx(2.0, abs=1e-12)
    # f and f' at 8; f'' at 8 (one forward, two backward passes); f and f' at 2
    assert (result.evaluations.function, result.evaluations.gradient) == (3, 4)
    assert result.curvature == 2.0  # exact: the engine differentiates its own gradient
    assert "newton: x_new = x_old - f'(x_old) / f''(x_old)" in format_table(result)


def test_newton_on_a_vector_quadratic_solves_the_linear_system():
    f = lambda v: (v[0] - 1) ** 2 + 10 * (v[1] + 2) ** 2 + v[0] * v[1]  # noqa: E731
    H, b = np.array([[2.0, 1.0], [1.0, 20.0]]), np.array([2.0, -40.0])  # ∇f = Hv − b
    result = newton(f, [5.0, 5.0])
    assert result.steps == 1 and result.converged
    np.testing.assert_allclose(result.x, np.linalg.solve(H, b), rtol=1e-9)


def test_newton_warns_when_it_lands_on_a_maximum():
    result = newton(lambda x: -((x - 1) ** 2) + 0.1 * x**3, 0.5)
    assert result.converged and "maximum" in result.reason
    assert result.suggestion.startswith("start elsewhere")


def test_newton_stops_where_the_curvature_vanishes():
    result = newton(lambda x: x * 3.0 + 1.0, 0.0)  # f'' = 0 everywhere
    assert result.regime == "diverging" and "f'' is 0" in result.reason


def test_grid_search_finds_the_grid_point_and_counts_evaluations():
    result = grid_search(seed, -10.0, 10.0, n=101)
    assert result.x == pytest.approx(2.0, abs=1e-12)
    assert (result.evaluations.function, result.evaluations.gradient) == (101, 0)
    assert result.regime == "too_slow" and "±0.2" in result.reason  # one round: spacing 0.2
    assert np.all(np.isnan(result.grads))


def test_grid_search_refines_until_tol():
    result = grid_search(lambda x: (x - 0.123456789) ** 2, -1.0, 1.0, n=21, rounds=30, tol=1e-9)
    assert result.converged
    assert result.x == pytest.approx(0.123456789, abs=1e-9)
    assert result.evaluations.function == 21 * result.steps
    assert all(b < a for a, b in zip(result.spacings, result.spacings[1:], strict=False))
    assert "spacing" in format_table(result).splitlines()[1]


def test_grid_search_at_the_edge_says_widen():
    result = grid_search(seed, 3.0, 10.0)
    assert not result.converged and result.suggestion == "widen the range [lo, hi]"


# ---- side by side -----------------------------------------------------------------------------


def test_compare_puts_the_three_methods_side_by_side():
    comparison = compare(seed, 8.0, lr=0.1)
    assert isinstance(comparison, Comparison)
    rows = {row["method"]: row for row in comparison.to_rows()}
    assert set(rows) == {"gradient descent", "newton", "grid search"}
    for row in rows.values():
        assert row["x"] == pytest.approx(2.0, abs=1e-6)
        assert row["regime"] == "converged"
    assert rows["newton"]["steps"] == 1
    assert rows["gradient descent"]["steps"] == 82
    assert rows["grid search"]["gradient evaluations"] == 0
    assert rows["grid search"]["function evaluations"] > rows["gradient descent"][
        "function evaluations"] > rows["newton"]["function evaluations"]
    header = str(comparison).splitlines()[0].split()
    assert header[:4] == ["method", "x", "f(x)", "steps"]


def test_compare_leaves_out_the_grid_for_several_variables():
    rows = compare(bowl, [3.0, 1.0], lr=0.09).to_rows()
    assert [row["method"] for row in rows] == ["gradient descent", "newton"]


def test_docstring_examples():
    import descent.explain.minimize as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5
    assert result.failed == 0
