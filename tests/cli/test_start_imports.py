"""What `descent train` and `descent predict` import, run as real processes.

A benchmark or a script starts them once per file or per fold, so each start counts: they
must not import the packages they do not use. typer 0.29 builds a pydantic validator for
every option while parsing (pyproject.toml keeps typer below 0.29), which shows here as
pydantic in sys.modules; the explanations, the plots and the picture code are imported
only by the commands or options that use them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import WINDSOR_CSV

#: Never imported by a table's train or predict.
NOT_AT_START = ("pydantic", "matplotlib", "descent.pictures", "descent.cli.train_images",
                "descent.cli.predict_images", "descent.explain.chain",
                "descent.explain.convolution", "descent.explain.training_plots",
                "descent.explain.attributions", "torch", "sklearn", "pandas", "scipy", "numba",
                "dask", "PIL")


def _modules(args: list[str], tmp_path: Path) -> set[str]:
    """The modules loaded by one `descent ARGS...` process (which must succeed)."""
    listing = tmp_path / "modules.json"
    code = ("import json, sys\n"
            "from descent.cli import main\n"
            "listing, sys.argv = sys.argv[1], ['descent', *sys.argv[2:]]\n"
            "try:\n"
            "    main()\n"
            "except SystemExit as stop:\n"
            "    assert not stop.code, stop.code\n"
            "with open(listing, 'w') as f:\n"
            "    json.dump(sorted(sys.modules), f)\n")
    done = subprocess.run([sys.executable, "-c", code, str(listing), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "120"})
    assert done.returncode == 0, done.stderr
    return set(json.loads(listing.read_text()))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.fixture(scope="module")
def model_and_csv(tmp_path_factory) -> tuple[Path, Path, set[str]]:
    """A model trained by `descent train` as a process, with the modules that run loaded."""
    folder = tmp_path_factory.mktemp("start")
    model = folder / "m.safetensors"
    modules = _modules(["train", str(WINDSOR_CSV), "--target", "price", "--cv", "0",
                        "--epochs", "3", "--quiet", "--out", str(model)], folder)
    return model, folder, modules


def test_train_on_a_table_imports_no_plots_pictures_or_pydantic(model_and_csv):
    *_, modules = model_and_csv
    assert "descent.tabular.table_training" in modules  # it did train
    assert _loaded(modules, NOT_AT_START) == []


def test_predict_on_a_table_imports_no_training_extras(model_and_csv, tmp_path):
    model, _, _ = model_and_csv
    out = tmp_path / "p.csv"
    modules = _modules(["predict", str(model), str(WINDSOR_CSV), "--out", str(out)], tmp_path)
    assert len(out.read_text().splitlines()) == 547  # it did predict
    assert _loaded(modules, (*NOT_AT_START, "descent.explain", "rich.table")) == []

