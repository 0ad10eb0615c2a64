"""`write_predictions` takes the files people actually pass it, in memory bounded by a block.

Classes of failure covered: input that can be read only once (a pipe, a FIFO, standard
input); columns the model does not use (gaps, odd text, an empty target column: not
errors, and never parsed); memory that grew with the number of unused columns or of
classes (tracemalloc peaks compared across widths, not timings).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import descent
import descent.data.csv_reader as csv_reader
from descent.data import load_windsor, table_from_columns
from descent.tabular.csv_predict import write_predictions
from descent.tabular.recipe import Recipe
from descent.tabular.table_training import train_table

WINDSOR_CSV = Path(descent.__file__).parent / "datasets" / "windsor_housing.csv"
SRC = str(Path(descent.__file__).resolve().parents[1])
MAIN = "from descent.cli import main; main()"  # the console script, with this tree's code


@pytest.fixture(scope="module")
def model():
    return train_table(load_windsor(), "price", recipe=Recipe(epochs=2), verbose=False).model


def _predict(model, path) -> str:
    out = io.StringIO()
    write_predictions(model, path, out)
    return out.getvalue()


def _predictions(text: str) -> list[str]:
    return [line.rsplit(",", 1)[1] for line in text.splitlines()[1:]]


def _cli(*args: str, stdin=None, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-c", MAIN, *args], env=env, stdin=stdin,
                          capture_output=True, timeout=120, **kwargs)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, model) -> Path:
    path = tmp_path_factory.mktemp("m") / "m.safetensors"
    model.save(path)
    return path


@pytest.mark.parametrize("name", ["/dev/stdin", "-"])
def test_predict_reads_a_pipe_once(model, model_file, name):
    expected = _predict(model, WINDSOR_CSV)
    with open(WINDSOR_CSV, "rb") as f:
        piped = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
        result = _cli("predict", str(model_file), name, stdin=piped.stdout)
        piped.wait()
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == expected


def test_predict_reads_a_fifo(model, model_file, tmp_path):
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)

    def feed() -> None:  # a second open of the FIFO would wait here for ever
        with open(fifo, "wb") as f:
            f.write(WINDSOR_CSV.read_bytes())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = _cli("predict", str(model_file), str(fifo))
    writer.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == _predict(model, WINDSOR_CSV)


def test_predict_to_a_closed_stdout_is_one_line(model_file):
    result = subprocess.run(
        f"{sys.executable} -c '{MAIN}' predict {model_file} {WINDSOR_CSV} >&-", shell=True,
        env={**os.environ, "PYTHONPATH": SRC}, stderr=subprocess.PIPE, timeout=120)
    assert result.returncode == 2
    assert result.stderr.decode().strip() == ("error: standard output is closed: give --out "
                                              "FILE to write the predictions to a file")


def test_columns_the_model_does_not_use_may_hold_anything(model, tmp_path):
    lines = WINDSOR_CSV.read_text().splitlines()
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join(lines[:40]) + "\n")
    odd = tmp_path / "odd.csv"
    header = lines[0].split(",")
    price = header.index("price")
    rows = []
    for i, line in enumerate(lines[1:40]):
        cells = line.split(",")
        cells[price] = ""  # the value to predict is not known: that is why we predict
        rows.append(",".join(cells) + f",{['', 'NA', 'n/a?', '1e999', 'x'][i % 5]}")
    odd.write_text(",".join(header) + ",notes\n" + "\n".join(rows) + "\n")
    assert _predictions(_predict(model, odd)) == _predictions(_predict(model, clean))


def _wide_csv(path: Path, n_rows: int, n_unused: int) -> Path:
    lines = WINDSOR_CSV.read_text().splitlines()
    filler = ",".join(["abc"] * n_unused)
    header = lines[0] + "," + ",".join(f"u{j}" for j in range(n_unused))
    body = [lines[1 + i % 546] + "," + filler for i in range(n_rows)]
    path.write_text(header + "\n" + "\n".join(body) + "\n")
    return path


def _peak(model, path: Path) -> int:
    with open(os.devnull, "w") as out:
        tracemalloc.start()
        write_predictions(model, path, out)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_memory_does_not_grow_with_unused_columns(model, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "MAX_BLOCK_CELLS", 20_000, raising=False)  # small files
    narrow = _peak(model, _wide_csv(tmp_path / "narrow.csv", 2_000, 10))
    wide = _peak(model, _wide_csv(tmp_path / "wide.csv", 2_000, 1_000))
    print(f"peak {narrow / 1e6:.1f} MB with 10 unused columns, {wide / 1e6:.1f} MB with 1000")
    assert wide < 3 * narrow  # 100x the cells: before blocks followed width, ~60x the peak


def test_memory_does_not_grow_with_the_number_of_classes(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)

    def classifier(k: int):
        n = 2 * k
        table = table_from_columns({"x": rng.normal(size=n), "y": [f"c{i % k}" for i in
                                                                   range(n)]})
        return train_table(table, "y", task="classification", recipe=Recipe(
            hidden=(4,), epochs=1), val_fraction=0, test_fraction=0, verbose=False).model

    rows = tmp_path / "rows.csv"
    rows.write_text("x\n" + "\n".join(f"{v:.3f}" for v in rng.normal(size=3_000)) + "\n")
    monkeypatch.setattr(csv_reader, "MAX_BLOCK_CELLS", 20_000, raising=False)
    few = _peak(classifier(3), rows)
    many = _peak(classifier(400), rows)
    print(f"peak {few / 1e6:.1f} MB with 3 classes, {many / 1e6:.1f} MB with 400")
    assert many < 4 * few + 2e6  # 130x the output cells; before: rows × classes strings
