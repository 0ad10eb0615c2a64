"""Training plots: files are valid PNG/SVG, and what is drawn is exactly the data given."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import descent as ds
from descent.explain.diagnostics import Diagnostics
from descent.explain.training_plots import (
    plot_decision_boundary,
    plot_gradient_norms,
    plot_loss,
    plot_predicted_vs_actual,
    save_figure,
)
from descent.train import History, fit

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    return path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000


def _is_svg(path):
    return ET.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_loss_curves_draw_the_history(tmp_path):
    history = History()
    loss = [1.0, 0.6, 0.4, 0.35, 0.33]
    val = [1.1, 0.7, 0.5, 0.52, 0.55]
    for epoch, (l, v) in enumerate(zip(loss, val, strict=True)):
        history.record(epoch, {"loss": l, "val_loss": v})
    fig = plot_loss(history, tmp_path / "loss.png")
    train_line, val_line, best = fig.axes[0].get_lines()
    np.testing.assert_array_equal(train_line.get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(train_line.get_ydata(), loss)
    np.testing.assert_array_equal(val_line.get_ydata(), val)
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (3, 0.5)  # the lowest val_loss
    assert fig.axes[0].get_yscale() == "linear"  # 1.1/0.33 is no reason for a log scale
    assert _is_png(tmp_path / "loss.png")
    plot_loss({"loss": loss}, tmp_path / "loss.svg")
    assert _is_svg(tmp_path / "loss.svg")


def test_loss_spanning_decades_goes_on_a_log_scale():
    fig = plot_loss({"loss": [10.0, 1.0, 0.1, 0.01]})
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].get_lines()) == 1
    with pytest.raises(ValueError, match="no 'loss'"):
        plot_loss({"val_loss": [1.0]})


def test_gradient_norms_draw_each_layers_record(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(128, 3))
    y = X[:, 0] - X[:, 1] ** 2
    net = ds.nn.MLP([3, 8, 8, 8, 1], activation="sigmoid", seed=0)
    diag = Diagnostics()
    fit(net, X, y, loss="quadratic", optimizer="sgd", lr=0.1, epochs=4, batch_size=32,
        seed=0, verbose=False, callbacks=[diag])
    fig = plot_gradient_norms(diag, tmp_path / "grads.png")
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert ax.get_yscale() == "log" and len(lines) == 4
    for line, key in zip(lines, ["W1", "W2", "W3", "W4"], strict=True):
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_array_equal(line.get_ydata(), diag.grad_norm[key])
        assert line.get_label().startswith(key)
    assert lines[0].get_label() == "W1 (input side)"
    assert _is_png(tmp_path / "grads.png")
    from_dict = plot_gradient_norms(diag.to_dict(), tmp_path / "grads.svg")
    np.testing.assert_array_equal(from_dict.axes[0].get_lines()[2].get_ydata(),
                                  diag.grad_norm["W3"])
    assert _is_svg(tmp_path / "grads.svg")


def test_predicted_vs_actual_draws_the_points_the_diagonal_and_r2(tmp_path):
    rng = np.random.default_rng(1)
    actual = rng.normal(size=60)
    predicted = actual + 0.3 * rng.normal(size=60)
    fig = plot_predicted_vs_actual(actual, predicted.reshape(-1, 1), tmp_path / "pred.png")
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.collections[0].get_offsets(),
                                  np.column_stack([actual, predicted]))
    diagonal = ax.get_lines()[0]
    np.testing.assert_array_equal(diagonal.get_xdata(), diagonal.get_ydata())  # y = x
    assert diagonal.get_xdata()[0] <= min(actual.min(), predicted.min())
    assert diagonal.get_xdata()[1] >= max(actual.max(), predicted.max())
    r2 = 1 - np.sum((actual - predicted) ** 2) / np.sum((actual - actual.mean()) ** 2)
    shown = float(re.search(r"R² = (-?[\d.]+)", ax.get_title()).group(1))
    assert shown == pytest.approx(r2, abs=5e-4)  # printed with 3 decimals
    assert _is_png(tmp_path / "pred.png")


def _moons(n, rng):
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.where(label == 0, np.cos(t), 1 - np.cos(t))
    y = np.where(label == 0, np.sin(t), 0.5 - np.sin(t))
    return np.column_stack([x, y]) + 0.1 * rng.normal(size=(n, 2)), label


def _assert_points_by_class(ax, X, labels, names):
    """One scatter per class, labelled with its name in the legend, holding its points."""
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == names
    scatters = {c.get_label(): c for c in ax.collections if c.get_label() in names}
    for k, name in enumerate(names):
        np.testing.assert_array_equal(scatters[name].get_offsets(), X[labels == k])


def test_decision_boundary_names_its_axes_classes_and_keeps_its_title_on_the_figure():
    X = np.random.default_rng(0).normal(size=(30, 2))
    labels = (X[:, 0] > 0).astype(int)
    net = ds.nn.MLP([2, 3, 1], output_activation="sigmoid", seed=0)
    title = "species: the classes the network predicts over the two inputs, test rows"
    fig = plot_decision_boundary(net, X, labels, title=title, resolution=30,
                                 feature_names=["petal length", "petal width"],
                                 class_names=["setosa", "virginica"])
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("petal length", "petal width")
    _assert_points_by_class(ax, X, labels, ["setosa", "virginica"])
    assert " ".join(ax.get_title().split()).startswith(title)
    assert max(len(line) for line in ax.get_title().splitlines()) <= 60  # wrapped, not cut
    assert fig.axes[1].get_ylabel() == "P(virginica)"
    with pytest.raises(ValueError, match="1 class names for 2 classes"):
        plot_decision_boundary(net, X, labels, class_names=["setosa"])


def test_binary_decision_boundary_lies_where_the_model_says_one_half(tmp_path):
    rng = np.random.default_rng(2)
    X, labels = _moons(200, rng)
    net = ds.nn.MLP([2, 16, 1], activation="tanh", output_activation="sigmoid", seed=0,
                    dtype=np.float64)
    fit(net, X, labels, loss="quadratic", lr=0.05, epochs=60, batch_size=32, seed=0,
        verbose=False)
    fig = plot_decision_boundary(net, X, labels, tmp_path / "moons.png", resolution=120)
    ax = fig.axes[0]
    _assert_points_by_class(ax, X, labels, ["class 0", "class 1"])
    boundary = next(c for c in ax.collections if list(getattr(c, "levels", [])) == [0.5])
    vertices = np.concatenate([p.vertices for p in boundary.get_paths()])
    assert len(vertices) > 10
    with ds.no_grad():
        p = net(ds.tensor(vertices)).data[:, 0]
    np.testing.assert_allclose(p, 0.5, atol=0.02)  # grid interpolation error only
    p_data = net(ds.tensor(X)).data[:, 0]
    accuracy = float(re.search(r"([\d.]+)%", ax.get_title()).group(1)) / 100
    assert accuracy == pytest.approx(np.mean((p_data > 0.5) == labels), abs=1e-3)
    assert _is_png(tmp_path / "moons.png")


def test_multiclass_regions_take_the_most_probable_class(tmp_path):
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    labels = np.repeat([0, 1, 2], 40)
    X = centres[labels] + 0.5 * rng.normal(size=(120, 2))
    net = ds.nn.MLP([2, 8, 3], activation="relu", seed=0, dtype=np.float64)  # logits
    fit(net, X, labels, loss="cross_entropy", lr=0.05, epochs=40, batch_size=32, seed=0,
        verbose=False)
    fig = plot_decision_boundary(net, X, labels, tmp_path / "blobs.svg", resolution=80)
    ax = fig.axes[0]
    regions = ax.collections[0]
    np.testing.assert_array_equal(regions.levels, [-0.5, 0.5, 1.5, 2.5])  # one band a class
    _assert_points_by_class(ax, X, labels, ["class 0", "class 1", "class 2"])
    with ds.no_grad():
        predicted = net(ds.tensor(X)).data.argmax(axis=1)
    accuracy = float(re.search(r"([\d.]+)%", ax.get_title()).group(1)) / 100
    assert accuracy == pytest.approx(np.mean(predicted == labels), abs=1e-3)
    assert accuracy > 0.9
    assert _is_svg(tmp_path / "blobs.svg")


def test_bad_inputs_are_refused(tmp_path):
    fig = plot_loss({"loss": [1.0, 0.5]})
    with pytest.raises(ValueError, match="name ending in .png, .svg"):
        save_figure(fig, tmp_path / "plot.jpeg")
    net = ds.nn.MLP([3, 1], seed=0)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plot_decision_boundary(net, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="4 labels for 5 points"):
        plot_decision_boundary(ds.nn.MLP([2, 1], seed=0), np.zeros((5, 2)), np.zeros(4))
