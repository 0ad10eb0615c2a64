"""Predicting from a CSV streams it in chunks: memory does not grow with the file.

A CSV larger than memory never has to fit: peak traced memory (tracemalloc sees Python's
and NumPy's allocations) for a file 4x longer stays within a small factor of the shorter
file's peak, instead of growing 4x.
"""

import os
import tracemalloc

import numpy as np
import pytest

from descent.data import load_windsor
from descent.tabular.csv_predict import write_predictions
from descent.tabular.recipe import Recipe
from descent.tabular.table_training import train_table

HEADER = "lotsize,bedrooms,bathrms,stories,driveway,recroom,fullbase,gashw,airco,garagepl,prefarea"


@pytest.fixture(scope="module")
def model():
    return train_table(load_windsor(), "price", recipe=Recipe(epochs=2), verbose=False).model


def _csv(path, rows: int):
    rng = np.random.default_rng(0)
    yes_no = np.array(["yes", "no"])
    with open(path, "w") as f:
        f.write(HEADER + "\n")
        block = 10_000
        for start in range(0, rows, block):
            n = min(block, rows - start)
            cols = [rng.integers(1500, 16000, n).astype(str), rng.integers(1, 6, n).astype(str),
                    rng.integers(1, 4, n).astype(str), rng.integers(1, 4, n).astype(str)]
            cols += [yes_no[rng.integers(0, 2, n)] for _ in range(5)]
            cols += [rng.integers(0, 3, n).astype(str), yes_no[rng.integers(0, 2, n)]]
            f.write("\n".join(",".join(r) for r in zip(*cols, strict=True)) + "\n")
    return path


def _peak(model, path) -> tuple[int, int]:
    with open(os.devnull, "w") as out:
        tracemalloc.start()
        rows = write_predictions(model, path, out, chunk_rows=2_000)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return rows, peak


def test_memory_is_flat_in_the_number_of_rows(model, tmp_path):
    small_rows, small_peak = _peak(model, _csv(tmp_path / "small.csv", 8_000))
    large_rows, large_peak = _peak(model, _csv(tmp_path / "large.csv", 32_000))
    assert (small_rows, large_rows) == (8_000, 32_000)
    print(f"peak traced memory: {small_peak / 1e6:.1f} MB for 8k rows, "
          f"{large_peak / 1e6:.1f} MB for 32k rows")
    assert large_peak < 1.5 * small_peak
