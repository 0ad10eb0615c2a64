"""Training that learned nothing for a reason the network shows ends with a note saying so.

Each reason is crafted: saturated sigmoids (unscaled inputs), a dead relu layer (biases far
below 0), a vanishing gradient (a deep sigmoid stack), constant predictions (inputs at
1e200 overflow the scaler; constant input columns), a classifier with no test rows or a
test part that lacks classes, and the learner's case of issue 13: a sigmoid network that
learns nothing with the defaults says why (gradient at the first layer, the rate).
Healthy trainings get no note.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris

import descent as ds
from descent.data import Standardizer, Table, load_windsor, load_windsor_xy
from descent.explain import Diagnostics, learning_notes
from descent.sklearn import NeuralNetClassifier, NeuralNetRegressor
from descent.tabular.recipe import Recipe
from descent.tabular.table_training import train_table
from descent.train import History

from ..cli.conftest import run

MSE = ds.nn.get_loss("mse")


def _regression(n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


def _has(notes, *words):
    return any(all(w in n for w in words) for n in notes)


def test_saturated_sigmoids_are_named_by_fit_and_by_learning_notes():
    X, y = _regression()
    X = X * 1000  # not standardized: every z is huge
    net = ds.nn.MLP([4, 16, 1], activation="sigmoid", seed=0, dtype=np.float64)
    h = ds.fit(net, X, y, epochs=3, verbose=False, seed=0, callbacks=[Diagnostics(probe=X)])
    assert _has(h.notes, "layer 1", "sigmoid outputs lie below 0.01 or above 0.99",
                "saturation"), h.notes
    assert _has(learning_notes(net, X, y, MSE), "layer 1", "saturation")


def test_a_dead_relu_layer_is_named():
    X, y = _regression()
    net = ds.nn.MLP([4, 16, 16, 1], activation="relu", seed=0, dtype=np.float64)
    net[2].bias.data[...] = -1e3  # layer 2: off for every row
    h = ds.fit(net, X, y, epochs=2, verbose=False, seed=0, callbacks=[Diagnostics(probe=X)])
    notes = learning_notes(net, X, y, MSE)
    for found in (h.notes, notes):
        assert _has(found, "layer 2: every relu unit outputs 0", "dead layer"), found
        assert not _has(found, "layer 1: every relu")
    assert _has(notes, "training learned nothing")


def test_a_vanishing_gradient_is_named():
    X, y = _regression()
    net = ds.nn.MLP([4] + [6] * 12 + [1], activation="sigmoid", seed=0, dtype=np.float64)
    notes = learning_notes(net, X, y, MSE)
    assert _has(notes, "the gradient reaching the first layer", "vanishing gradient"), notes


def test_constant_predictions_from_inputs_at_1e200_are_named_by_the_estimator():
    X, y, _ = load_windsor_xy()
    with np.errstate(over="ignore"):
        reg = NeuralNetRegressor(epochs=5, random_state=0).fit(X * 1e200, y)
    notes = reg.history_.notes
    assert _has(notes, "every row gets the same prediction", "1e200"), notes
    assert _has(notes, "training learned nothing")
    assert not _has(notes, "vanishing")  # zero inputs give W1 no gradient: not vanishing


def test_the_command_says_why_a_run_learned_nothing(tmp_path):
    rows = ["a,b,y"] + [f"1,2,{i % 7}.5" for i in range(60)]  # inputs say nothing
    csv = tmp_path / "flat.csv"
    csv.write_text("\n".join(rows) + "\n")
    result = run("train", csv, "--target", "y", "--epochs", "5", "--out",
                 tmp_path / "m.safetensors")
    assert result.exit_code == 0, result.output
    assert "note: every row gets the same prediction: the network ignores its inputs " \
           "because every input column is the same for every row" in result.stdout


def test_a_sigmoid_network_that_learns_nothing_with_the_defaults_says_why(tmp_path):
    """Issue 13: not only "kept the weights of epoch N" but the gradient and the rate."""
    result = run("train", "--activation", "sigmoid", "--optimizer", "sgd", "--hidden",
                 "16,16,16,16", "--out", tmp_path / "m.safetensors")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "note: training learned nothing" in out
    assert "the gradient reaching the first layer is" in out
    assert "4 sigmoid layers multiplies δ by f'(z) <= 1/4" in out
    assert "at learning rate 0.003 one step moves the first layer's weights by about" in out


def test_a_classifier_without_test_rows_or_with_classes_missing_there_says_so():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])
    table = Table(["a", "b", "species"],
                  {"a": X[:, 0], "b": X[:, 1], "species": names[y].astype(object)},
                  {"a": "numeric", "b": "numeric", "species": "categorical"},
                  np.arange(len(y)))
    quick = Recipe(epochs=3)
    r = train_table(table, "species", recipe=quick, test_fraction=0, verbose=False)
    assert _has(r.notes, "no rows were held out for testing"), r.notes
    tiny = table.take(np.r_[0:6, 50:56, 100:102])  # 2 virginica rows only
    r = train_table(tiny, "species", recipe=quick, test_fraction=0.1, verbose=False, seed=0)
    assert _has(r.notes, "the test part has", "none of class"), r.notes


def test_healthy_training_gets_no_note():
    r = train_table(load_windsor(), "price", recipe=Recipe(epochs=30), verbose=False)
    ours = ("training learned nothing", "every row gets", "layer ", "the gradient reaching",
            "no rows were held out", "the test part", "the validation part")
    assert r.history.notes == [] and not [n for n in r.notes if n.startswith(ours)]
    Xd, yd = ds.data.load_digits()
    Xd = Standardizer().fit(Xd).transform(Xd)
    net = ds.nn.MLP([64, 32, 10], activation="sigmoid", seed=0)
    h = ds.fit(net, Xd, yd, loss="cross_entropy", epochs=5, verbose=False, seed=0,
               callbacks=[Diagnostics(probe=Xd[:300])])
    assert h.notes == []
    assert learning_notes(net, Xd, yd, ds.nn.get_loss("cross_entropy")) == []
    Xi, yi = load_iris(return_X_y=True)
    assert NeuralNetClassifier(epochs=30, random_state=0).fit(Xi, yi).history_.notes == []


def test_notes_travel_with_the_history():
    h = History()
    h.record(0, {"loss": 1.0})
    h.notes.append("layer 1: dead")
    assert History.from_dict(h.to_dict()).notes == ["layer 1: dead"]
    assert History.from_dict({"epoch": [], "history": {}}).notes == []
