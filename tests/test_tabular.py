"""The tabular layer: recipe checks, splits, weighted scalers, training on a table, the
model file, and streaming predictions from CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

import descent as ds
from descent.data import load_windsor, read_csv
from descent.errors import DataError, ModelFileError
from descent.tabular.csv_predict import output_columns, write_predictions
from descent.tabular.model import TabularModel
from descent.tabular.recipe import Recipe
from descent.tabular.report import log_loss, score_split
from descent.tabular.scaling import fit_standardizer
from descent.tabular.table_training import split_rows, train_table
from descent.tabular.training import validation_split

FAST = Recipe(epochs=8)
WINDSOR_CSV = Path(ds.__file__).parent / "datasets" / "windsor_housing.csv"


@pytest.fixture(scope="module")
def windsor_result():
    return train_table(load_windsor(), "price", recipe=FAST, verbose=False)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def pets_csv(tmp_path_factory) -> Path:
    """A small classification table: a numeric, a yes/no and a one-hot column; text labels
    with one rare class."""
    rng = np.random.default_rng(0)
    rows = ["weight,indoor,colour,kind"]
    for i in range(120):
        kind = "cat" if i % 2 else "dog"
        weight = rng.normal(4 if kind == "cat" else 20, 2)
        rows.append(f"{weight:.2f},{'yes' if kind == 'cat' else 'no'},"
                    f"{['black', 'white', 'brown'][i % 3]},{kind}")
    rows.append("0.10,yes,white,hamster")  # a class with a single row
    return _write(tmp_path_factory.mktemp("pets") / "pets.csv", "\n".join(rows) + "\n")


# ---- recipe ------------------------------------------------------------------------------------

def test_recipe_defaults_depend_on_the_task():
    reg, clf = Recipe().checked("regression"), Recipe().checked("classification")
    assert (reg.hidden, reg.activation, reg.loss) == ((64,), "tanh", "mse")
    assert (clf.hidden, clf.activation, clf.loss) == ((64,), "relu", "cross_entropy")
    assert reg.optimizer == clf.optimizer == "adamw"


@pytest.mark.parametrize("field, value, message", [
    ("lr", 0.0, "--lr must be a number > 0"),
    ("epochs", 0, "--epochs must be a whole number >= 1"),
    ("hidden", (3, 0), "--hidden must hold positive whole numbers"),
    ("activation", "softmax", "--activation must be one of"),
    ("loss", "cross_entropy", "--loss 'cross_entropy' does not fit regression"),
    ("optimizer", "lbfgs", "--optimizer must be one of"),
    ("validation_fraction", 1.5, "--val-fraction must be a number > 0 and < 1"),
])
def test_recipe_errors_use_the_front_ends_names(field, value, message):
    names = {k: f"--{k.replace('_', '-')}" for k in
             ("hidden", "activation", "loss", "optimizer", "lr", "weight_decay", "epochs",
              "batch_size", "patience", "tol")}
    names["validation_fraction"] = "--val-fraction"
    with pytest.raises(ValueError, match=message):
        Recipe(**{field: value}, names=names).checked("regression")


# ---- splits and scalers -----------------------------------------------------------------------

def test_validation_split_is_stratified_and_disjoint():
    labels = np.array([0] * 80 + [1] * 20)
    train, val = validation_split(100, 0.2, np.random.default_rng(0), labels)
    assert len(val) == 20 and len(np.intersect1d(train, val)) == 0
    assert np.bincount(labels[val]).tolist() == [16, 4]
    with pytest.raises(ValueError, match="n_samples=1"):
        validation_split(1, 0.2, np.random.default_rng(0))


def test_split_rows_is_stratified():
    labels = np.repeat([0, 1, 2], [50, 50, 20])
    parts = split_rows(120, 0.2, 0.2, seed=3, labels=labels)
    counts = {k: np.bincount(labels[v], minlength=3).tolist() for k, v in parts.items()}
    assert counts == {"train": [30, 30, 12], "validation": [10, 10, 4], "test": [10, 10, 4]}


def test_split_rows_keeps_every_class_in_training():
    labels = np.array([0] * 30 + [1] * 30 + [2])  # class 2 has one row
    for seed in range(10):
        parts = split_rows(61, 0.2, 0.2, seed, labels)
        assert 2 in labels[parts["train"]]
        rows = np.concatenate([parts["train"], parts["validation"], parts["test"]])
        assert np.array_equal(np.sort(rows), np.arange(61))


def test_split_rows_zero_fractions_and_too_few_rows():
    parts = split_rows(10, 0.0, 0.0, seed=0)
    assert len(parts["train"]) == 10 and len(parts["validation"]) == len(parts["test"]) == 0
    with pytest.raises(DataError, match="3 rows are too few"):
        split_rows(3, 0.2, 0.2, seed=0)
    with pytest.raises(ValueError, match="below 1"):
        split_rows(10, 0.5, 0.5, seed=0)


def test_weighted_standardizer_equals_repeated_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15, 4))
    X[:, 3] = 7.0  # a constant column gets scale 1
    w = rng.integers(0, 4, size=15)
    w[0] = 1
    weighted = fit_standardizer(X, w.astype(float))
    repeated = fit_standardizer(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.mean_, repeated.mean_, rtol=1e-13)
    np.testing.assert_allclose(weighted.scale_, repeated.scale_, rtol=1e-12)
    assert weighted.scale_[3] == 1.0


# ---- training on a table ------------------------------------------------------------------------

def test_train_table_regression(windsor_result):
    r = windsor_result
    assert [s.split for s in r.scores] == ["train", "validation", "test"]
    assert [s.n_rows for s in r.scores] == [328, 109, 109]
    # the default ensemble: 5 networks of 64 units merged into one of 320
    assert r.model.task == "regression" and r.model.network.sizes == [11, 320, 1]
    # the scalers saw the training rows only
    X_train = r.model.encoder.transform(load_windsor().take(r.splits["train"]))
    np.testing.assert_allclose(r.model.x_scaler.mean_, X_train.mean(axis=0), rtol=1e-12)
    # the baseline predicts the training mean: R² exactly 0 on the training rows
    assert r.scores[0].baseline["R²"] == pytest.approx(0.0, abs=1e-12)
    assert r.scores[0].model["R²"] > 0.5


def test_refit_evaluates_one_network_and_saves_the_whole_ensemble_fit_on_every_row(
        monkeypatch):
    """With a refit, the evaluated fit trains only the network the weight decay is chosen
    with (the rest of its ensemble would change nothing that is saved); the refit trains
    the whole ensemble on every row, for the same length and decay as when the evaluated
    ensemble is trained in full."""
    from descent.tabular import training

    built: list[int] = []
    real = training.build_network
    monkeypatch.setattr(training, "build_network",
                        lambda *a, **k: built.append(1) or real(*a, **k))
    recipe = Recipe(hidden=(4,), epochs=12, patience=3, ensemble=3)
    got = {}
    for refit in (True, False):
        built.clear()
        got[refit] = train_table(load_windsor(), "price", recipe=recipe, cv=0, refit=refit,
                                 verbose=False)
        # 2 weight-decay candidates, then 3 refit networks / the other 2 members
        assert len(built) == (5 if refit else 4)
    refit, kept = got[True], got[False]
    assert refit.recipe.weight_decay == kept.recipe.weight_decay
    assert refit.chosen_epochs == kept.chosen_epochs and refit.refit_epochs >= 1
    np.testing.assert_allclose(refit.evaluated_history["val_loss"],
                               kept.evaluated_history["val_loss"], rtol=1e-12)
    # both save the merged ensemble of 3 networks of 4 units
    assert refit.model.network.sizes == kept.model.network.sizes == [11, 12, 1]
    assert len(refit.history) == refit.refit_epochs
    # the saved model's scalers saw every labelled row; the kept one only its training part
    X_all = refit.model.encoder.transform(load_windsor())
    np.testing.assert_allclose(refit.model.x_scaler.mean_, X_all.mean(axis=0), rtol=1e-12)
    assert not np.allclose(kept.model.x_scaler.mean_, X_all.mean(axis=0), rtol=1e-6)
    # the scores are those of the one network, and the output says so
    assert any("scores above are those of one network" in n and "averages 3" in n
               for n in refit.notes)
    assert not any("scores above are those of one network" in n for n in kept.notes)


def test_train_table_classification_with_text(pets_csv):
    r = train_table(read_csv(pets_csv), "kind", recipe=FAST, verbose=False)
    m = r.model
    assert m.task == "classification" and m.classes == ["cat", "dog", "hamster"]
    assert m.encoder.feature_names_ == ["weight", "indoor", "colour=black", "colour=brown",
                                        "colour=white"]
    pred = m.predict(read_csv(pets_csv))
    np.testing.assert_allclose(pred.probabilities.sum(axis=1), 1.0, rtol=1e-12)
    assert set(pred.values) <= {"cat", "dog", "hamster"}
    assert r.scores[-1].model["accuracy"] > 0.9


def test_unknown_target_column_suggests_a_name():
    with pytest.raises(DataError, match="did you mean 'price'"):
        train_table(load_windsor(), "prise", recipe=FAST, verbose=False)


def test_missing_values_filled_from_training_rows(tmp_path):
    text = "x,c,y\n" + "".join(f"{i},{'a' if i % 2 else 'b'},{2 * i}\n" for i in range(40))
    text = text.replace("\n5,a,10\n", "\n,a,10\n").replace("\n8,b,16\n", "\n8,,16\n")
    path = _write(tmp_path / "gaps.csv", text)
    with pytest.raises(DataError, match="line 7"):
        read_csv(path)
    r = train_table(read_csv(path, missing="keep"), "y", task="regression", recipe=FAST,
                    missing="mean", verbose=False)
    assert r.model.encoder.missing == "mean"
    assert np.all(np.isfinite(r.model.predict(read_csv(path, missing="keep")).values))


# ---- the model file ----------------------------------------------------------------------------

def test_save_load_round_trip_predicts_the_same(windsor_result, tmp_path):
    path = tmp_path / "m.safetensors"
    windsor_result.model.save(path, extra={"note": "hi"})
    loaded, extra = TabularModel.load(path)
    table = load_windsor()
    assert extra == {"note": "hi"}
    assert np.array_equal(loaded.predict(table).values, windsor_result.model.predict(table).values)


def test_a_bare_network_file_is_not_a_tabular_model(tmp_path):
    path = tmp_path / "bare.safetensors"
    ds.save(ds.nn.MLP([2, 3, 1], seed=0), path)
    with pytest.raises(ModelFileError, match="not a model trained on a table"):
        TabularModel.load(path)


def test_inconsistent_preprocessing_is_refused(windsor_result, tmp_path):
    pre = windsor_result.model.preprocessing()
    path = tmp_path / "bad.safetensors"
    ds.save(ds.nn.MLP([5, 3, 1], seed=0), path, preprocessing=pre)
    with pytest.raises(ModelFileError, match="the encoder makes 11 features but the network "
                                             "reads 5"):
        TabularModel.load(path)


# ---- streaming predictions ---------------------------------------------------------------------

def _read(buffer: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(buffer)))


def test_predictions_equal_in_memory_and_chunks_do_not_matter(windsor_result):
    """The file holds exactly the in-memory predictions (repr round-trips float64). Read in
    other block sizes, rows agree to 1e-12 relative: BLAS may sum a row's dot products in
    another order for another number of rows (measured: 1 ulp, ~1e-16)."""
    model = windsor_result.model
    whole, chunked = io.StringIO(), io.StringIO()
    assert write_predictions(model, WINDSOR_CSV, whole) == 546
    write_predictions(model, WINDSOR_CSV, chunked, chunk_rows=7)
    rows, rows_chunked = _read(whole.getvalue()), _read(chunked.getvalue())
    assert rows[0][-1] == "predicted_price" and rows[0][:-1] == read_csv(WINDSOR_CSV).columns
    written = np.array([float(r[-1]) for r in rows[1:]])
    assert np.array_equal(written, model.predict(read_csv(WINDSOR_CSV)).values)
    np.testing.assert_allclose([float(r[-1]) for r in rows_chunked[1:]], written, rtol=1e-12)
    assert [r[:-1] for r in rows_chunked] == [r[:-1] for r in rows]
    raw = WINDSOR_CSV.read_text().splitlines()
    assert [",".join(r[:-1]) for r in rows[1:3]] == raw[1:3]  # input columns kept as written


def test_classification_output_columns(pets_csv):
    model = train_table(read_csv(pets_csv), "kind", recipe=FAST, verbose=False).model
    out = io.StringIO()
    write_predictions(model, pets_csv, out)
    rows = _read(out.getvalue())
    assert rows[0][-4:] == ["probability_cat", "probability_dog", "probability_hamster",
                            "predicted_kind"]
    probs = np.array([[float(v) for v in r[-4:-1]] for r in rows[1:]])
    expected = model.predict(read_csv(pets_csv))
    assert np.array_equal(probs, expected.probabilities)
    assert [r[-1] for r in rows[1:]] == list(expected.values)
    assert output_columns(model, ["predicted_kind"])[-1] == "predicted_kind_1"


def test_predict_csv_errors(windsor_result, tmp_path, pets_csv):
    no_column = _write(tmp_path / "a.csv", "lotsize,bedrooms\n5000,3\n")
    with pytest.raises(DataError, match="missing column.*'bathrms'"):
        write_predictions(windsor_result.model, no_column, io.StringIO())
    model = train_table(read_csv(pets_csv), "kind", recipe=FAST, verbose=False).model
    unseen = _write(tmp_path / "b.csv", "weight,indoor,colour\n4,yes,white\n5,yes,green\n")
    with pytest.raises(DataError, match=r"b\.csv, line 3, column 'colour'.*'green'"):
        write_predictions(model, unseen, io.StringIO(), unknown="error")
    out, counts = io.StringIO(), {}
    assert write_predictions(model, unseen, out, unseen=counts) == 2  # the default: unseen
    assert counts == {"colour": 1}


# ---- report ------------------------------------------------------------------------------------

def test_scores_and_baselines():
    y = np.array([0, 1, 1, 1])
    proba = np.array([[1.0, 0.0], [0.2, 0.8], [0.4, 0.6], [0.0, 1.0]])
    s = score_split("test", "classification", y, np.array([1, 1, 0]), proba, 2)
    assert s.model["accuracy"] == 1.0
    assert s.baseline["accuracy"] == 0.75  # always the training majority, class 1
    assert s.baseline["log loss"] == pytest.approx(-(np.log(1 / 3) + 3 * np.log(2 / 3)) / 4)
    # a confident wrong answer is clipped, not infinite
    assert log_loss(np.array([0]), np.array([[0.0, 1.0]])) == pytest.approx(-np.log(1e-15))



# ---- the docstring examples -------------------------------------------------------------------

@pytest.mark.parametrize("module", ["recipe", "training", "scaling", "model", "report",
                                    "table_training", "csv_predict"])
def test_docstring_examples_run(module, tmp_path, monkeypatch):
    import doctest
    import importlib
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = doctest.testmod(importlib.import_module(f"descent.tabular.{module}"))
    assert result.attempted > 0 and result.failed == 0
