"""`descent train` and `descent predict`: the round trip, the output, the files."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from descent.data import read_csv
from descent.tabular.model import TabularModel

from .conftest import QUICK, WINDSOR_CSV, run


def test_train_with_no_arguments_uses_the_embedded_data(tmp_path, monkeypatch):
    """The README's first command: no CSV, no options; the model lands in ./model.safetensors.
    (Only --epochs is lowered here, to keep the test fast.)"""
    monkeypatch.chdir(tmp_path)
    result = run("train", "--epochs", "5")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "embedded Windsor house prices, 546 rows → price" in out
    assert "epoch 1/5" in out and "epoch 5/5" in out  # one line per epoch in a log
    for word in ("R²", "MAE", "RMSE", "5-fold cross-validation", "network",
                 "linear model (ridge)", "baseline", "± ", "refit on all 546 labelled rows",
                 "saved the model to model.safetensors", "the columns of"):
        assert word in out, word
    assert (tmp_path / "model.safetensors").stat().st_size > 1000


def test_predict_round_trip_equals_the_in_memory_model(trained_model, tmp_path):
    out = tmp_path / "pred.csv"
    result = run("predict", trained_model, WINDSOR_CSV, "--out", out)
    assert result.exit_code == 0, result.output
    assert "wrote 546 predictions of price" in result.stderr
    model, extra = TabularModel.load(trained_model)
    expected = model.predict(read_csv(WINDSOR_CSV)).values
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [*read_csv(WINDSOR_CSV).columns, "predicted_price"]
    assert np.array_equal([float(r[-1]) for r in rows[1:]], expected)
    assert extra["data"] == "embedded:windsor_housing.csv" and extra["epochs_run"] == 5


def test_predict_to_stdout(trained_model):
    result = run("predict", trained_model, WINDSOR_CSV)
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) == 547 and rows[0][-1] == "predicted_price"


def test_train_and_predict_a_classification_csv(tmp_path):
    rng = np.random.default_rng(1)
    lines = ["size,garden,colour,label"]
    for i in range(90):
        label = ["small", "medium", "large"][i % 3]
        size = {"small": 1, "medium": 5, "large": 9}[label] + rng.normal(0, 0.5)
        lines.append(f"{size:.3f},{'yes' if i % 2 else 'no'},{['red', 'blue'][i % 2]},{label}")
    data = tmp_path / "things.csv"
    data.write_text("\n".join(lines) + "\n")
    model_path, pred_path, plots = tmp_path / "c.safetensors", tmp_path / "p.csv", tmp_path / "pl"
    result = run("train", data, "--target", "label", "--epochs", "30", "--out", model_path,
                 "--plots", plots)
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.stdout and "log loss" in result.stdout
    assert "label (classification)" in result.stdout
    assert sorted(os.listdir(plots)) == ["confusion.png", "loss.png"]
    assert (plots / "loss.png").read_bytes()[:4] == b"\x89PNG"
    result = run("predict", model_path, data, "--out", pred_path)
    assert result.exit_code == 0, result.output
    with open(pred_path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][-4:] == ["probability_large", "probability_medium", "probability_small",
                            "predicted_label"]
    model, _ = TabularModel.load(model_path)
    assert [r[-1] for r in rows[1:]] == list(model.predict(read_csv(data)).values)
    accuracy = np.mean([r[-1] == r[3] for r in rows[1:]])
    assert accuracy > 0.9


def test_regression_plots(tmp_path):
    plots = tmp_path / "plots"
    result = run("train", *QUICK, "--out", tmp_path / "m.safetensors", "--plots", plots)
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(plots)) == ["loss.png", "predicted_vs_actual.png"]


def test_options_reach_the_network(tmp_path):
    path = tmp_path / "m.safetensors"
    result = run("train", *QUICK, "--hidden", "8,4", "--activation", "relu", "--features",
                 "lotsize,bedrooms,airco", "--val-fraction", "0", "--cv", "0", "--no-refit",
                 "--ensemble", "1", "--out", path)
    assert result.exit_code == 0, result.output
    model, extra = TabularModel.load(path)
    assert model.network.sizes == [3, 8, 4, 1] and model.network.activation == "relu"
    assert model.input_columns == ["lotsize", "bedrooms", "airco"]
    assert extra["rows"] == {"train": 437, "validation": 0, "test": 109}
    assert "validation" not in result.stdout
    merged = run("train", *QUICK, "--hidden", "8,4", "--ensemble", "3", "--cv", "0", "--out",
                 path)
    assert merged.exit_code == 0, merged.output
    assert TabularModel.load(path)[0].network.sizes == [11, 24, 12, 1]  # 3 merged into one


def test_unseen_categories_get_the_unseen_encoding_with_a_warning(tmp_path):
    lines = ["x,c,y"] + [f"{i},{'ab'[i % 2]},{i * 2 + (i % 2)}" for i in range(60)]
    data = tmp_path / "d.csv"
    data.write_text("\n".join(lines) + "\n")
    model_path = tmp_path / "m.safetensors"
    assert run("train", data, "-t", "y", *QUICK, "--out", model_path).exit_code == 0
    new = tmp_path / "new.csv"
    new.write_text("x,c\n3,a\n4,z\n")
    refused = run("predict", model_path, new, "--unknown", "error")
    assert refused.exit_code == 2
    assert "new.csv, line 3, column 'c': category 'z' was not seen in training" in refused.stderr
    accepted = run("predict", model_path, new)  # the default: the unseen encoding, counted
    assert accepted.exit_code == 0 and len(accepted.stdout.splitlines()) == 3
    assert "warning: categories not seen in training ('c': 1 row)" in accepted.stderr


def test_a_failed_predict_leaves_no_partial_file(trained_model, tmp_path):
    bad = tmp_path / "bad.csv"
    good_rows = Path(WINDSOR_CSV).read_text().splitlines()
    bad.write_text("\n".join([*good_rows[:50], good_rows[50].replace("yes", "maybe", 1)]) + "\n")
    out = tmp_path / "out.csv"
    result = run("predict", trained_model, bad, "--out", out, "--chunk-rows", "10")
    assert result.exit_code == 2 and "line 51" in result.stderr
    assert not out.exists() and os.listdir(tmp_path) == ["bad.csv"]
