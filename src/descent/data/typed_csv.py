"""Read a CSV file for training: decide each column's kind and type it, one column at a time.

The same result as `infer_schema(read_csv(path, all_text=True, missing="keep"), ...)`
followed by `Schema.apply`, cell for cell, but the file's cells are never all Python strings
at once: the file is read once into packed text (`descent.data.text_columns`), then each
column in turn becomes strings, has its kind decided from every cell (`infer_column`), is
typed (`apply_column`: numbers as float64, categories as their canonical text, a date as
four numbers) and its text is freed. Peak memory is the packed text plus one column's
strings, not the whole file's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from descent.data.schema import (
    Schema,
    apply_column,
    check_schema_options,
    infer_column_numbers,
)
from descent.data.table import NUMERIC, Table
from descent.data.text_columns import read_text_columns
from descent.errors import DataError


@dataclass(frozen=True)
class TypedCsv:
    """What `read_typed_csv` returns.

    `schema`: every kept column's `ColumnSchema`, the target's included; `table`: the typed
    table (`schema.apply`'s output: used columns only, dates as four numeric columns);
    `header`: the file's column names; `problems`: one message per column whose cells do
    not fit its kind (what `Schema.apply` would raise, joined by "; "); call `check()` to
    raise them.
    """

    schema: Schema
    table: Table
    header: list[str]
    problems: list[str]

    def check(self) -> None:
        """Raise the cells that do not fit their column's kind (DataError), if any."""
        if self.problems:
            raise DataError("; ".join(self.problems))


def read_typed_csv(path: str | os.PathLike[str], target: str | None, *,
                   delimiter: str = ",", kinds: Mapping[str, str] | None = None,
                   features: Sequence[str] | None = None) -> TypedCsv:
    """Read `path` once, decide every column's kind and type it (see the module doc).

    Args: as `infer_schema` (`kinds` forces kinds, `features` keeps only these inputs;
    the target is kept whenever the file has it); `delimiter` as `read_csv`.

    Raises DataError as `read_csv` does for the file, and as `infer_schema` does for
    `kinds` and `features` naming unknown columns. Cells that do not fit their kind are
    collected in `problems`, not raised, so that a caller can show the schema first.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.csv"
    >>> _ = p.write_text('id,price,zip,sold\\n1,"$1,200",02139,2024-03-01\\n'
    ...                  '2,$950,10001,2024-03-04\\n')
    >>> read = read_typed_csv(p, "price")
    >>> [c.kind for c in read.schema.columns]
    ['identifier', 'number', 'category', 'date']
    >>> read.table.values["price"].tolist(), read.table.columns[-1]
    ([1200.0, 950.0], 'sold days')
    """
    text = read_text_columns(path, delimiter=delimiter)
    kinds = check_schema_options(text.columns, text.source, kinds, features)
    columns = []
    values: dict[str, np.ndarray] = {}
    table_kinds: dict[str, str] = {}
    order: list[str] = []
    problems: list[str] = []
    for name in text.columns:
        if features is not None and name != target and name not in features:
            text.drop(name)
            continue
        one = text.table(name)
        text.drop(name)
        c, x = infer_column_numbers(name, one.values[name], is_target=name == target,
                                    force=kinds.get(name))
        columns.append(c)
        if c.used or name == target:
            # a column of plain numbers was parsed on the way to its kind: not twice
            typed, problem = ({name: (x, NUMERIC)}, None) if x is not None else \
                apply_column(c, one)
            for part, (x, kind) in typed.items():
                values[part], table_kinds[part] = x, kind
                order.append(part)
            if problem is not None:
                problems.append(problem)
        del one  # this column's strings go before the next column's are made
    table = Table(order, values, table_kinds, text.line_numbers, text.path)
    return TypedCsv(Schema(columns, target), table, list(text.columns), problems)
