"""`TableEncoder`: a `Table` of mixed columns in, a float feature matrix out.

Each feature column is encoded by the kind it had in the training table:
  - numeric   -> one feature, the number itself (feature name: the column name);
  - yes/no    -> one feature, 1.0 for yes/y/true and 0.0 for no/n/false, any case
                 (a text column whose every value is such a word);
  - other text -> one-hot: one feature per category seen in training, sorted
                 (feature names "color=blue", "color=red", ...).

The encoder is fitted on the training table only and then transforms any table that has the
same columns (extra columns, such as the target in a labelled test file, are ignored). All
fitted state round-trips through `to_dict()` / `from_dict()` as plain JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from functools import lru_cache
from typing import Any

import numpy as np

from descent.data import metadata as meta
from descent.data.cells import (
    FALSE_WORDS,
    TRUE_WORDS,
    looks_numeric,
    number_problem,
    parse_number,
    yes_no_value,
)
from descent.data.hints import hint
from descent.data.lookup import CategoryLookup
from descent.data.missing import IMPUTE_STRATEGIES, fill_value
from descent.data.table import CATEGORICAL, NUMERIC, Table, quote_names
from descent.data.target import TASKS, Label, TargetEncoder
from descent.errors import DataError, NotFittedError

ENCODINGS = ("numeric", "binary", "onehot")
UNKNOWN = ("error", "ignore")
MISSING = ("error", *IMPUTE_STRATEGIES)


@dataclass(frozen=True)
class ColumnEncoding:
    """How one input column becomes features.

    Attributes:
        name: the input column.
        encoding: "numeric", "binary" (yes/no -> 1/0) or "onehot".
        categories: the one-hot categories, sorted (empty for the other encodings).
        fill: the value that replaces a missing cell (a number for numeric and binary, a
            category for one-hot), or None when missing cells are an error.
        indicator: one more feature, "<name> missing", 1.0 where the cell was missing (so
            the network can tell a filled-in value from a real one).

    >>> ColumnEncoding("color", "onehot", ("blue", "red")).feature_names
    ['color=blue', 'color=red']
    """

    name: str
    encoding: str
    categories: tuple[str, ...] = ()
    fill: float | str | None = None
    indicator: bool = False

    @property
    def feature_names(self) -> list[str]:
        names = ([f"{self.name}={c}" for c in self.categories] if self.encoding == "onehot"
                 else [self.name])
        return names + ([f"{self.name} missing"] if self.indicator else [])


class TableEncoder:
    """Encode the feature columns (and optionally the target) of a `Table` as numbers.

    Args:
        target: the target column, or None for features only (e.g. unlabelled data).
        features: the feature columns, in order; None takes every column but the target.
        task: "auto" (see `descent.data.target.infer_task`), "regression" or
            "classification".
        unknown: what `transform` does with a category not seen in training. "error"
            (default) raises DataError naming column, value and line. "ignore" encodes it
            as all zeros in that column's one-hot features. A yes/no column has no neutral
            value, so a word there that is not yes/no is an error either way.
        missing: "error" (default) raises on a missing cell, naming its line and column;
            "mean", "median" or "most_frequent" fill it with a value learned from the
            training table (text columns always use their most frequent value). Read tables
            with `read_csv(..., missing="keep")` so the gaps reach the encoder.
        max_categories: the most categories a one-hot column may have; a column with more
            (an id or free-text column, usually) is an error suggesting to leave it out.
        indicators: with a fill strategy, add a missing-indicator feature for every column
            that has missing cells in the training table.

    Fitted attributes: `columns_` (list of ColumnEncoding), `feature_names_`,
    `n_features_`, `task_`, `classes_` (None unless classification).

    >>> from descent.data.columns import build_table
    >>> t = build_table(["size", "color", "garden", "price"],
    ...                 [["50", "red", "yes", "100"], ["70", "blue", "no", "180"]],
    ...                 np.array([2, 3]), path="houses.csv")
    >>> enc = TableEncoder(target="price", task="regression").fit(t)
    >>> enc.feature_names_
    ['size', 'color=blue', 'color=red', 'garden']
    >>> enc.transform(t).tolist(), enc.transform_target(t).tolist()
    ([[50.0, 0.0, 1.0, 1.0], [70.0, 1.0, 0.0, 0.0]], [100.0, 180.0])
    """

    def __init__(
        self,
        target: str | None = None,
        features: Sequence[str] | None = None,
        *,
        task: str = "auto",
        unknown: str = "error",
        missing: str = "error",
        max_categories: int = 100,
        indicators: bool = False,
    ) -> None:
        if target is not None and (not isinstance(target, str) or not target):
            raise ValueError(f"target must be a column name or None, got {target!r}")
        if features is not None:
            if isinstance(features, str) or not all(
                isinstance(f, str) and f for f in features
            ):
                raise ValueError("features must be a list of column names")
            if len(set(features)) != len(features):
                raise ValueError("features lists a column more than once")
        if task not in ("auto", *TASKS):
            raise ValueError(f"task must be 'auto', 'regression' or 'classification', got {task!r}")
        if unknown not in UNKNOWN:
            raise ValueError(f"unknown must be 'error' or 'ignore', got {unknown!r}")
        if missing not in MISSING:
            raise ValueError(f"missing must be one of {MISSING}, got {missing!r}")
        if isinstance(max_categories, bool) or not isinstance(max_categories, int):
            raise ValueError(f"max_categories must be an int, got {max_categories!r}")
        if max_categories < 1:
            raise ValueError(f"max_categories must be at least 1, got {max_categories}")
        self.target = target
        self.features = None if features is None else list(features)
        self.task = task
        self.unknown = unknown
        self.missing = missing
        self.max_categories = max_categories
        self.indicators = bool(indicators)
        self.columns_: list[ColumnEncoding] | None = None
        self.target_encoder_: TargetEncoder | None = None

    # fitted views ---------------------------------------------------------------------------

    def _fitted(self) -> list[ColumnEncoding]:
        if self.columns_ is None:
            raise NotFittedError("TableEncoder is not fitted; call fit(table) first")
        return self.columns_

    @property
    def feature_names_(self) -> list[str]:
        return [n for c in self._fitted() for n in c.feature_names]

    @property
    def n_features_(self) -> int:
        return len(self.feature_names_)

    @property
    def input_columns_(self) -> list[str]:
        """The table columns `transform` reads, in order."""
        return [c.name for c in self._fitted()]

    @property
    def task_(self) -> str | None:
        self._fitted()
        return None if self.target_encoder_ is None else self.target_encoder_.task_

    @property
    def classes_(self) -> list[Label] | None:
        self._fitted()
        return None if self.target_encoder_ is None else self.target_encoder_.classes_

    def reader_kinds(self) -> dict[str, str]:
        """Column kinds to pass to `read_csv` / `iter_csv_chunks` when reading new data."""
        return {
            c.name: NUMERIC if c.encoding == "numeric" else CATEGORICAL for c in self._fitted()
        }

    def read_options(self) -> dict[str, Any]:
        """Keyword arguments for `read_csv` / `iter_csv_chunks` to read new data for `transform`.

        Only the trained columns are read (others are skipped unchecked), each with its
        training kind, and gaps are kept when the encoder fills them.

        >>> from descent.data.columns import build_table
        >>> t = build_table(["x", "y"], [["1", "a"], ["2", "b"]], np.arange(2), path=None)
        >>> TableEncoder(target="y").fit(t).read_options()
        {'expected_columns': ['x'], 'kinds': {'x': 'numeric'}, 'missing': 'error'}
        """
        return {
            "expected_columns": self.input_columns_,
            "kinds": self.reader_kinds(),
            "missing": "error" if self.missing == "error" else "keep",
        }

    # fitting -------------------------------------------------------------------------------

    def fit(self, table: Table) -> TableEncoder:
        """Learn each feature column's encoding (and the target's) from the training table.

        Raises DataError for: a target column not in the table, `features` naming unknown
        columns, no feature columns left, fewer than 2 rows, a single class in a
        classification target, missing cells when `missing="error"`, a one-hot column with
        more than `max_categories` categories.
        """
        names = self._feature_columns(table)
        if table.n_rows < 2:
            raise DataError(
                f"{table.source}: {table.n_rows} data row; training needs at least 2 rows"
            )
        target_encoder = None
        if self.target is not None:
            target_encoder = TargetEncoder(self.target, self.task).fit(table)
        if self.missing == "error":  # every column with gaps, in one message
            gappy = [(name, np.flatnonzero(table.missing_mask(name))) for name in names]
            gappy = [(name, rows) for name, rows in gappy if rows.size]
            if len(gappy) > 1:
                where = "; ".join(f"column {name!r}: {rows.size} missing, first at "
                                  f"{table.location(rows[0])}" for name, rows in gappy)
                raise DataError(f"{table.source}: missing values in {len(gappy)} columns ("
                                f"{where}); fill them in, or impute them with "
                                + hint("missing='median'", "--missing median"))
        self.columns_ = [self._fit_column(table, name) for name in names]
        self.target_encoder_ = target_encoder
        return self

    def _feature_columns(self, table: Table) -> list[str]:
        if self.target is not None and self.target not in table.values:
            close = get_close_matches(self.target, table.columns, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DataError(
                f"{table.source}: no target column {self.target!r}; the columns are "
                f"{quote_names(table.columns)}{hint}"
            )
        if self.features is not None:
            unknown = [f for f in self.features if f not in table.values]
            if unknown:
                raise DataError(
                    f"{table.source}: features names unknown column(s) {quote_names(unknown)}; "
                    f"the columns are {quote_names(table.columns)}"
                )
            if self.target in self.features:
                raise DataError(f"features includes the target column {self.target!r}")
            names = list(self.features)
        else:
            names = [c for c in table.columns if c != self.target]
        if not names:
            raise DataError(
                f"{table.source}: no feature columns (the only column is the target "
                f"{self.target!r}); the data needs at least one input column"
            )
        return names

    def _fit_column(self, table: Table, name: str) -> ColumnEncoding:
        values = table.values[name]
        gaps = np.flatnonzero(table.missing_mask(name))
        if gaps.size and self.missing == "error":
            raise DataError(
                f"{table.location(gaps[0])}, column {name!r}: missing value; fill it in, or "
                "impute it with " + hint("missing='median'", "--missing median")
            )
        # The fill is learned even for a column without gaps in training: new data may
        # have gaps there too.
        fill = None
        if self.missing != "error":
            fill = fill_value(values, table.kinds[name], self.missing)
            if fill is None:
                raise DataError(f"{table.source}, column {name!r}: every value is missing")
        indicator = bool(self.indicators and gaps.size and self.missing != "error")
        if table.kinds[name] == NUMERIC:
            return ColumnEncoding(name, "numeric", fill=fill, indicator=indicator)
        present = set(values.tolist())
        present.discard(None)
        if all(v.lower() in TRUE_WORDS | FALSE_WORDS for v in present):
            return ColumnEncoding(
                name, "binary", fill=None if fill is None else yes_no_value(str(fill)),
                indicator=indicator,
            )
        if len(present) > self.max_categories:
            raise DataError(
                f"{table.source}, column {name!r}: {len(present)} distinct text values, more "
                f"than max_categories={self.max_categories} (an id or free-text column?); "
                "leave it out of the features"
            )
        return ColumnEncoding(name, "onehot", tuple(sorted(present)), fill, indicator)

    # transforming ---------------------------------------------------------------------------

    def transform(
        self, table: Table, *, dtype: Any = np.float64, unknown: str | None = None
    ) -> np.ndarray:
        """The feature matrix of a table with the training columns.

        Args:
            table: any table holding every column in `input_columns_` (extra ones ignored).
            dtype: float64 (default) or float32.
            unknown: override the encoder's `unknown` for this call.

        Returns X of shape (table.n_rows, n_features_), columns in `feature_names_` order.

        Raises DataError naming what the table lacks, or the line and column of a cell that
        cannot be encoded (text in a numeric column, an unseen category, a missing value
        when `missing="error"`).
        """
        columns = self._fitted()
        unknown = self.unknown if unknown is None else unknown
        if unknown not in UNKNOWN:
            raise ValueError(f"unknown must be 'error' or 'ignore', got {unknown!r}")
        absent = [c.name for c in columns if c.name not in table.values]
        if absent:
            raise DataError(
                f"{table.source}: missing column(s) {quote_names(absent)} that the model was "
                f"trained on; it has {quote_names(table.columns)}"
            )
        # Each column's block written into its place in X: no block per column, no
        # concatenation, no cast of the whole (the values cast as they are written, as
        # `astype` casts them).
        X = np.empty((table.n_rows, sum(len(c.feature_names) for c in columns)), dtype=dtype)
        start = 0
        for c in columns:
            start = _encode(table, c, unknown, X, start)
        return X

    def unseen_counts(self, table: Table) -> dict[str, int]:
        """column -> number of rows whose category was not seen in training (0s left out).

        >>> from descent.data.columns import build_table
        >>> t = build_table(["c", "y"], [["a", "1"], ["b", "2"]], np.arange(2), path=None)
        >>> enc = TableEncoder(target="y").fit(t)
        >>> t2 = build_table(["c"], [["a"], ["z"], ["z"]], np.arange(3), path=None)
        >>> enc.unseen_counts(t2)
        {'c': 2}
        """
        counts = {}
        for c in self._fitted():
            if c.encoding != "onehot" or c.name not in table.values:
                continue
            gaps = table.missing_mask(c.name)
            # the unseen rows, each distinct cell looked up once (gaps are not unseen)
            k = _category_indices(table.values[c.name], gaps, _lookup(tuple(c.categories)), 0)
            n = int(np.count_nonzero(k < 0))
            if n:
                counts[c.name] = n
        return counts

    def transform_target(self, table: Table) -> np.ndarray:
        """(n_rows,) float64 targets, or int64 class indices into `classes_`."""
        self._fitted()
        if self.target_encoder_ is None:
            raise ValueError("this TableEncoder was fitted without a target column")
        return self.target_encoder_.transform(table)

    def fit_transform(self, table: Table) -> tuple[np.ndarray, np.ndarray | None]:
        """`fit(table)`, then (X, y); y is None without a target column."""
        self.fit(table)
        y = None if self.target_encoder_ is None else self.transform_target(table)
        return self.transform(table), y

    def inverse_transform_target(self, y: np.ndarray | Sequence[Any]) -> np.ndarray:
        """Class labels for class indices, or float targets unchanged."""
        self._fitted()
        if self.target_encoder_ is None:
            raise ValueError("this TableEncoder was fitted without a target column")
        return self.target_encoder_.inverse_transform(y)

    # storing --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as JSON-safe dicts, lists, strings and finite numbers."""
        columns = self._fitted()
        return {
            "format": "descent.TableEncoder",
            "version": 2,
            "target": self.target,
            "unknown": self.unknown,
            "missing": self.missing,
            "max_categories": self.max_categories,
            "indicators": self.indicators,
            "columns": [
                {
                    "name": c.name,
                    "encoding": c.encoding,
                    "categories": list(c.categories),
                    "fill": c.fill,
                    "indicator": c.indicator,
                }
                for c in columns
            ],
            "feature_names": self.feature_names_,
            "target_encoder": None
            if self.target_encoder_ is None
            else self.target_encoder_.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Any, where: str = "TableEncoder metadata") -> TableEncoder:
        """Rebuild a fitted encoder from `to_dict()` output, checking every entry.

        Raises DataError naming the first malformed entry (the dict may come from a file
        someone else wrote).
        """
        keys = ["format", "version", "target", "unknown", "missing", "max_categories",
                "columns", "feature_names", "target_encoder"]
        d = meta.mapping(d, where, keys, optional=["indicators"])  # version 2 adds it
        meta.header(d, where, "descent.TableEncoder", 2)
        indicators = d.get("indicators", False)
        if not isinstance(indicators, bool):
            raise meta.fail(f"{where}: indicators", "must be true or false")
        target = None if d["target"] is None else meta.string(d["target"], f"{where}: target")
        unknown = meta.choice(d["unknown"], f"{where}: unknown", UNKNOWN)
        missing = meta.choice(d["missing"], f"{where}: missing", MISSING)
        max_categories = meta.integer(d["max_categories"], f"{where}: max_categories", 1)
        raw_columns = meta.array(d["columns"], f"{where}: columns", min_length=1)
        columns = [
            _column_from_dict(c, f"{where}: columns[{i}]", missing)
            for i, c in enumerate(raw_columns)
        ]
        names = [c.name for c in columns]
        if len(set(names)) != len(names):
            raise meta.fail(f"{where}: columns", "column names must be distinct")
        if target is not None and target in names:
            raise meta.fail(f"{where}: target", "the target is also a feature column")
        target_encoder = None
        if (d["target_encoder"] is None) != (target is None):
            raise meta.fail(f"{where}: target_encoder", "must be present exactly with a target")
        if target is not None:
            target_encoder = TargetEncoder.from_dict(
                d["target_encoder"], f"{where}: target_encoder"
            )
            if target_encoder.column != target:
                raise meta.fail(f"{where}: target_encoder", "names a different column")
        enc = cls(target, names, unknown=unknown, missing=missing, max_categories=max_categories,
                  indicators=indicators)
        enc.columns_ = columns
        enc.target_encoder_ = target_encoder
        if d["feature_names"] != enc.feature_names_:
            raise meta.fail(f"{where}: feature_names", "do not match the columns")
        if target_encoder is not None:
            enc.task = target_encoder.task_ or "auto"
        return enc


