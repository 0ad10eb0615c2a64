"""`descent descend`: compare draws every method, two variables draw a contour map, headers
name the variables, Newton shows f'', and --tol does what its help says."""

from __future__ import annotations

import re

import numpy as np
import pytest

from descent.explain.descent_plots import plot_contour, plot_methods, separate_minima
from descent.explain.formula import Formula
from descent.explain.minimize import compare, gradient_descent, newton
from tests.cli.conftest import run

TWO_VALLEYS = "x**4 - 3*x**2 + x"


def test_compare_plot_draws_all_three_and_names_the_local_minimum(tmp_path) -> None:
    both, plain = tmp_path / "compare.svg", tmp_path / "gd.svg"
    result = run("descend", TWO_VALLEYS, "--x0", "2", "--lr", "0.01", "--method", "compare",
                 "--plot", both)
    assert result.exit_code == 0, result.output
    assert "local minimum: gradient descent at x = 1.1309" in result.stdout
    assert "grid search found x = -1.3008" in result.stdout
    run("descend", TWO_VALLEYS, "--x0", "2", "--lr", "0.01", "--plot", plain)
    svg = both.read_text()
    assert svg != plain.read_text()
    for gid in ("gradient descent", "newton", "grid search", "valley"):
        assert f'id="{gid}' in svg.replace("_", " ")


def test_the_methods_figure_shows_both_valleys_and_says_which_is_local() -> None:
    f = Formula(TWO_VALLEYS)
    results = compare(f.to_function(), 2.0, lr=0.01).results
    fig = plot_methods(f, 2.0, results)
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert lo < -1.301 and hi > 2.0  # both valleys and the start are in view
    valleys = [line.get_xdata()[0] for line in ax.get_lines() if line.get_gid() == "valley"
               or line.get_linestyle() == ":"]
    assert np.round(valleys, 1).tolist() == [-1.3, 1.1]
    assert "found a local minimum" in ax.get_title() and "-1.301" in ax.get_title()
    paths = {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}
    assert np.array_equal(paths["gradient descent"].get_xdata(), results[0].path)
    assert np.array_equal(paths["newton"].get_xdata(), results[1].path)
    same = compare(lambda x: x**2 - 4 * x + 6, 8.0, lr=0.1).results
    assert not separate_minima(same)
    assert "local" not in plot_methods(Formula("x**2 - 4*x + 6"), 8.0, same).axes[0].get_title()


def test_two_variables_draw_a_contour_map_with_the_path(tmp_path) -> None:
    plot = tmp_path / "contour.png"
    result = run("descend", "(x-1)**2 + 10*(y+2)**2", "--x0", "0,0", "--lr", "0.05",
                 "--plot", plot)
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:4] == b"\x89PNG"
    f = Formula("(u-1)**2 + 10*(v+2)**2")
    walk = gradient_descent(f.to_function(), [0.0, 0.0], 0.05)
    fig = plot_contour(f, [walk, newton(f.to_function(), [0.0, 0.0])])
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("u", "v")
    (drawn,) = [line for line in ax.get_lines() if line.get_gid() == "gradient descent"]
    assert np.array_equal(drawn.get_xydata(), walk.path)
    assert run("descend", "x*y*z", "--x0", "1,1,1", "--plot", plot).exit_code == 2


def test_the_two_variable_table_names_both_variables() -> None:
    result = run("descend", "(a-1)**2 + (b+2)**2", "--x0", "0,0", "--lr", "0.25")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "_old" in line)
    assert "(a, b)_old" in header and "∇f(a, b)_old" in header and "(a, b)_new" in header


def test_newton_shows_the_second_derivative_it_divides_by() -> None:
    result = run("descend", "x**4 - 3*x**2 + x", "--x0", "2", "--method", "newton")
    assert result.exit_code == 0, result.output
    assert "f''(x_old)" in result.stdout
    first = next(line for line in result.stdout.splitlines() if re.match(r"│\s+1 │", line))
    cells = [c.strip() for c in first.strip("│").split("│")]
    x_old, slope, curvature, x_new = (float(c) for c in cells[1:5])
    assert curvature == pytest.approx(12 * 2**2 - 6)  # f''(x) = 12x² − 6 at x = 2
    assert x_new == pytest.approx(x_old - slope / curvature)


@pytest.mark.parametrize("tol", ["1e-3", "1e-10"])
def test_tol_stops_where_the_help_says(tol) -> None:
    help_text = re.sub(r"[│\s]+", " ", run("descend", "--help").stdout)
    assert ("Stop when |f'(x)| <= TOL. Gradient descent also stops when a step moves x by at "
            "most TOL·max(1, |x|) while |f'(x)| <= √TOL") in help_text
    t = float(tol)
    walk = gradient_descent(lambda x: x**2 - 4 * x + 6, 8.0, 0.1, tol=t)
    slope = abs(walk.grads[-1])
    step = abs(walk.path[-1] - walk.path[-2])
    assert slope <= t or (step <= t * max(1.0, abs(walk.x)) and slope <= np.sqrt(t))
    result = run("descend", "x**2 - 4*x + 6", "--x0", "8", "--tol", tol, "--rows", "0")
    assert f"after {walk.steps} steps" in result.stdout
