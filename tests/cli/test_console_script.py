"""The installed `descent` console script, run as a real process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import descent

SCRIPT = shutil.which("descent", path=os.path.dirname(sys.executable)) or shutil.which("descent")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert SCRIPT is not None, "the descent console script is not installed"
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run([SCRIPT, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def test_train_then_predict_as_processes(tmp_path):
    trained = _run("train", "--epochs", "5", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "saved the model to model.safetensors" in trained.stdout
    assert (tmp_path / "model.safetensors").exists()
    csv = Path(descent.__file__).parent / "datasets" / "windsor_housing.csv"
    predicted = _run("predict", "model.safetensors", str(csv), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.splitlines()) == 547


@pytest.mark.parametrize("args, expected", [
    (["train", "missing.csv", "-t", "y"], "error: missing.csv: no such file"),
    (["descend", "__import__('os')", "--x0", "1"], "error: "),
])
def test_a_user_error_is_one_line_and_status_2(tmp_path, args, expected):
    done = _run(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), done.stderr


def test_descend_as_a_process(tmp_path):
    done = _run("descend", "x**2 - 4*x + 6", "--x0", "8", "--lr", "0.1", cwd=tmp_path)
    assert done.returncode == 0
    assert "5.072" in done.stdout and "verdict: converged" in done.stdout
