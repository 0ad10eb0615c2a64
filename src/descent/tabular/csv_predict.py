"""Predict for every row of a CSV file, streaming: one block of rows in memory at a time.

The output is the input CSV, every column kept as it was written, with the predictions
added on the right: for classification one `probability_<class>` column per class, then
`predicted_<target>` last; for regression `predicted_<target>` only. Numbers are written
with `repr`, the shortest text that reads back as the same float64, so predictions read
from the file equal the in-memory model's exactly.

Two readers walk the file in step: `descent.data.iter_csv_chunks` parses blocks of rows
(with the model's column kinds, and its errors naming line and column), and
`descent.data.iter_records` yields the same records as text for the pass-through. Each
record's starting line is checked against the parsed row's, so the two can never drift
apart silently.
"""

from __future__ import annotations

import csv
import os
from typing import TextIO

from descent.data import iter_csv_chunks, iter_records, read_csv_header
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


def _cells(prediction: Prediction, task: str) -> list[list[str]]:
    if task == "regression":
        return [[repr(float(v))] for v in prediction.values]
    assert prediction.probabilities is not None
    return [[repr(float(p)) for p in probs] + [str(label)]
            for probs, label in zip(prediction.probabilities, prediction.values, strict=True)]


def write_predictions(model: TabularModel, path: str | os.PathLike[str], out: TextIO, *,
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, unknown: str | None = None,
                      delimiter: str = ",", unseen: dict[str, int] | None = None) -> int:
    """Write `path`'s rows with the model's predictions to the text stream `out`; returns
    the number of rows. See the module doc for the columns added.

    `unknown` overrides how the model treats a category it never saw in training:
    "error" (the default stored in the model: a DataError naming line and column) or
    "ignore" (encoded as all zeros in that column's one-hot features, the "unseen"
    encoding). Pass a dict as `unseen` to receive, per column, the number of rows whose
    category was not seen in training.

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
    header = read_csv_header(display, delimiter=delimiter)
    absent = [c for c in model.input_columns if c not in header]
    if absent:
        raise DataError(f"{display}: missing column(s) {', '.join(map(repr, absent))} that the "
                        f"model was trained on; the file has {', '.join(map(repr, header))}")
    encoder = model.encoder
    keep_gaps = model.schema is not None or encoder.missing != "error"
    chunks = iter_csv_chunks(display, chunk_rows, delimiter=delimiter,
                             expected_columns=model.input_columns,
                             kinds=model.reader_kinds(),
                             missing="keep" if keep_gaps else "error")
    records = iter_records(display, delimiter=delimiter)
    next(records)  # the header
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*header, *output_columns(model, header)])
    n = 0
    for table in chunks:
        prediction = model.predict(table, unknown=unknown)
        if unseen is not None:
            for name, count in model.unseen_counts(table).items():
                unseen[name] = unseen.get(name, 0) + count
        for line, cells in zip(table.line_numbers, _cells(prediction, model.task), strict=True):
            start, fields = next(records)
            if start != int(line):  # the two readers disagree: never write a shifted row
                raise DataError(f"{display}, line {line}: could not pair the row with its "
                                f"text (found line {start}); is the file being changed?")
            writer.writerow([*fields, *cells])
        n += len(table)
    return n

