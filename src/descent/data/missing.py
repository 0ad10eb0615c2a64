"""Filling missing values: learn one fill value per column, then put it in every gap.

Numeric columns take the strategy asked for ("mean", "median" or "most_frequent").
Categorical columns always take their most frequent value, since a mean of words has no
meaning. Ties go to the smallest value, so the result never depends on row order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from descent.data.cells import format_number
from descent.data.table import NUMERIC, Table
from descent.errors import DataError

IMPUTE_STRATEGIES = ("mean", "median", "most_frequent")


def fill_value(values: np.ndarray, kind: str, strategy: str) -> float | str | None:
    """The value that fills a column's gaps, or None when the column has no values at all.

    Args:
        values: (n,) float64 with NaN gaps for "numeric", object with None gaps otherwise.

    >>> fill_value(np.array([1.0, np.nan, 4.0]), "numeric", "mean")
    2.5
    """
    if strategy not in IMPUTE_STRATEGIES:
        raise ValueError(f"strategy must be one of {IMPUTE_STRATEGIES}, got {strategy!r}")
    if kind == NUMERIC:
        present = values[~np.isnan(values)]
        if present.size == 0:
            return None
        if strategy == "mean":
            return float(np.mean(present))
        if strategy == "median":
            return float(np.median(present))
        numbers, counts = np.unique(present, return_counts=True)
        return float(numbers[np.argmax(counts)])  # argmax takes the first, i.e. smallest
    counts = Counter(values.tolist())  # the same objects, counted in C
    counts.pop(None, None)
    if not counts:
        return None
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


def fit_fill_values(
    table: Table, strategy: str, columns: Sequence[str] | None = None
) -> dict[str, float | str]:
    """name -> fill value for each of `columns` (default: all) of a table.

    Raises DataError naming a column that has no value at all to learn from.

    >>> from descent.data.columns import build_table
    >>> t = build_table(["x"], [["1"], [""], ["3"]], np.arange(3), path=None, missing="keep")
    >>> fit_fill_values(t, "median")
    {'x': 2.0}
    """
    fills: dict[str, float | str] = {}
    for name in table.columns if columns is None else columns:
        value = fill_value(table.column(name), table.kinds[name], strategy)
        if value is None:
            raise DataError(
                f"{table.source}, column {name!r}: every value is missing, so there is "
                f"nothing to compute the {strategy.replace('_', ' ')} value from"
            )
        fills[name] = value
    return fills


def fill_missing(table: Table, fills: Mapping[str, float | str]) -> Table:
    """A copy of `table` with the gaps of each column in `fills` filled with its value.

    A numeric fill for a categorical column (or the reverse) is written in the column's own
    form, so a table read differently at predict time still fills consistently.

    >>> from descent.data.columns import build_table
    >>> t = build_table(["x"], [["1"], ["NA"]], np.arange(2), path=None, missing="keep")
    >>> fill_missing(t, {"x": 0.5}).values["x"].tolist()
    [1.0, 0.5]
    """
    values = dict(table.values)
    for name, fill in fills.items():
        column = table.column(name)
        gaps = table.missing_mask(name)
        if not gaps.any():
            continue
        filled = column.copy()
        if table.kinds[name] == NUMERIC:
            filled[gaps] = float(fill)
        else:
            filled[gaps] = fill if isinstance(fill, str) else format_number(float(fill))
        values[name] = filled
    return Table(list(table.columns), values, dict(table.kinds), table.line_numbers, table.path)
