"""`Table`: named columns read from a CSV file or a DataFrame, with where each row came from.

A column is either numeric (a float64 array, NaN where a value is missing) or categorical
(an object array of stripped strings, None where a value is missing). Each row remembers its
1-based line in the file, so that any later error (an unseen category at predict time, a
missing value) can still say "houses.csv, line 812".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from descent.errors import DataError

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)


@dataclass(frozen=True, eq=False)
class Table:
    """Columns of equal length, their kinds, and where each row came from.

    Attributes:
        columns: column names in file order.
        values: name -> array of shape (n_rows,): float64 for numeric columns (NaN =
            missing), object array of str for categorical ones (None = missing).
        kinds: name -> "numeric" or "categorical".
        line_numbers: int64 array (n_rows,): the 1-based file line where each row starts,
            or, for a table not read from a file (`path` is None), the 0-based row index.
        path: the file the table was read from, as given, or None.

    >>> t = Table(["x", "c"], {"x": np.array([1.0, 2.0]),
    ...                        "c": np.array(["a", "b"], dtype=object)},
    ...           {"x": "numeric", "c": "categorical"}, np.array([2, 3]), "f.csv")
    >>> len(t), t.location(1)
    (2, 'f.csv, line 3')
    """

    columns: list[str]
    values: dict[str, np.ndarray]
    kinds: dict[str, str]
    line_numbers: np.ndarray
    path: str | None = None

    def __post_init__(self) -> None:
        # A Table is built by this package's readers; these checks catch a reader bug, or a
        # hand-built table, at construction rather than as a shape error far away.
        n = len(self.line_numbers)
        if set(self.values) != set(self.columns) or set(self.kinds) != set(self.columns):
            raise ValueError("Table: values and kinds must have exactly the listed columns")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError("Table: column names must be unique")
        for name in self.columns:
            if self.kinds[name] not in KINDS:
                raise ValueError(f"Table: column {name!r} has unknown kind {self.kinds[name]!r}")
            if self.values[name].shape != (n,):
                raise ValueError(
                    f"Table: column {name!r} has shape {self.values[name].shape}, expected ({n},)"
                )

    @property
    def n_rows(self) -> int:
        """Number of data rows (the header is not a row)."""
        return len(self.line_numbers)

    def __len__(self) -> int:
        return self.n_rows

    @property
    def source(self) -> str:
        """How messages name this table: its path, or "the table"."""
        return self.path if self.path is not None else "the table"

    def location(self, row: int) -> str:
        """Where row `row` (0-based) came from: "f.csv, line 7" or "row 6"."""
        number = int(self.line_numbers[row])
        return f"{self.path}, line {number}" if self.path is not None else f"row {number}"

    def column(self, name: str) -> np.ndarray:
        """The values of one column; DataError naming the available columns if absent."""
        if name not in self.values:
            raise DataError(
                f"{self.source}: no column {name!r}; the columns are {quote_names(self.columns)}"
            )
        return self.values[name]

    def missing_mask(self, name: str) -> np.ndarray:
        """Boolean array (n_rows,): True where column `name` has no value."""
        values = self.column(name)
        if self.kinds[name] == NUMERIC:
            return np.isnan(values)
        # One C loop of `v == None`, the same as `v is None` for the str and None cells
        # a text column holds (five times faster than a Python loop); a hand-made table
        # holding a cell that will not compare to None (pandas' NA) is asked cell by cell.
        try:
            return np.equal(values, None)
        except (TypeError, ValueError):
            return np.fromiter((v is None for v in values), dtype=bool, count=len(values))

    def select(self, names: Sequence[str]) -> Table:
        """A table with only the columns `names`, in that order."""
        missing = [n for n in names if n not in self.values]
        if missing:
            raise DataError(
                f"{self.source}: no column(s) {quote_names(missing)}; the columns are "
                f"{quote_names(self.columns)}"
            )
        return Table(
            list(names),
            {n: self.values[n] for n in names},
            {n: self.kinds[n] for n in names},
            self.line_numbers,
            self.path,
        )

    def take(self, rows: np.ndarray | Sequence[int]) -> Table:
        """A table with only the given rows (an index array, e.g. from `split_indices`)."""
        index = np.asarray(rows, dtype=np.int64)
        return Table(
            list(self.columns),
            {n: v[index] for n, v in self.values.items()},
            dict(self.kinds),
            self.line_numbers[index],
            self.path,
        )


def quote_names(names: Sequence[str], limit: int = 30) -> str:
    """'a', 'b', 'c' (and N more): a readable list for one-line messages."""
    shown = ", ".join(repr(n) for n in names[:limit])
    more = len(names) - limit
    return shown + (f" (and {more} more)" if more > 0 else "")
