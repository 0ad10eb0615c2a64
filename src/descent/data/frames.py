"""`Table`s from in-memory columns: a dict of lists/arrays, or a pandas DataFrame.

Used when the Python API is handed mixed data (numbers and text) rather than a numeric
matrix. Numeric columns are checked as numbers; every other column is read cell by cell
exactly like a CSV column (same missing-value words, same kind rule, same errors), with rows
named by their 0-based position ("row 3").
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from descent.data.cells import FLOAT32_MAX, format_number
from descent.data.columns import READ_MISSING, build_table
from descent.data.missing import IMPUTE_STRATEGIES, fill_missing, fit_fill_values
from descent.data.table import CATEGORICAL, Table
from descent.errors import DataError


def _cell_text(v: Any) -> str:
    if v is None or type(v).__name__ in ("NAType", "NaTType"):
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return "" if math.isnan(v) else format_number(float(v))
    return str(v).strip()


def _series_array(s: Any) -> np.ndarray:
    pd = sys.modules["pandas"]
    if isinstance(s.dtype, np.dtype):
        return s.to_numpy()
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable Int64, Float32, ...
    return s.to_numpy(dtype=object, na_value=None)


def table_from_columns(
    columns: Mapping[str, Any],
    *,
    missing: str = "error",
    kinds: Mapping[str, str] | None = None,
) -> Table:
    """A checked `Table` from name -> 1-D sequence (list, NumPy array or pandas Series).

    Args:
        columns: equal-length columns; number arrays stay numbers, anything else is read as
            cell texts (None and NaN are missing).
        missing, kinds: as in `descent.data.read_csv`.

    >>> t = table_from_columns({"size": [50, 70], "garden": ["yes", "no"]})
    >>> t.kinds, t.location(1)
    ({'size': 'numeric', 'garden': 'categorical'}, 'row 1')
    """
    if missing not in READ_MISSING:
        raise ValueError(f"missing must be one of {READ_MISSING}, got {missing!r}")
    kinds = dict(kinds or {})
    names = list(columns)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"column names must be non-empty strings, got {name!r}")
    if not names:
        raise DataError("no columns given")
    pd = sys.modules.get("pandas")
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        col = columns[name]
        a = _series_array(col) if pd is not None and isinstance(col, pd.Series) else np.asarray(
            col, dtype=object if isinstance(col, list | tuple) else None
        )
        if a.ndim != 1:
            raise DataError(f"column {name!r} must be 1-D, got shape {a.shape}")
        arrays[name] = a
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        first = names[0]
        other = next(n for n in names if lengths[n] != lengths[first])
        raise DataError(
            f"columns differ in length: {first!r} has {lengths[first]} rows, {other!r} has "
            f"{lengths[other]}"
        )
    n = lengths[names[0]]
    if n == 0:
        raise DataError("the columns have no rows")

    values: dict[str, np.ndarray] = {}
    text_names: list[str] = []
    for name, a in arrays.items():
        if a.dtype.kind in "biuf" and kinds.get(name) != CATEGORICAL:
            x = a.astype(np.float64)
            bad = np.flatnonzero(np.isinf(x) | (np.abs(np.nan_to_num(x)) > FLOAT32_MAX))
            if bad.size:
                i = int(bad[0])
                why = "is infinite" if np.isinf(x[i]) else "is too large for float32"
                raise DataError(f"row {i}, column {name!r}: value {x[i]:g} {why}")
            values[name] = x
        else:
            text_names.append(name)
    text = build_table(
        text_names,
        list(zip(*[[_cell_text(v) for v in arrays[nm]] for nm in text_names], strict=True))
        if text_names
        else [[] for _ in range(n)],
        np.arange(n),
        path=None,
        kinds={k: v for k, v in kinds.items() if k in text_names},
        missing="keep",
    )
    values.update(text.values)
    table_kinds = {name: text.kinds.get(name, "numeric") for name in names}
    table = Table(names, {nm: values[nm] for nm in names}, table_kinds, np.arange(n), None)
    if missing == "error":
        firsts = [
            (int(np.flatnonzero(m)[0]), j, nm)
            for j, nm in enumerate(names)
            if (m := table.missing_mask(nm)).any()
        ]
        if firsts:
            i, _, nm = min(firsts)
            raise DataError(
                f"row {i}, column {nm!r}: missing value; fill it in, or pass missing='mean', "
                "'median' or 'most_frequent' to impute"
            )
    elif missing in IMPUTE_STRATEGIES:
        table = fill_missing(table, fit_fill_values(table, missing))
    return table


def table_from_frame(
    frame: Any, *, missing: str = "error", kinds: Mapping[str, str] | None = None
) -> Table:
    """A checked `Table` from a pandas DataFrame (column names become strings).

    >>> import pandas as pd
    >>> table_from_frame(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})).kinds
    {'x': 'numeric', 'c': 'categorical'}
    """
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"the DataFrame has the column name {dup!r} more than once")
    columns = {name: frame.iloc[:, j] for j, name in enumerate(names)}
    return table_from_columns(columns, missing=missing, kinds=kinds)
