"""The formula view's numbers: the same as descent.explain's, and clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from descent.explain import gradient_descent, newton
from descent.playground.formula_view import ViewError, descend_view


def test_the_seeds_table_is_the_first_preset_and_exact() -> None:
    view = descend_view("x**2 - 4*x + 6", "8", 0.1)
    assert view["gd"]["path"][:5] == pytest.approx([8.0, 6.8, 5.84, 5.072, 4.4576], rel=1e-15)
    assert view["table"][0] == {"k": 1, "x_old": 8.0, "slope": 12.0, "x_new": 6.8}
    assert view["gd"]["verdict"] == "converging"
    assert view["stable_range"] == [0.0, pytest.approx(1.0)]
    assert view["newton"]["steps"] == 1 and view["newton_table"][0]["curvature"] == 2.0
    assert view["grid"]["x"] == pytest.approx(2.0, abs=1e-7)
    json.dumps(view, allow_nan=False)  # what the server sends must be valid JSON


@pytest.mark.parametrize(("lr", "verdict"), [(0.01, "too slow"), (0.1, "converging"),
                                             (1.0, "oscillating"), (1.05, "diverging")])
def test_the_verdict_follows_the_rate(lr: float, verdict: str) -> None:
    view = descend_view("x**2 - 4*x + 6", "8", lr, 100)
    assert view["gd"]["verdict"] == verdict
    assert view["gd"]["regime"] == gradient_descent(lambda x: x**2 - 4 * x + 6, 8.0, lr,
                                                    100).regime
    json.dumps(view, allow_nan=False)


def test_two_valleys_both_show_and_the_methods_disagree() -> None:
    view = descend_view("x**4 - 3*x**2 + x", "2", 0.01)
    assert view["gd"]["x"] == pytest.approx(1.1309, abs=1e-3)
    assert view["grid"]["x"] == pytest.approx(-1.3008, abs=1e-3)
    assert [round(m, 1) for m in view["minima"]] == [-1.3, 1.1]


def test_two_variables_give_a_contour_grid_and_paths() -> None:
    view = descend_view("(x-1)**2 + 10*(y+2)**2", "0, 0", 0.05)
    z = np.array(view["contour"]["z"], dtype=float)
    assert z.shape == (70, 70) and view["grid"] is None
    x, y = np.meshgrid(view["contour"]["x"], view["contour"]["y"])
    assert np.allclose(z, (x - 1) ** 2 + 10 * (y + 2) ** 2)
    assert view["gd"]["path"][-1] == pytest.approx([1.0, -2.0], abs=1e-6)
    assert view["newton"]["x"] == pytest.approx(newton(
        lambda v: (v[0] - 1) ** 2 + 10 * (v[1] + 2) ** 2, [0.0, 0.0]).x)


@pytest.mark.parametrize(("formula", "x0", "lr", "field", "message"), [
    ("x.__class__", "1", 0.1, "formula", "attribute access is not allowed at column 1"),
    ("__import__('os')", "1", 0.1, "formula", "unknown function at column 1"),
    ("x + y + z", "1,1,1", 0.1, "formula", "one or two variables"),
    ("x**2", "1, 2", 0.1, "x0", "give 1 finite start value"),
    ("x**2", "abc", 0.1, "x0", "numbers separated by commas"),
    ("x**2", "1", -1, "lr", "must be a number > 0"),
    ("x**2", "1", "fast", "lr", "must be a number"),
    ("log(x)", "-1", 0.1, "x0", "start where f is defined"),
])
def test_bad_settings_name_their_field(formula: str, x0: str, lr, field: str,
                                       message: str) -> None:
    with pytest.raises(ViewError, match=message) as caught:
        descend_view(formula, x0, lr)
    assert caught.value.field == field
