"""The cell-by-cell reading and encoding that `descent.data` did before it asked each
distinct cell once (copied from commit 799ba5a, trimmed to what the fast paths replaced):
the reference that `test_distinct_cells` holds the fast paths to, result for result and
message for message. Helpers the fast paths left unchanged are imported, not copied."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime

import numpy as np

from descent.data.cells import (
    FALSE_WORDS,
    TRUE_WORDS,
    format_number,
    is_missing,
    looks_numeric,
    number_problem,
    parse_number,
    yes_no_value,
)
from descent.data.columns import _LONGEST_TOKEN
from descent.data.encoding import ColumnEncoding
from descent.data.hints import hint
from descent.data.lookup import CategoryLookup
from descent.data.schema import (
    _CURRENCY_CODES,
    _DATEISH,
    _DECORATED,
    _EPOCH,
    _ID_NAME,
    _LEADING_ZERO,
    _PLAIN,
    _SEPARATORS,
    CATEGORY,
    DATE,
    DATE_FORMATS,
    DATE_PARTS,
    FLOAT32_MAX,
    IDENTIFIER,
    LEFT_OUT,
    MAX_CATEGORIES,
    MIN_ID_ROWS,
    NUMBER,
    NUMBER_SHARE,
    TEXT,
    YES_NO,
    ColumnSchema,
    NumberFormat,
    _format_example,
    _spellings,
    category_key,
)
from descent.data.table import NUMERIC, Table
from descent.data.target import MAX_AUTO_CLASSES, _as_number, _json_label, _short
from descent.errors import DataError


def text_cells(cells):
    out = np.empty(len(cells), dtype=object)
    out[:] = cells
    for i, cell in enumerate(cells):
        if (len(cell) <= _LONGEST_TOKEN or cell[:1].isspace() or cell[-1:].isspace()) \
                and is_missing(cell):
            out[i] = None
    return out


def missing_mask(table: Table, name: str) -> np.ndarray:
    values = table.column(name)
    if table.kinds[name] == NUMERIC:
        return np.isnan(values)
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def _fast_plain(cells):
    texts = ["nan" if c is None else c for c in cells]
    try:
        if "_" in "".join(texts):
            return None
        x = np.array(texts, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    with np.errstate(invalid="ignore"):
        if np.any(np.abs(x[~np.isnan(x)]) > FLOAT32_MAX):
            return None
    return x


def numbers(cells, fmt):
    if fmt.plain:
        fast = _fast_plain(list(cells))
        if fast is not None:
            return fast, []
    x = np.full(len(cells), np.nan)
    bad = []
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        if isinstance(cell, float | int):
            x[i] = float(cell)
            continue
        value = fmt.parse(cell)
        if value is None or abs(value) > FLOAT32_MAX:
            bad.append(i)
        else:
            x[i] = value
    return x, bad


def date_parts(cells, fmt):
    n = len(cells)
    parts = [np.full(n, np.nan) for _ in DATE_PARTS]
    bad = []
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        try:
            when = datetime.strptime(" ".join(str(cell).split()), fmt)
        except ValueError:
            bad.append(i)
            continue
        parts[0][i], parts[1][i], parts[2][i] = when.year, when.month, when.weekday()
        parts[3][i] = (when - _EPOCH).total_seconds() / 86400.0
    return parts, bad


def canonical(cells, categories):
    spelling = {category_key(c): c for c in categories}
    out = np.empty(len(cells), dtype=object)
    seen = {}
    for i, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            out[i] = None
            continue
        text = cell if isinstance(cell, str) else format_number(float(cell))
        value = seen.get(text)
        if value is None:
            value = seen[text] = spelling.get(category_key(text), " ".join(text.split()))
        out[i] = value
    return out


def _number_format(present):
    if _fast_plain(present) is not None and all(_PLAIN.match(c) for c in present[:50]):
        return NumberFormat(), len(present)
    plain = sum(1 for c in present if _PLAIN.match(c))
    if plain >= NUMBER_SHARE * len(present):
        return NumberFormat(), plain
    decorations = Counter()
    for c in present:
        m = _DECORATED.match(c)
        if m is not None:
            suffix = m.group(5) or ""
            if suffix and suffix != "%" and suffix not in "$€£¥" and \
                    suffix.casefold() not in _CURRENCY_CODES:
                continue
            decorations[(m.group(2), suffix)] += 1
    if not decorations:
        return None
    (prefix, suffix), _ = decorations.most_common(1)[0]
    best = None
    for thousands, decimal in _SEPARATORS:
        fmt = NumberFormat(thousands, decimal, prefix, suffix)
        n = sum(1 for c in present if fmt.parse(c) is not None)
        if best is None or n > best[1]:
            best = (fmt, n)
    if best is None or best[1] < NUMBER_SHARE * len(present):
        return None
    fmt, n = best
    if fmt.thousands and not any(fmt.thousands in c for c in present):
        fmt = NumberFormat("", fmt.decimal, fmt.prefix, fmt.suffix)
    return fmt, n


def _parses(cell, fmt):
    try:
        datetime.strptime(" ".join(cell.split()), fmt)
    except ValueError:
        return False
    return True


def _date_format(present):
    sample = present[:200]
    if not all(_DATEISH.match(" ".join(c.split())) for c in sample[:20]):
        return None
    for fmt in DATE_FORMATS:
        try:
            for c in sample:
                datetime.strptime(" ".join(c.split()), fmt)
        except ValueError:
            continue
        if all(_parses(c, fmt) for c in present[200:]):
            return fmt
    return None


def _is_row_number(name, present, fmt):
    if len(present) < MIN_ID_ROWS and not _ID_NAME.search(name):
        return False
    x, bad = numbers(np.array(present, dtype=object), fmt)
    if bad or np.any(x != np.round(x)) or len(np.unique(x)) != len(x):
        return False
    if _ID_NAME.search(name):
        return True
    return bool(x.max() - x.min() == len(x) - 1 and np.all(np.diff(x) > 0))


def _forced(name, present, force, make):
    if force == NUMBER:
        found = _number_format(present)
        fmt = found[0] if found is not None else NumberFormat()
        return make(NUMBER, fmt.describe(), number_format=fmt)
    if force == DATE:
        fmt_date = _date_format(present)
        if fmt_date is None:
            raise DataError(f"column {name!r} was named as a date, but its values (such as "
                            f"{present[0]!r}) are not dates in one of the known formats "
                            f"(such as 2024-03-01 or 01/03/2024)")
        return make(DATE, f"format {_format_example(fmt_date)}", date_format=fmt_date)
    if force in LEFT_OUT:
        return make(force, "left out as asked")
    spellings = _spellings(present)
    if force == YES_NO or (force == CATEGORY and all(
            category_key(c) in TRUE_WORDS | FALSE_WORDS for c in present)):
        return make(YES_NO, categories=spellings)
    return make(CATEGORY, categories=spellings)


def infer_column(name, cells, *, is_target=False, force=None):
    present = [c if isinstance(c, str) else format_number(float(c)) for c in cells
               if c is not None and not (isinstance(c, float) and math.isnan(c))]
    missing = len(cells) - len(present)
    example = present[0] if present else ""

    def make(kind, note="", **kw):
        return ColumnSchema(name, kind, missing=missing, example=example, note=note,
                            forced=force is not None, **kw)

    if not present:
        if is_target:
            return make(NUMBER, number_format=NumberFormat())
        return make(IDENTIFIER, "every cell is empty: left out")
    if force is not None:
        return _forced(name, present, force, make)
    found = _number_format(present)
    leading_zero = found is not None and found[0].plain and any(
        c[:1] in "0+-" and _LEADING_ZERO.match(c) and "." not in c for c in present)
    if found is not None and not leading_zero:
        fmt, _ = found
        note = fmt.describe()
        if not is_target and _is_row_number(name, present, fmt):
            return make(IDENTIFIER, "whole numbers counting the rows (an id?): left out",
                        number_format=fmt)
        return make(NUMBER, note, number_format=fmt)
    if is_target:
        note = "codes with leading zeros: read as text" if leading_zero else ""
        return make(CATEGORY, note, categories=_spellings(present))
    if all(category_key(c) in TRUE_WORDS | FALSE_WORDS for c in present):
        return make(YES_NO, categories=_spellings(present))
    fmt_date = None if found is not None else _date_format(present)
    if fmt_date is not None:
        return make(DATE, f"format {_format_example(fmt_date)}", date_format=fmt_date)
    n_distinct = len({category_key(c) for c in present})
    words = sum(len(c.split()) for c in present[:500]) / min(len(present), 500)
    if n_distinct == len(present) and (len(present) >= MIN_ID_ROWS or _ID_NAME.search(name)):
        if words >= 3:
            return make(TEXT, "free text (every value different): left out")
        return make(IDENTIFIER, "every value is different (an id?): left out")
    if n_distinct > MAX_CATEGORIES:
        if words >= 3:
            return make(TEXT, f"free text ({n_distinct} different values): left out")
        return make(IDENTIFIER, f"{n_distinct} different values, too many to one-hot: "
                                "left out")
    note = "codes with leading zeros: read as text" if leading_zero else ""
    return make(CATEGORY, note, categories=_spellings(present))


def encode_values(table: Table, column: ColumnEncoding, unknown: str) -> np.ndarray:
    """`encoding._encode_values`, cell by cell."""
    name = column.name
    values = table.values[name]
    numeric = table.kinds[name] == NUMERIC
    gaps = missing_mask(table, name)
    if gaps.any() and column.fill is None:
        i = int(np.flatnonzero(gaps)[0])
        raise DataError(
            f"{table.location(i)}, column {name!r}: missing value ("
            + hint("the encoder was fitted with missing='error'",
                   "the model was trained with --missing error; train it again without "
                   "--missing error to fill gaps")
            + ")"
        )

    def bad(i, message):
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
        return x[:, None]
    if column.encoding == "binary":
        x = np.empty(len(values))
        for i, cell in enumerate(values):
            if gaps[i]:
                x[i] = column.fill
            elif numeric:
                if cell not in (0.0, 1.0):
                    raise bad(i, f"{cell:g} is not yes/no, 1 or 0 (this is a yes/no column)")
                x[i] = cell
            else:
                word = yes_no_value(cell)
                if word is None:
                    raise bad(i, f"{cell!r} is not yes/no (this is a yes/no column)")
                x[i] = word
        return x[:, None]
    lookup = CategoryLookup(column.categories)
    fill_index = None if column.fill is None else lookup.index(column.fill)
    onehot = np.zeros((len(values), len(column.categories)))
    for i, cell in enumerate(values):
        k = fill_index if gaps[i] else lookup.index(cell)
        if k is None:
            if unknown == "ignore":
                continue
            shown = cell if isinstance(cell, str) else f"{cell:g}"
            known = ", ".join(repr(c) for c in column.categories[:10])
            more = ", ..." if len(column.categories) > 10 else ""
            raise bad(
                i,
                f"category {shown!r} was not seen in training (known: {known}{more}); pass "
                + hint("unknown='ignore'", "--unknown ignore", command="predict")
                + " to encode it as all zeros",
            )
        onehot[i, k] = 1.0
    return onehot


def unseen_count(table: Table, column: ColumnEncoding) -> int:
    lookup = CategoryLookup(column.categories)
    gaps = missing_mask(table, column.name)
    return sum(1 for v, gap in zip(table.values[column.name], gaps, strict=True)
               if not gap and lookup.index(v) is None)


def text_fill(values) -> str | None:
    """`fill_value` of a text column."""
    counts = Counter(v for v in values if v is not None)
    if not counts:
        return None
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


def present_set(values) -> set:
    """The distinct present cells `TableEncoder._fit_column` one-hots."""
    return {v for v in values if v is not None}


def _present_values(values):
    out = []
    for v in np.asarray(values, dtype=object).ravel():
        if v is None or (isinstance(v, float | np.floating) and math.isnan(v)):
            continue
        if isinstance(v, str) and is_missing(v):
            continue
        out.append(v)
    return out


def infer_task(values) -> str:
    present = _present_values(values)
    if not present:
        raise DataError("cannot infer the task: the target has no values")
    nums = [_as_number(v) for v in present]
    if any(x is None for x in nums):
        return "classification"
    whole = all(math.isfinite(x) and x == int(x) for x in nums)
    distinct = len(set(nums))
    if whole and distinct <= MAX_AUTO_CLASSES and 2 * distinct <= len(nums):
        return "classification"
    return "regression"


def class_indices(table: Table, column: str, classes: list) -> np.ndarray:
    """`TargetEncoder.transform` of a classification target, label by label."""
    values = table.values[column]
    lookup = CategoryLookup(classes)
    y = np.empty(len(values), dtype=np.int64)
    for i, cell in enumerate(values):
        k = lookup.index(cell)
        if k is None:
            shown = cell if isinstance(cell, str) else _json_label(cell)
            raise DataError(
                f"{table.location(i)}, target column {column!r}: class {shown!r} was "
                f"not seen in training (classes: {_short(classes)})"
            )
        y[i] = k
    return y