def _column_from_dict(d: Any, where: str, missing: str) -> ColumnEncoding:
    d = meta.mapping(d, where, ["name", "encoding", "categories", "fill"], optional=["indicator"])
    indicator = d.get("indicator", False)
    if not isinstance(indicator, bool) or (indicator and d["fill"] is None):
        raise meta.fail(f"{where}.indicator", "must be true or false, and true only with a fill")
    name = meta.string(d["name"], f"{where}.name")
    encoding = meta.choice(d["encoding"], f"{where}.encoding", ENCODINGS)
    if encoding == "onehot":
        categories = tuple(meta.unique_strings(d["categories"], f"{where}.categories", 1))
        if list(categories) != sorted(categories):
            raise meta.fail(f"{where}.categories", "must be sorted")
    else:
        categories = ()
        if meta.array(d["categories"], f"{where}.categories"):
            raise meta.fail(f"{where}.categories", f"must be empty for a {encoding} column")
    fill = d["fill"]
    if fill is not None:
        if missing == "error":
            raise meta.fail(f"{where}.fill", "must be null when missing='error'")
        if encoding == "numeric":
            fill = meta.number(fill, f"{where}.fill")
        elif encoding == "binary":
            fill = meta.number(fill, f"{where}.fill")
            if fill not in (0.0, 1.0):
                raise meta.fail(f"{where}.fill", "must be 0 or 1 for a yes/no column")
        elif fill not in categories:
            raise meta.fail(f"{where}.fill", "must be one of the categories")
    return ColumnEncoding(name, encoding, categories, fill, indicator)


