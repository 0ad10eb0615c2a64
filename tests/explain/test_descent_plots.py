"""plot_descent: the files it writes, and that what it draws is gradient_descent's own path.

Path data is compared exactly (np.array_equal): the plot must show the run, not a redo of it.
"""

from __future__ import annotations

import doctest
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from matplotlib.image import imread

from descent.explain.descent_plots import plot_descent, pretty
from descent.explain.formula import Formula
from descent.explain.minimize import gradient_descent

SEED = "x**2 - 4*x + 6"
RATES = (0.01, 0.1, 1.05)


def seed(x):
    return x**2 - 4 * x + 6


def line(ax, gid):
    (found,) = [artist for artist in ax.get_lines() if artist.get_gid() == gid]
    return found


@pytest.fixture(scope="module")
def seed_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("plots") / "seed.png"
    return path, plot_descent(Formula(SEED), 8.0, RATES, path=path)


def test_png_is_written_and_decodes(seed_png):
    path, _ = seed_png
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # three panels of curves, not an empty canvas
    pixels = imread(path)
    assert pixels.shape[1] > 2 * pixels.shape[0]  # three panels side by side
    assert pixels[..., :3].std() > 0.05  # something is drawn


def test_each_panel_draws_gradient_descents_path(seed_png):
    _, fig = seed_png
    assert len(fig.axes) == len(RATES)
    for ax, rate in zip(fig.axes, RATES, strict=True):
        result = gradient_descent(seed, 8.0, rate, max_steps=100)
        x, y = line(ax, "path").get_data()
        assert np.array_equal(x, result.path)
        assert np.array_equal(y, result.values)


def test_titles_give_the_verdicts(seed_png):
    _, fig = seed_png
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["rate 0.01: too slow: x = 2.80 after 100 steps",
                      "rate 0.1: converged in 82 steps",
                      "rate 1.05: diverging: stopped after 6 steps"]
    assert "x² − 4·x + 6" in fig.get_suptitle()


def test_minimum_is_marked_at_two_and_axes_are_labelled(seed_png):
    _, fig = seed_png
    for ax in fig.axes:
        x, y = line(ax, "minimum").get_data()
        assert x[0] == pytest.approx(2.0, abs=1e-9) and y[0] == pytest.approx(2.0, abs=1e-9)
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y = f(x)")
        curve_x, curve_y = line(ax, "curve").get_data()
        np.testing.assert_allclose(curve_y, seed(curve_x), rtol=1e-12)
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == ["y = f(x)", "gradient descent path", "start x0 = 8", "minimum x = 2"]


def test_svg_is_xml_with_paths(tmp_path):
    path = tmp_path / "seed.svg"
    plot_descent(seed, 8.0, rates=(0.1,), path=path)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    paths = [element for element in root.iter() if element.tag.endswith("path")]
    assert len(paths) > 20


def test_a_runaway_is_drawn_whole_but_the_view_stays_on_the_valley():
    def quartic(x):
        return x**4 - 3 * x**2 + x

    fig = plot_descent(quartic, 2.0, rates=(0.3,))
    (ax,) = fig.axes
    result = gradient_descent(quartic, 2.0, 0.3, max_steps=100)
    assert result.regime == "diverging" and np.nanmax(np.abs(result.path)) > 1e10
    assert np.array_equal(line(ax, "path").get_xdata(), result.path)
    lo, hi = ax.get_xlim()
    assert -10 < lo < hi < 10
    assert any("leaves the view" in text.get_text() for text in ax.texts)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"f": Formula("x*y"), "x0": 1.0}, "one variable"),
        ({"f": seed, "x0": [1.0, 2.0]}, "one variable"),
        ({"f": seed, "x0": 1.0, "path": "plot.jpg"}, "png or .svg"),
        ({"f": seed, "x0": 1.0, "rates": ()}, "rates is empty"),
    ],
)
def test_bad_requests_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_descent(**kwargs)


def test_pretty_formula_text():
    assert pretty(SEED) == "x² − 4·x + 6"
    assert pretty("x**-2 + x**2.5") == "x⁻² + x^2.5"


def test_docstring_examples():
    import descent.explain.descent_plots as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4
    assert result.failed == 0
