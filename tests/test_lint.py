"""The code is ruff-clean (the project's pyproject.toml settings): a lint slip fails CI."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    # the pinned ruff installed next to this Python (the test extra), else one on PATH
    beside = Path(sys.executable).with_name("ruff")
    ruff = str(beside) if beside.exists() else shutil.which("ruff")
    assert ruff, "ruff is not installed (it is in the test extra)"
    result = subprocess.run([ruff, "check", "src", "tests", "bench", "dev.py"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
