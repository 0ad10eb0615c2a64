"""`descent train` / `descent predict` on spreadsheet exports (tests/fixtures/*.csv): every
column understood, gaps filled, unseen categories counted, honest scores, a refit model."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from descent.tabular.model import TabularModel

from .conftest import run

FIXTURES = Path(__file__).parent.parent / "fixtures"
CUSTOMERS, NEW, CHURN = (FIXTURES / n for n in
                         ("customers.csv", "customers_new.csv", "churn_semicolon.csv"))


@pytest.fixture(scope="module")
def customers_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("spread") / "customers.safetensors"
    result = run("train", CUSTOMERS, "--target", "spend", "--epochs", "60", "--cv", "3",
                 "--out", path)
    assert result.exit_code == 0, result.output
    return path, result.stdout


def test_the_columns_are_printed_as_read(customers_model):
    _, out = customers_model
    lines = {line.split("│")[1].strip(): line for line in out.splitlines()
             if line.startswith("│") and line.count("│") == 7}
    assert "identifier" in lines["customer_id"] and "left out" in lines["customer_id"]
    assert "category" in lines["zip"] and "leading zeros" in lines["zip"]
    assert "number" in lines["income"] and "thousands ','" in lines["income"]
    assert "14" in lines["income"]  # missing cells, counted
    assert "percent" in lines["discount"] and "date" in lines["joined"]
    assert "yes/no" in lines["member"] and "text" in lines["notes"]
    assert "'$' removed" in lines["spend"]


def test_cross_validation_against_a_linear_model_and_a_refit(customers_model):
    path, out = customers_model
    assert "3-fold cross-validation" in out and "linear model (ridge)" in out
    assert "the saved model was refit on all 150 labelled rows" in out
    model, extra = TabularModel.load(path)
    assert extra["cv"] == 3 and extra["refit_epochs"] >= 1
    assert extra["epochs_run"] == extra["refit_epochs"]
    network, linear = extra["evaluation"]["network"], extra["evaluation"]["linear"]
    assert network["R²"][0] > 0.7 and linear["R²"][0] > 0.7
    # missing indicators where training had gaps
    assert "income missing" in model.encoder.feature_names_


def test_predict_reads_the_file_as_training_did_and_counts_unseen(customers_model, tmp_path):
    path, _ = customers_model
    result = run("predict", path, NEW)
    assert result.exit_code == 0, result.output
    assert "warning: categories not seen in training ('zip': 3 rows, 'city': 2 rows)" \
        in result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) == 13 and rows[0][-1] == "predicted_spend"
    assert all(np.isfinite(float(r[-1])) for r in rows[1:])
    strict = run("predict", path, NEW, "--unknown", "error")
    assert strict.exit_code == 2
    assert "column 'zip': category '80202' was not seen in training" in strict.stderr
    assert "--unknown ignore" in strict.stderr


def test_overrides_and_all_failing_columns_at_once(tmp_path):
    bad = tmp_path / "bad.csv"
    text = CUSTOMERS.read_text().splitlines()
    fields = text[5].split(",")
    text[5] = text[5].replace(fields[1], "oops", 1)  # zip is a category: fine
    text[7] = text[7].replace("%", "% more", 1)
    bad.write_text("\n".join(text) + "\n")
    result = run("train", bad, "--target", "spend", "--numeric", "zip", "--epochs", "2",
                 "--cv", "0", "--out", tmp_path / "m.safetensors")
    assert result.exit_code == 2
    message = result.stderr
    assert "column 'zip': 'oops' is not a number" in message
    assert "column 'discount'" in message and "--categorical discount" in message
    assert message.count("error:") == 1 and len(message.strip().splitlines()) == 1


def test_exclude_and_date_overrides(tmp_path):
    path = tmp_path / "m.safetensors"
    result = run("train", CUSTOMERS, "--target", "spend", "--exclude", "zip,city",
                 "--epochs", "3", "--cv", "0", "--out", path, "-q")
    assert result.exit_code == 0, result.output
    model, _ = TabularModel.load(path)
    assert model.input_columns == ["income", "discount", "joined", "member"]
    missing = run("train", CUSTOMERS, "--target", "spend", "--exclude", "zap",
                  "--out", path)
    assert missing.exit_code == 2 and "no column(s) 'zap'" in missing.stderr


def test_predict_counts_filled_cells_and_missing_error_is_strict(customers_model):
    path, _ = customers_model
    filled = run("predict", path, NEW)
    assert "warning: missing cells ('city': 1 cell, 'income': 1 cell) were filled as in " \
        "training; --missing error makes them an error" in filled.stderr
    strict = run("predict", path, NEW, "--missing", "error")
    assert strict.exit_code == 2
    # one line naming the file, the line and the column, in command-line syntax
    [message] = [line for line in strict.stderr.splitlines() if line.startswith("error:")]
    assert "customers_new.csv, line 7, column 'income': missing value (--missing error)" \
        in message


def test_missing_error_is_strict(tmp_path):
    result = run("train", CUSTOMERS, "--target", "spend", "--missing", "error", "--epochs",
                 "2", "--out", tmp_path / "m.safetensors")
    assert result.exit_code == 2
    assert "missing values in 2 columns" in result.stderr  # every column at once
    assert "column 'city': " in result.stderr and "column 'income': " in result.stderr
    assert "--missing median" in result.stderr


def test_semicolons_imbalance_and_class_weights(tmp_path):
    path = tmp_path / "churn.safetensors"
    result = run("train", CHURN, "--target", "churned", "--epochs", "40", "--cv", "3",
                 "--out", path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for word in ("balanced accuracy", "ROC AUC", "log loss", "macro F1", "precision",
                 "recall", "logistic regression", "imbalanced", "--class-weight balanced"):
        assert word in out, word
    weighted = run("train", CHURN, "--target", "churned", "--epochs", "40", "--cv", "3",
                   "--class-weight", "balanced", "--out", path)
    assert weighted.exit_code == 0, weighted.output
    assert "imbalanced" not in weighted.stdout
    predicted = run("predict", path, CHURN)
    assert predicted.exit_code == 0, predicted.output
    assert predicted.stdout.splitlines()[0].endswith("probability_no,probability_yes,"
                                                     "predicted_churned")


def test_no_refit_keeps_the_evaluated_model_and_the_epoch_cap_is_noted(tmp_path):
    path = tmp_path / "m.safetensors"
    result = run("train", "--epochs", "3", "--cv", "0", "--no-refit", "--out", path)
    assert result.exit_code == 0, result.output
    assert "the saved model is the evaluated one, trained on 328 rows" in result.stdout
    assert "epoch cap (3)" in result.stdout and "--epochs 6" in result.stdout
    _, extra = TabularModel.load(path)
    assert extra["refit_epochs"] is None
    best = extra["best_epoch"]
    assert f"kept the weights of epoch {best}," in result.stdout  # the same number


def test_output_activation(tmp_path):
    path = tmp_path / "m.safetensors"
    result = run("train", "--output-activation", "sigmoid", "--epochs", "20", "--cv", "0",
                 "--out", path, "-q")
    assert result.exit_code == 0, result.output
    model, _ = TabularModel.load(path)
    assert model.network.output_activation == "sigmoid"
    explained = run("explain", path)  # the chain rule shows the output's derivative
    assert explained.exit_code == 0, explained.output
    assert "σ'(z) = σ(z)(1 − σ(z))" in explained.stdout
    assert "target scaled into the sigmoid output's range" in explained.stdout
    refused = run("train", CHURN, "--target", "churned", "--output-activation", "tanh",
                  "--out", path)
    assert refused.exit_code == 2 and "--output-activation tanh applies to regression" \
        in refused.stderr
