"""The command never shows a traceback: each way one escaped before, as a class.

Malformed model metadata (every preprocessing field replaced by hostile values), running
out of memory, a formula that starts with a minus, and the limits that keep memory bounded
by the work (classes in a target, network size against available memory).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import descent as ds
import descent.tabular.limits as limits
from descent.data import table_from_columns
from descent.data.target import MAX_CLASSES, TargetEncoder
from descent.errors import DataError, ModelFileError
from descent.io import read_model_file, write_model_file
from descent.tabular.model import TabularModel
from tests.metadata_paths import leaf_paths, replaced

from .conftest import QUICK, WINDSOR_CSV, run

HOSTILE: list[Any] = [None, 5, "x", [], {"a": 1}, "cross_entropy"]


@pytest.mark.slow
def test_every_malformed_preprocessing_field_is_refused_on_load(trained_model, tmp_path):
    """Each field is checked when the file is loaded: loading fails with ModelFileError, or
    the model loads and then predicts and explains like any other (never a TypeError from
    deep inside, as a malformed `loss` gave)."""
    tensors, meta = read_model_file(trained_model)
    crafted = tmp_path / "crafted.safetensors"
    rows = ds.data.read_csv(WINDSOR_CSV).take([0, 1])
    escaped = {}
    for path in leaf_paths(meta["preprocessing"], 2, ("preprocessing",)):
        for value in HOSTILE:
            write_model_file(crafted, tensors, replaced(meta, path, value))
            try:
                model, _ = TabularModel.load(crafted)
            except ModelFileError:
                continue
            try:  # what predict and explain do with a loaded model
                model.predict(rows)
                X = model.features(rows)
                y = model.encoder.transform_target(rows)
                y = y if model.y_scaler is None else model.y_scaler.transform(y)
                ds.explain.chain_rule(model.network, X[:1], y[:1], "W1", (0, 0),
                                      loss=model.loss)
            except DataError:
                pass  # e.g. a category renamed: the rows no longer fit, said with the line
            except Exception as error:  # noqa: BLE001 - the point: nothing else escapes
                escaped[f"{path} = {value!r}"] = repr(error)
    assert not escaped, escaped


@pytest.mark.parametrize("loss", [None, 5, "banana", "cross_entropy", ["mse"]])
def test_a_malformed_loss_field_is_one_line_from_every_command(trained_model, tmp_path, loss):
    tensors, meta = read_model_file(trained_model)
    meta["preprocessing"]["loss"] = loss
    crafted = tmp_path / "crafted.safetensors"
    write_model_file(crafted, tensors, meta)
    for args in (["explain", crafted, "--row", "1"], ["predict", crafted, WINDSOR_CSV]):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: {crafted}: loss ")
        assert len(result.stderr.strip().splitlines()) == 1


def test_out_of_memory_is_one_line(monkeypatch):
    import descent.cli.train as train_cli

    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 7.45 GiB for an array")

    monkeypatch.setattr(train_cli, "train_table", exhausted)
    result = run("train", *QUICK, "--out", "/dev/null/never")  # refused first: a bad --out
    assert result.exit_code == 2
    result = run("train", *QUICK, "--plots", "p")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == ("error: out of memory: Unable to allocate 7.45 GiB for "
                                     "an array; try fewer rows, fewer columns or a smaller "
                                     "network")


@pytest.mark.parametrize(("formula", "x0", "x"), [("-x**2 + x**4", "1", "0.707106"),
                                                  ("-x**2 + x**4", "-1", "-0.707106"),
                                                  ("-(x-3)**2*-1", "0", "2.99999")])
def test_a_formula_may_start_with_a_minus(formula, x0, x):
    result = run("descend", formula, "--x0", x0)
    assert result.exit_code == 0, result.output
    assert f"x = {x}" in result.stdout
    result = run("descend", "--x0", x0, formula, "--lr", "0.05")  # options on either side
    assert result.exit_code == 0, result.output


def test_help_is_still_help():
    assert "Usage" in run("descend", "-h").stdout


@pytest.mark.parametrize("value", [1, 0, None, b"model.safetensors", 1.5])
def test_load_refuses_what_is_not_a_path(value):
    with pytest.raises(TypeError, match="path"):
        ds.load(value)


def test_a_target_with_too_many_classes_is_refused_with_its_count():
    n = MAX_CLASSES + 1
    table = table_from_columns({"x": np.zeros(n), "id": [f"c{i}" for i in range(n)]})
    with pytest.raises(DataError, match=f"{n:,} distinct values, more than the "
                                        f"{MAX_CLASSES:,} classes"):
        TargetEncoder("id", "classification").fit(table)


def test_a_model_file_with_too_many_classes_is_refused_before_use():
    d = {"format": "descent.TargetEncoder", "version": 1, "column": "y",
         "task": "classification", "classes": [f"c{i:07d}" for i in range(MAX_CLASSES + 1)]}
    with pytest.raises(DataError, match="more than the 10,000 descent allows"):
        TargetEncoder.from_dict(d)


def test_a_network_too_large_for_memory_is_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 2**30)  # 1 GiB
    result = run("train", *QUICK, "--hidden", "20000,20000", "--ensemble", "1",
                 "--weight-decay", "0.01")
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.startswith("error: --hidden 20000,20000: a network of 400,")
    assert "more than the 1.0 GiB of memory available" in line
    assert line.endswith("use narrower layers")
    # choosing the weight decay trains two candidates together
    line = run("train", *QUICK, "--hidden", "20000,20000", "--ensemble", "1").stderr.strip()
    assert line.startswith("error: --hidden 20000,20000: 2 networks of 400,")
    assert line.endswith("or give --weight-decay (choosing it trains 2 networks at once)")


def test_an_ensemble_is_sized_as_all_its_networks(monkeypatch):
    """The members train together (stacked), so each alone fitting is not enough."""
    monkeypatch.setattr(limits, "available_memory", lambda: 2**30)  # 1 GiB
    # 1,000 × 1,000 weights: 48 MB to train one network, 4.8 GB for a hundred
    result = run("train", *QUICK, "--hidden", "1000,1000", "--ensemble", "100")
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.startswith("error: --hidden 1000,1000: 100 networks of 1,")
    assert line.endswith("use narrower layers or a smaller --ensemble")


@pytest.mark.parametrize("value", ["0", "101", "100000"])
def test_ensemble_size_is_bounded(value):
    result = run("train", *QUICK, "--ensemble", value)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"error: --ensemble must be a whole number from 1 to "
                                      f"100, got {value}")