def _encode(table: Table, column: ColumnEncoding, unknown: str, X: np.ndarray,
            start: int) -> int:
    """Write one column's block into X[:, start:], its missing indicator last when it has
    one; returns where the next column's block starts."""
    gaps = table.missing_mask(column.name)
    width = len(column.categories) if column.encoding == "onehot" else 1
    _encode_values(table, column, unknown, X[:, start:start + width], gaps)
    if column.indicator:
        X[:, start + width] = gaps
        width += 1
    return start + width


def _encode_values(table: Table, column: ColumnEncoding, unknown: str,
                   out: np.ndarray | None = None, gaps: np.ndarray | None = None
                   ) -> np.ndarray:
    """(n_rows, width) block of one column, with the line and column of any bad cell;
    written into `out` when given (a view of the feature matrix), else a new float64 block.
    `gaps`: `table.missing_mask(column.name)`, when already made."""
    name = column.name
    values = table.values[name]
    numeric = table.kinds[name] == NUMERIC
    gaps = table.missing_mask(name) if gaps is None else gaps
    if out is None:
        width = len(column.categories) if column.encoding == "onehot" else 1
        out = np.empty((len(values), width))
    if gaps.any() and column.fill is None:
        i = int(np.flatnonzero(gaps)[0])
        raise DataError(
            f"{table.location(i)}, column {name!r}: missing value ("
            + hint("the encoder was fitted with missing='error'",
                   "the model was trained with --missing error; train it again without "
                   "--missing error to fill gaps")
            + ")"
        )

    def bad(i: int, message: str) -> DataError:
        return DataError(f"{table.location(i)}, column {name!r}: {message}")

    if column.encoding == "numeric":
        if numeric:
            x = values.astype(np.float64)
        else:
            x = np.empty(len(values))
            for i, cell in enumerate(values):
                if cell is None:
                    x[i] = np.nan
                    continue
                if not looks_numeric(cell):
                    raise bad(i, f"{cell!r} is not a number (this column is numeric)")
                x[i] = parse_number(cell)
                why = number_problem(cell, x[i])
                if why is not None:
                    raise bad(i, why)
        x[gaps] = column.fill if gaps.any() else 0.0
        out[:, 0] = x
        return out

    if column.encoding == "binary":
        # Each distinct cell is read once (a column holds few), then spread over the rows;
        # the first row (in file order) that is not a gap and not yes/no is the error.
        if numeric:
            x = values.astype(np.float64)  # a copy: the gaps are filled below
            wrong = ~gaps & (x != 0.0) & (x != 1.0)
        else:
            distinct, codes = _distinct_codes(values)
            words = np.array([np.nan if cell is None else _yes_no_or_nan(cell)
                              for cell in distinct])
            x = words[codes]
            wrong = ~gaps & np.isnan(x)
        if wrong.any():
            i = int(np.argmax(wrong))
            cell = values[i]
            raise bad(i, f"{cell:g} is not yes/no, 1 or 0 (this is a yes/no column)" if numeric
                      else f"{cell!r} is not yes/no (this is a yes/no column)")
        if gaps.any():
            x[gaps] = column.fill
        out[:, 0] = x
        return out

    lookup = _lookup(tuple(column.categories))
    fill_index = None if column.fill is None else lookup.index(column.fill)
    k = _category_indices(values, gaps, lookup, fill_index)
    unseen = k < 0
    if unseen.any() and unknown != "ignore":
        i = int(np.argmax(unseen))
        cell = values[i]
        shown = cell if isinstance(cell, str) else f"{cell:g}"
        known = ", ".join(repr(c) for c in column.categories[:10])
        more = ", ..." if len(column.categories) > 10 else ""
        raise bad(
            i,
            f"category {shown!r} was not seen in training (known: {known}{more}); pass "
            + hint("unknown='ignore'", "--unknown ignore", command="predict")
            + " to encode it as all zeros",
        )
    out[:] = 0.0
    if unseen.any():
        rows = np.flatnonzero(~unseen)
        out[rows, k[rows]] = 1.0
    else:
        out[np.arange(len(k)), k] = 1.0
    return out


