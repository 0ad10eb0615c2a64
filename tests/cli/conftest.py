"""Shared pieces for the CLI tests: a runner, and one small model trained by the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import descent
from descent.cli import app

WINDSOR_CSV = Path(descent.__file__).parent / "datasets" / "windsor_housing.csv"
QUICK = ["--epochs", "5", "--quiet"]


def run(*args: str):
    """Invoke `descent ARGS...` in-process; the Result has exit_code, stdout and stderr.

    Output is not a terminal here; COLUMNS makes rich lay tables out 160 wide, so that
    cells the tests look for are not wrapped over two lines.
    """
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "160"})


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> Path:
    """A model trained by `descent train` on the embedded data, in few epochs."""
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    result = run("train", *QUICK, "--out", path)
    assert result.exit_code == 0, result.output
    return path
