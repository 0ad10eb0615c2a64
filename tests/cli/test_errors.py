"""Every mistake a user can make ends in exit status 2 and ONE line on stderr, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import QUICK, WINDSOR_CSV, run


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    files = {
        "binary": d / "binary.csv", "bad_cell": d / "bad_cell.csv", "one_col": d / "one.csv",
        "not_model": d / "not_model.safetensors", "empty": d / "empty.csv",
    }
    files["binary"].write_bytes(b"PK\x03\x04 zip bytes")
    files["bad_cell"].write_text("x,y\n1,2\n3,abc\n")
    files["one_col"].write_text("lotsize\n5000\n")
    files["not_model"].write_bytes(b"this is not a model file at all")
    files["empty"].write_text("")
    return files


CASES = {
    "missing csv": (["train", "{d}/nope.csv", "-t", "y"], "nope.csv: no such file"),
    "zip as csv": (["train", "{binary}", "-t", "y"], "binary.csv: is a ZIP archive"),
    "empty csv": (["train", "{empty}", "-t", "y"], "empty.csv: the file is empty"),
    "bad cell": (["train", "{bad_cell}", "-t", "y", "--task", "regression"],
                 "bad_cell.csv, line 3, target column 'y': 'abc' is not a number"),
    "no target option": (["train", "{bad_cell}"], "--target is required"),
    "unknown target": (["train", "-t", "prise", *QUICK], "did you mean 'price'"),
    "unknown feature": (["train", "--features", "lotsize,pool", *QUICK], "'pool'"),
    "bad hidden": (["train", "--hidden", "32,x", *QUICK], "--hidden takes layer widths"),
    "negative lr": (["train", "--lr", "-1", *QUICK], "--lr must be a number > 0"),
    "bad activation": (["train", "--activation", "softmax", *QUICK], "--activation must be"),
    "bad loss": (["train", "--loss", "cross_entropy", *QUICK], "--loss 'cross_entropy'"),
    "fractions": (["train", "--val-fraction", "0.5", "--test-fraction", "0.5", *QUICK],
                  "--val-fraction + --test-fraction must be below 1"),
    "out folder missing": (["train", *QUICK, "--out", "{d}/no/such/dir/m.safetensors"],
                           "the folder {d}/no/such/dir does not exist"),
    "out is a folder": (["train", *QUICK, "--out", "{d}"], "{d}"),
    "missing model": (["predict", "{d}/nope.safetensors", str(WINDSOR_CSV)], "nope.safetensors"),
    "not a model": (["predict", "{not_model}", str(WINDSOR_CSV)], "not_model.safetensors"),
    "missing column": (["predict", "{model}", "{one_col}"], "missing column(s) 'bedrooms'"),
    "bad formula": (["descend", "x.__class__", "--x0", "1"], "attribute access is not allowed "
                                                            "at column 1"),
    "formula syntax": (["descend", "x**", "--x0", "1"], "column"),
    "x0 count": (["descend", "x**2 + y**2", "--x0", "1"], "--x0 has 1 number(s) but the "
                                                          "formula has 2 variable(s)"),
    "x0 text": (["descend", "x**2", "--x0", "abc"], "--x0 takes a number"),
    "grid on 2 vars": (["descend", "x**2 + y**2", "--x0", "1,1", "--method", "grid"],
                       "one variable"),
    "explain param": (["explain", "{model}", "--param", "W7"], "--param W7"),
    "explain row": (["explain", "{model}", "--row", "9999"], "--row 9999 is past the end"),
    "explain csv without target": (["explain", "{model}", "--csv", "{one_col}"],
                                   "has no 'price' column"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_user_errors_are_one_line_exit_2(name, files, trained_model, tmp_path):
    args, expected = CASES[name]
    values = {k: str(v) for k, v in files.items()} | {"d": str(tmp_path),
                                                        "model": str(trained_model)}
    result = run(*(a.format(**values) for a in args))
    expected = expected.format(**values)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("args", [
    ["train", "--lr", "abc"], ["train", "--task", "clustering"], ["predict"],
    ["descend", "x**2"], ["nonsense"], ["demo", "--step", "9"],
])
def test_usage_errors_exit_2_without_traceback(args):
    """typer's own usage errors (a bad option value, a missing argument) also exit 2."""
    result = run(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Usage:" in result.output
