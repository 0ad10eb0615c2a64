"""Turn columns of cell texts into typed `Table` columns, checking every cell.

The rule that decides a column's kind (`infer_kind`): among its non-missing cells, if at
least `NUMERIC_SHARE` (three quarters) are numbers, the column is numeric and every other cell
in it is an error to report (a typo in a price column must not silently turn the prices into
categories); otherwise it is categorical text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from descent.data.cells import (
    FLOAT32_MAX,
    MISSING_TOKENS,
    is_missing,
    looks_numeric,
    number_problem,
    parse_number,
)
from descent.data.hints import hint as _hint
from descent.data.missing import fill_missing, fit_fill_values
from descent.data.table import CATEGORICAL, KINDS, NUMERIC, Table
from descent.errors import DataError

NUMERIC_SHARE = 0.75

#: Ways to treat missing values when reading: raise, keep them marked (NaN / None), or fill
#: them from the column's own statistics.
READ_MISSING = ("error", "keep", "mean", "median", "most_frequent")


def infer_kind(cells: Sequence[str]) -> str:
    """ "numeric" or "categorical" for a column of cell texts (the rule is in the module doc).

    >>> infer_kind(["1", "2.5", "NA"]), infer_kind(["red", "blue", "3"])
    ('numeric', 'categorical')
    """
    present = [c for c in cells if not is_missing(c)]
    if not present:
        return NUMERIC
    n_numbers = sum(1 for c in present if looks_numeric(c))
    return NUMERIC if n_numbers >= NUMERIC_SHARE * len(present) else CATEGORICAL


def _fast_numbers(cells: Sequence[str]) -> np.ndarray | None:
    """The column as float64 when every cell is a plain finite float32-range number, else None.

    One C-level conversion instead of a regex per cell; anything unusual (a gap, a word,
    "1_000", which float() would take, "nan" or "inf") returns None for the careful path.
    """
    if "_" in "".join(cells):
        return None
    try:
        x = np.array(cells, dtype=np.float64)
    except ValueError:
        return None
    with np.errstate(invalid="ignore"):
        if not (np.abs(x) <= FLOAT32_MAX).all():  # False for NaN and inf too
            return None
    return x


def _parse_numeric(
    name: str, cells: Sequence[str], inferred: bool
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """float64 array (NaN where missing) and every (row, problem) found, in row order."""
    x = np.full(len(cells), np.nan)
    problems: list[tuple[int, str]] = []
    bad_text: list[int] = []
    for i, cell in enumerate(cells):
        if is_missing(cell):
            continue
        if not looks_numeric(cell):
            bad_text.append(i)
            continue
        value = parse_number(cell)
        why = number_problem(cell, value)
        if why is not None:
            problems.append((i, why))
        else:
            x[i] = value
    if bad_text:
        i = bad_text[0]
        if inferred:
            n_present = sum(1 for c in cells if not is_missing(c))
            hint = (
                f"{n_present - len(bad_text)} of {n_present} values in this column are "
                f"numbers; fix the cell, or read the column as text with "
                + _hint(f"kinds={{{name!r}: 'categorical'}}", f"--categorical {name}")
            )
        else:
            hint = "this column holds numbers"
        problems.append((i, f"{cells[i]!r} is not a number ({hint})"))
    problems.sort()
    return x, problems


_LONGEST_TOKEN = max(map(len, MISSING_TOKENS))


def text_cells(cells: Sequence[str]) -> np.ndarray:
    """A text column: object array (n,) of the cells, None where a cell is missing.

    >>> text_cells(["a", "NA", "b"]).tolist()
    ['a', None, 'b']
    """
    out = np.empty(len(cells), dtype=object)
    out[:] = cells
    # A column holds few distinct texts: ask each one once whether it is a missing token
    # (only a short one, or one with spaces around it, can be), then blank its cells with
    # one comparison over the column each.
    for token in [c for c in set(cells) if (len(c) <= _LONGEST_TOKEN or c[:1].isspace()
                                            or c[-1:].isspace()) and is_missing(c)]:
        out[np.equal(out, token)] = None
    return out


def build_table(
    header: Sequence[str],
    cell_rows: Sequence[Sequence[str]],
    line_numbers: np.ndarray,
    *,
    path: str | None,
    kinds: Mapping[str, str] | None = None,
    missing: str = "error",
) -> Table:
    """A checked `Table` from stripped cell texts, one inner sequence per row.

    Args:
        header: column names, shape (n_columns,).
        cell_rows: n_rows sequences of n_columns strings.
        line_numbers: (n_rows,) file line of each row (0-based row index if `path` is None).
        kinds: name -> kind for columns whose kind is known (e.g. from a trained model);
            the others are inferred with `infer_kind`.
        missing: one of `READ_MISSING`.

    Raises DataError naming the earliest bad cell's line and column.

    >>> t = build_table(["x", "c"], [["1", "a"], ["2", "b"]], np.array([2, 3]), path="f.csv")
    >>> t.kinds
    {'x': 'numeric', 'c': 'categorical'}
    """
    if missing not in READ_MISSING:
        raise ValueError(f"missing must be one of {READ_MISSING}, got {missing!r}")
    kinds = dict(kinds or {})
    table_kinds: dict[str, str] = {}
    values: dict[str, np.ndarray] = {}
    first_problem: tuple[int, int, str] | None = None
    for j, name in enumerate(header):
        cells = [row[j] for row in cell_rows]
        kind = kinds.get(name)
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kinds[{name!r}] must be one of {KINDS}, got {kind!r}")
        problems: list[tuple[int, str]] = []
        fast = _fast_numbers(cells) if kind in (None, NUMERIC) else None
        if fast is not None:  # all plain numbers: numeric, nothing missing, nothing to report
            values[name], table_kinds[name] = fast, NUMERIC
            continue
        inferred = kind is None
        kind = infer_kind(cells) if kind is None else kind
        if kind == NUMERIC:
            values[name], problems = _parse_numeric(name, cells, inferred)
        else:
            values[name] = text_cells(cells)
        table_kinds[name] = kind
        if missing == "error":
            gaps = [i for i, c in enumerate(cells) if is_missing(c)]
            if gaps:
                i = gaps[0]
                what = "empty cell" if cells[i] == "" else f"missing value {cells[i]!r}"
                more = f" ({len(gaps) - 1} more in this column)" if len(gaps) > 1 else ""
                problems.append(
                    (
                        i,
                        f"{what}{more}; fill it in, or impute it with "
                        + _hint("missing='median'", "--missing median"),
                    )
                )
        for i, message in problems:
            candidate = (i, j, f"column {name!r}: {message}")
            if first_problem is None or candidate[:2] < first_problem[:2]:
                first_problem = candidate
    if first_problem is not None:
        i, _, message = first_problem
        number = int(line_numbers[i])
        where = f"{path}, line {number}" if path is not None else f"row {number}"
        raise DataError(f"{where}, {message}")
    table = Table(list(header), values, table_kinds, np.asarray(line_numbers, np.int64), path)
    if missing in ("mean", "median", "most_frequent"):
        table = fill_missing(table, fit_fill_values(table, missing))
    return table
