"""Predict for every row of a CSV file, streaming: one block of rows in memory at a time.

The output is the input CSV, every column kept as it was written, with the predictions
added on the right: for classification one `probability_<class>` column per class, then
`predicted_<target>` last; for regression `predicted_<target>` only. Numbers are written
with `repr`, the shortest text that reads back as the same float64, so predictions read
from the file equal the in-memory model's exactly.

The file is read once (`descent.data.iter_csv_blocks`: a pipe, a FIFO or /dev/stdin
works): each block gives the rows' text for the pass-through and a table of the columns
the model uses, parsed with the model's column kinds; the other columns are never parsed,
so an empty target column or odd text in a column the model ignores is no error. Blocks
shrink as rows widen (many columns, or many classes), so memory stays bounded by the
block, not by the width of the file or of the output; rows are written one at a time.
"""

from __future__ import annotations

import csv
import os
from typing import TextIO

import numpy as np

from descent.data import iter_csv_blocks
from descent.errors import DataError
from descent.tabular.model import Prediction, TabularModel

DEFAULT_CHUNK_ROWS = 10_000


def output_columns(model: TabularModel, header: list[str]) -> list[str]:
    """The names of the columns predictions add, made distinct from the header's.

    >>> from descent.tabular.model import TabularModel
    >>> class M: task, target, classes = "classification", "y", ["a", "b"]
    >>> output_columns(M(), ["x", "predicted_y"])
    ['probability_a', 'probability_b', 'predicted_y_1']
    """
    wanted = [f"probability_{c}" for c in (model.classes or [])] \
        if model.task == "classification" else []
    wanted.append(f"predicted_{model.target}")
    taken = set(header)
    names = []
    for name in wanted:
        unique, k = name, 0
        while unique in taken:
            k += 1
            unique = f"{name}_{k}"
        taken.add(unique)
        names.append(unique)
    return names


def _write_rows(writer: csv.writer, records: list[list[str]], prediction: Prediction,
                task: str) -> None:
    """Each record with its prediction cells, one row at a time (no block-sized list of
    strings: a block of a many-class model would hold rows × classes of them)."""
    if task == "regression":
        for fields, value in zip(records, prediction.values.tolist(), strict=True):
            writer.writerow([*fields, repr(value)])
        return
    assert prediction.probabilities is not None
    probabilities = np.asarray(prediction.probabilities, dtype=np.float64)
    for fields, probs, label in zip(records, probabilities, prediction.values, strict=True):
        writer.writerow([*fields, *map(repr, probs.tolist()), str(label)])


def write_predictions(model: TabularModel, path: str | os.PathLike[str], out: TextIO, *,
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, unknown: str | None = None,
                      delimiter: str = ",", unseen: dict[str, int] | None = None,
                      missing: str = "fill", gaps: dict[str, int] | None = None) -> int:
    """Write `path`'s rows with the model's predictions to the text stream `out`; returns
    the number of rows. See the module doc for the columns added.

    `unknown` overrides how the model treats a category it never saw in training:
    "error" (the default stored in the model: a DataError naming line and column) or
    "ignore" (encoded as all zeros in that column's one-hot features, the "unseen"
    encoding). Pass a dict as `unseen` to receive, per column, the number of rows whose
    category was not seen in training.

    `missing` says what a missing cell in a column the model uses gets: "fill" (the
    default: the value the model was trained to fill it with, or, for a model trained with
    missing cells as errors, a DataError) or "error" (a DataError naming its line and
    column, for strict runs). Pass a dict as `gaps` to receive, per column, the number of
    cells that were filled.

    Raises DataError naming the file, and the line and column where it applies: a column
    the model needs is missing, a cell cannot be read or encoded.

    >>> import io, tempfile, pathlib
    >>> from descent.data import load_windsor
    >>> from descent.tabular.recipe import Recipe
    >>> from descent.tabular.table_training import train_table
    >>> model = train_table(load_windsor(), "price", recipe=Recipe(epochs=2),
    ...                     verbose=False).model
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.csv"
    >>> _ = p.write_text("lotsize,bedrooms,bathrms,stories,driveway,recroom,fullbase,gashw,"
    ...                  "airco,garagepl,prefarea\\n5850,3,1,2,yes,no,yes,no,no,1,no\\n")
    >>> buffer = io.StringIO()
    >>> write_predictions(model, p, buffer)
    1
    >>> buffer.getvalue().splitlines()[0].split(",")[-1]
    'predicted_price'
    """
    display = os.fspath(path)
    encoder = model.encoder
    if missing not in ("fill", "error"):
        raise ValueError(f"missing must be 'fill' or 'error', got {missing!r}")
    keep_gaps = model.schema is not None or encoder.missing != "error"
    n_out = len(model.classes or []) + 1 if model.task == "classification" else 1
    header, blocks = iter_csv_blocks(display, model.input_columns, chunk_rows=chunk_rows,
                                     extra_cells=2 * n_out, delimiter=delimiter,
                                     kinds=model.reader_kinds(),
                                     missing="keep" if keep_gaps else "error")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*header, *output_columns(model, header)])
    n = 0
    for table, records in blocks:
        if keep_gaps and (missing == "error" or gaps is not None):
            _count_gaps(table, model.input_columns, strict=missing == "error", gaps=gaps)
        _write_rows(writer, records, model.predict(table, unknown=unknown), model.task)
        if unseen is not None:
            for name, count in model.unseen_counts(table).items():
                unseen[name] = unseen.get(name, 0) + count
        n += len(table)
    return n


def _count_gaps(table, columns, *, strict: bool, gaps: dict[str, int] | None) -> None:
    """Add each column's missing cells to `gaps`; with `strict`, raise at the first one.

    The first gap in file order is named, whichever column it is in."""
    masks = {name: table.missing_mask(name) for name in columns}
    if strict:
        first = min(((int(np.argmax(m)), name) for name, m in masks.items() if m.any()),
                    default=None)
        if first is not None:
            row, name = first
            raise DataError(f"{table.location(row)}, column {name!r}: missing value (--missing "
                            "error); fill it in, or leave out --missing error to fill it as "
                            "in training")
    if gaps is not None:
        for name, mask in masks.items():
            if (count := int(mask.sum())):
                gaps[name] = gaps.get(name, 0) + count