@lru_cache(maxsize=1024)
def _lookup(categories: tuple[str, ...]) -> CategoryLookup:
    """The lookup of a one-hot column's categories, made once per set of categories (a
    model encodes block after block with the same columns)."""
    return CategoryLookup(categories)


def _yes_no_or_nan(cell: str) -> float:
    word = yes_no_value(cell)
    return np.nan if word is None else word


def _distinct_codes(values: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """The distinct cells of a column in the order of first sight, and each cell's index
    among them (intp (n,)): a lookup done once per distinct cell is spread with one take.

    A NaN cell (never equal to itself) is found by identity: the cells are listed once,
    so each lookup meets the very object that was counted.

    >>> _distinct_codes(np.array(["b", "a", "b", None], dtype=object))
    (['b', 'a', None], array([0, 1, 0, 2]))
    """
    seq = values.tolist()
    distinct = list(dict.fromkeys(seq))
    index = {v: k for k, v in enumerate(distinct)}
    return distinct, np.fromiter(map(index.__getitem__, seq), dtype=np.intp, count=len(seq))


def _category_indices(values: np.ndarray, gaps: np.ndarray, lookup: CategoryLookup,
                      fill_index: int | None) -> np.ndarray:
    """(n,) intp: each cell's category index, `fill_index` at the gaps, -1 where unseen
    (`lookup.index` asked once per distinct cell)."""
    distinct, codes = _distinct_codes(values)
    # a gap's cell (None, or NaN in a numeric column) is never looked up: the gaps take
    # `fill_index` below
    found = np.array([-1 if cell is None or (k := lookup.index(cell)) is None else k
                      for cell in distinct], dtype=np.intp) if distinct else \
        np.zeros(0, np.intp)
    k = found[codes]
    k[gaps] = -1 if fill_index is None else fill_index
    return k
