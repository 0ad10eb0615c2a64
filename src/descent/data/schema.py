"""Column understanding: what each column of a spreadsheet export is, decided once.

`infer_schema` reads every column of a table read as text (`read_csv(..., kinds=all
categorical, missing="keep")`) and gives each one a kind:

  number     numbers, also when written "26,000", "$1,200.50", "12.5%" or "1.234,5" (one
             separator convention and one currency / percent sign used consistently in the
             column; a percentage becomes a fraction: "12.5%" -> 0.125);
  category   text labels, and numeric-looking codes with leading zeros ("02139" is a zip
             code, not the number 2139); matched after trimming, collapsing inner spaces
             and case-folding, so " New  york" is "New York";
  yes/no     every value yes/no, y/n or true/false (any case);
  date       every value a date in one format (2024-03-01, 01/03/2024, 3/1/2024,
             01.03.2024, 1 Mar 2024, ...): becomes year, month, day of week and days since
             1970-01-01;
  identifier every value distinct (a row id, a name): left out, with a note;
  text       free text (mostly distinct, several words): left out, with a note.

`Schema.apply` turns a text table into the typed table that `TableEncoder` reads (numbers
as float64, categories as canonical text, a date as four numeric columns), the same way in
training and at predict time; the schema is stored in the model file.

    >>> from descent.data.columns import build_table
    >>> t = build_table(["zip", "income", "joined", "y"],
    ...                 [["02139", "$26,000", "2024-03-01", "1"],
    ...                  ["10001", "$45,500", "2023-12-24", "2"]],
    ...                 np.arange(2), path=None, kinds=dict.fromkeys(
    ...                     ["zip", "income", "joined", "y"], "categorical"))
    >>> s = infer_schema(t, target="y")
    >>> [c.kind for c in s.columns]
    ['category', 'number', 'date', 'number']
    >>> s.apply(t).values["income"].tolist()
    [26000.0, 45500.0]
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from descent.data import metadata as meta
from descent.data.cells import FALSE_WORDS, FLOAT32_MAX, TRUE_WORDS, format_number
from descent.data.hints import hint
from descent.data.table import CATEGORICAL, NUMERIC, Table, quote_names
from descent.errors import DataError

NUMBER, CATEGORY, YES_NO, DATE, IDENTIFIER, TEXT = (
    "number", "category", "yes/no", "date", "identifier", "text")
SCHEMA_KINDS = (NUMBER, CATEGORY, YES_NO, DATE, IDENTIFIER, TEXT)
LEFT_OUT = (IDENTIFIER, TEXT)
#: Kinds a user may force on a column (`--numeric`, `--categorical`, `--date`, `--exclude`).
OVERRIDES = {"numeric": NUMBER, "categorical": CATEGORY, "date": DATE, "exclude": IDENTIFIER}

#: Share of a column's present cells that must be numbers for it to be a number column
#: (the rest are then errors to report: a typo in a price column must not turn prices into
#: categories).
NUMBER_SHARE = 0.75
#: The fewest rows at which "every value distinct" marks an identifier.
MIN_ID_ROWS = 20
#: A text column with more distinct values than this is an identifier or free text.
MAX_CATEGORIES = 100
DATE_PARTS = ("year", "month", "weekday", "days")
_EPOCH = datetime(1970, 1, 1)

_DECORATED = re.compile(
    r"\A([+-]?)\s*([$€£¥]?)\s*([+-]?)(\d[\d.,' ]*|[.,]\d+)\s*(%|[$€£¥]|[A-Za-z]{3})?\Z")
_PLAIN = re.compile(r"\A[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")
# (thousands, decimal) conventions, the most common first (ties go to the first).
_SEPARATORS = ((",", "."), (".", ","), (" ", ","), (" ", "."), ("'", "."), ("", ","),
               ("", "."))
_CURRENCY_CODES = frozenset({"usd", "eur", "gbp", "chf", "jpy", "cad", "aud"})
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y",
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d %b %Y",
                "%d %B %Y", "%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y",
                "%Y%m%d")
_DATEISH = re.compile(r"\A\d{1,4}[-/. ]\w{1,9}[-/. ,]+\d{2,4}|\A[A-Za-z]{3,9} \d{1,2},? \d{4}"
                      r"|\A\d{8}\Z")
_LEADING_ZERO = re.compile(r"\A[+-]?0\d")
_ID_NAME = re.compile(r"(\A|[_ .-])(id|uuid|guid|key|code)\Z|\Aid[_ .-]|[a-z]Id\Z",
                      re.IGNORECASE)


def category_key(cell: str) -> str:
    """The text two category cells are matched on: trimmed, inner spaces collapsed, case-folded.

    >>> category_key("  New   York "), category_key("NEW YORK")
    ('new york', 'new york')
    """
    return " ".join(cell.split()).casefold()


@dataclass(frozen=True)
class NumberFormat:
    """How a number column is written: separators and a currency or percent sign.

    >>> NumberFormat(thousands=",", prefix="$").parse("$1,234.5")
    1234.5
    >>> NumberFormat(suffix="%").parse("12.5%")
    0.125
    """

    thousands: str = ""
    decimal: str = "."
    prefix: str = ""
    suffix: str = ""

    @property
    def plain(self) -> bool:
        return self == NumberFormat()

    def describe(self) -> str:
        """What the reader strips, for the schema table ("" for plain numbers)."""
        parts = []
        if self.thousands:
            parts.append(f"thousands {self.thousands!r}")
        if self.decimal != ".":
            parts.append(f"decimal {self.decimal!r}")
        if self.prefix:
            parts.append(f"{self.prefix!r} removed")
        if self.suffix == "%":
            parts.append("percent ÷ 100")
        elif self.suffix:
            parts.append(f"{self.suffix!r} removed")
        return ", ".join(parts)

    def parse(self, cell: str) -> float | None:
        """The number a cell stands for, or None when it is not written this way."""
        text = cell.strip()
        if self.plain:
            return float(text) if _PLAIN.match(text) else None
        m = _DECORATED.match(text)
        if m is None:
            return None
        sign1, prefix, sign2, core, suffix = m.groups()
        if prefix != self.prefix or (suffix or "").casefold() != self.suffix.casefold():
            return None
        if sign1 and sign2:
            return None
        core = core.strip()
        value = _parse_core(core, self.thousands, self.decimal)
        if value is None:
            return None
        value = -value if "-" in (sign1 + sign2) else value
        return value / 100.0 if self.suffix == "%" else value

    def to_dict(self) -> dict[str, str]:
        return {"thousands": self.thousands, "decimal": self.decimal, "prefix": self.prefix,
                "suffix": self.suffix}


def _parse_core(core: str, thousands: str, decimal: str) -> float | None:
    if thousands and thousands in core:
        t, d = re.escape(thousands), re.escape(decimal)
        if not re.fullmatch(rf"\d{{1,3}}(?:{t}\d{{3}})+(?:{d}\d*)?", core):
            return None
        core = core.replace(thousands, "")
    if decimal != ".":
        if "." in core:
            return None
        core = core.replace(decimal, ".")
    if not _PLAIN.match(core):
        return None
    value = float(core)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class ColumnSchema:
    """What one column is and how it becomes model input.

    Attributes: `name`; `kind` (one of `SCHEMA_KINDS`); `number_format` (number columns);
    `date_format` (date columns, a `strptime` format); `categories` (canonical spellings of
    a category or yes/no column's values, for matching new cells); `missing` (cells missing
    in the training file); `example` (one value as written); `note` (why, for the user);
    `forced` (the kind was given by the user).
    """

    name: str
    kind: str
    number_format: NumberFormat | None = None
    date_format: str | None = None
    categories: tuple[str, ...] = ()
    missing: int = 0
    example: str = ""
    note: str = ""
    forced: bool = False

    @property
    def used(self) -> bool:
        """False for identifiers and free text, which are left out."""
        return self.kind not in LEFT_OUT

    @property
    def output_columns(self) -> list[str]:
        """The typed columns `Schema.apply` makes from this one."""
        if not self.used:
            return []
        if self.kind == DATE:
            return [f"{self.name} {part}" for part in DATE_PARTS]
        return [self.name]

    def encoding(self) -> str:
        """How the column reaches the network, in words."""
        if self.kind == NUMBER:
            return "number"
        if self.kind == YES_NO:
            return "1 / 0"
        if self.kind == CATEGORY:
            return f"one-hot, {len(self.categories)} values"
        if self.kind == DATE:
            return "year, month, weekday, days"
        return "left out"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind,
                "number_format": None if self.number_format is None
                else self.number_format.to_dict(),
                "date_format": self.date_format, "categories": list(self.categories),
                "missing": self.missing, "example": self.example, "note": self.note,
                "forced": self.forced}


@dataclass(frozen=True)
class Schema:
    """Every column's `ColumnSchema`, the target's included (see the module doc).

    `columns` in file order; `target` names the target column or is None.
    """

    columns: list[ColumnSchema]
    target: str | None = None
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> ColumnSchema:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def input_columns(self) -> list[str]:
        """The file columns a model reads (used features, not the target)."""
        return [c.name for c in self.columns if c.used and c.name != self.target]

    @property
    def feature_columns(self) -> list[str]:
        """The typed columns `apply` makes for the features, in order."""
        return [n for c in self.columns if c.name != self.target for n in c.output_columns]

    def reader_kinds(self, names: Iterable[str] | None = None) -> dict[str, str]:
        """Kinds for `read_csv`: every column as text, so that this schema reads the cells."""
        return dict.fromkeys(names if names is not None else
                             [c.name for c in self.columns], CATEGORICAL)

    def apply(self, table: Table, *, with_target: bool | None = None) -> Table:
        """The typed table for `TableEncoder`: used columns only, dates as four numbers.

        `table` holds the columns as text (None where missing); a column already numeric
        (a DataFrame's numbers) is taken as it is. The target is included when the table
        has it (or when `with_target` says so). Raises DataError listing every column with
        cells that do not fit its kind, at once.
        """
        values: dict[str, np.ndarray] = {}
        kinds: dict[str, str] = {}
        order: list[str] = []
        problems: list[str] = []
        for c in self.columns:
            is_target = c.name == self.target
            if is_target and (with_target is False or c.name not in table.values):
                continue
            if not c.used and not is_target:
                continue
            typed, problem = apply_column(c, table)
            for name, (x, kind) in typed.items():
                values[name], kinds[name] = x, kind
                order.append(name)
            if problem is not None:
                problems.append(problem)
        if problems:
            raise DataError("; ".join(problems))
        return Table(order, values, kinds, table.line_numbers, table.path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the model file (see `from_dict`)."""
        return {"format": "descent.Schema", "version": 1, "target": self.target,
                "columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, d: Any, where: str = "schema") -> Schema:
        """Rebuild a schema from `to_dict()` output, checking every entry (DataError)."""
        d = meta.mapping(d, where, ["format", "version", "target", "columns"])
        meta.header(d, where, "descent.Schema", 1)
        target = None if d["target"] is None else meta.string(d["target"], f"{where}: target")
        columns = [_column_from_dict(c, f"{where}: columns[{i}]")
                   for i, c in enumerate(meta.array(d["columns"], f"{where}: columns", 1))]
        names = [c.name for c in columns]
        if len(set(names)) != len(names):
            raise meta.fail(f"{where}: columns", "column names must be distinct")
        return cls(columns, target)


def apply_column(c: ColumnSchema, table: Table) -> tuple[dict[str, tuple[np.ndarray, str]],
                                                          str | None]:
    """One column of `Schema.apply`: typed column name -> (values (n_rows,), table kind),
    and the message about its cells that do not fit its kind (None when all fit).

    `table` holds column `c.name` as text (None where missing) or as numbers; a reader
    that types a file one column at a time (`descent.data.typed_csv`) calls this with a
    one-column table, so the result is `apply`'s, cell for cell.

    >>> from descent.data.columns import build_table
    >>> t = build_table(["p"], [["$1,200"], ["$30"]], np.arange(2), path=None,
    ...                 kinds={"p": "categorical"})
    >>> typed, problem = apply_column(infer_column("p", t.values["p"]), t)
    >>> typed["p"][0].tolist(), problem
    ([1200.0, 30.0], None)
    """
    cells = table.column(c.name)
    if c.kind == NUMBER:
        x, bad = (np.asarray(cells, np.float64), []) if table.kinds[c.name] == NUMERIC else \
            _numbers(cells, c.number_format or NumberFormat())
        return {c.name: (x, NUMERIC)}, (_bad_cells(table, c, bad, "a number") if bad else None)
    if c.kind == DATE:
        parts, bad = _date_parts(cells, c.date_format or DATE_FORMATS[0])
        problem = _bad_cells(table, c, bad, f"a date like {_format_example(c.date_format)}"
                             ) if bad else None
        return {part: (x, NUMERIC) for part, x in zip(c.output_columns, parts, strict=True)}, \
            problem
    return {c.name: (_canonical(cells, c.categories), CATEGORICAL)}, None


def _column_from_dict(d: Any, where: str) -> ColumnSchema:
    keys = ["name", "kind", "number_format", "date_format", "categories", "missing",
            "example", "note", "forced"]
    d = meta.mapping(d, where, keys)
    name = meta.string(d["name"], f"{where}.name")
    kind = meta.choice(d["kind"], f"{where}.kind", SCHEMA_KINDS)
    number_format = None
    if d["number_format"] is not None:
        f = meta.mapping(d["number_format"], f"{where}.number_format",
                         ["thousands", "decimal", "prefix", "suffix"])
        parts = {k: f[k] for k in ("thousands", "decimal", "prefix", "suffix")}
        for k, v in parts.items():
            if not isinstance(v, str) or len(v) > 3:
                raise meta.fail(f"{where}.number_format.{k}", "must be a short string")
        if parts["decimal"] not in (".", ","):
            raise meta.fail(f"{where}.number_format.decimal", "must be '.' or ','")
        number_format = NumberFormat(**parts)
    date_format = d["date_format"]
    if date_format is not None and date_format not in DATE_FORMATS:
        raise meta.fail(f"{where}.date_format", f"must be one of {DATE_FORMATS}")
    if kind == DATE and date_format is None:
        raise meta.fail(f"{where}.date_format", "a date column needs its format")
    categories = tuple(meta.unique_strings(d["categories"], f"{where}.categories"))
    missing = meta.integer(d["missing"], f"{where}.missing", 0)
    for k in ("example", "note"):
        if not isinstance(d[k], str):
            raise meta.fail(f"{where}.{k}", "must be a string")
    if not isinstance(d["forced"], bool):
        raise meta.fail(f"{where}.forced", "must be true or false")
    return ColumnSchema(name, kind, number_format, date_format, categories, missing,
                        d["example"], d["note"], d["forced"])


# ---- reading cells ---------------------------------------------------------------------------

def _fast_plain(cells: Sequence[Any]) -> np.ndarray | None:
    """float64 of cells that are all plain finite numbers or None (one C-level pass), else
    None; anything unusual ("1_000", "inf", words) goes the careful way."""
    texts = ["nan" if c is None else c for c in cells] if None in cells else cells
    try:
        if "_" in "".join(texts):  # float() takes "1_000"; no CSV means it
            return None
        x = np.array(texts, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    with np.errstate(invalid="ignore"):
        if np.any(np.abs(x[~np.isnan(x)]) > FLOAT32_MAX):  # inf and overflow
            return None
    return x


def _numbers(cells: np.ndarray, fmt: NumberFormat) -> tuple[np.ndarray, list[int]]:
    """float64 (NaN where missing) and the rows whose text is not a number in `fmt`."""
    if fmt.plain:
        fast = _fast_plain(list(cells))
        if fast is not None:
            return fast, []
    x = np.full(len(cells), np.nan)
    bad: list[int] = []
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


def _distinct_codes(cells: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    """The distinct cells in the order of first sight, and each cell's index among them
    (intp (n,)): what is worked out per distinct cell is then spread with one take.

    A NaN cell (never equal to itself) is found by identity: the cells are listed once,
    so each lookup meets the very object that was counted.

    >>> _distinct_codes(["b", "a", "b", None])
    (['b', 'a', None], array([0, 1, 0, 2]))
    """
    seq = cells.tolist() if isinstance(cells, np.ndarray) else list(cells)
    distinct = list(dict.fromkeys(seq))
    index = {v: k for k, v in enumerate(distinct)}
    return distinct, np.fromiter(map(index.__getitem__, seq), dtype=np.intp, count=len(seq))


def _date_parts(cells: np.ndarray, fmt: str) -> tuple[list[np.ndarray], list[int]]:
    distinct, codes = _distinct_codes(cells)
    table = np.full((len(distinct), len(DATE_PARTS)), np.nan)
    wrong = np.zeros(len(distinct), dtype=bool)
    for k, cell in enumerate(distinct):  # each distinct date parsed once
        if cell is None:
            continue
        try:
            when = datetime.strptime(" ".join(str(cell).split()), fmt)
        except ValueError:
            wrong[k] = True
            continue
        table[k, :3] = when.year, when.month, when.weekday()
        table[k, 3] = (when - _EPOCH).total_seconds() / 86400.0
    parts = [table[codes, j] for j in range(len(DATE_PARTS))]
    return parts, np.flatnonzero(wrong[codes]).tolist()


def _canonical(cells: np.ndarray, categories: Sequence[str]) -> np.ndarray:
    """Each cell as its category's canonical spelling (unseen cells trimmed and collapsed)."""
    spelling = {category_key(c): c for c in categories}
    distinct, codes = _distinct_codes(cells)
    canonical = np.empty(len(distinct), dtype=object)  # a column holds few distinct texts
    for k, cell in enumerate(distinct):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            continue  # stays None
        text = cell if isinstance(cell, str) else format_number(float(cell))
        canonical[k] = spelling.get(category_key(text), " ".join(text.split()))
    return canonical[codes]


def _format_example(fmt: str | None) -> str:
    return repr(datetime(2024, 3, 1).strftime(fmt or DATE_FORMATS[0]))


def _bad_cells(table: Table, c: ColumnSchema, rows: list[int], what: str) -> str:
    first = rows[0]
    more = f" and {len(rows) - 1} more row(s)" if len(rows) > 1 else ""
    change = hint(f"kinds={{{c.name!r}: 'categorical'}}", f"--categorical {c.name}")
    return (f"{table.location(first)}, column {c.name!r}: {table.values[c.name][first]!r} is "
            f"not {what}{more}; fix the cells, or read the column as text with {change}")


# ---- deciding kinds --------------------------------------------------------------------------

def _number_format(present: list[str], plain_x: np.ndarray | None
                   ) -> tuple[NumberFormat, int] | None:
    """The format most of `present` follows and how many cells follow it, or None.
    `plain_x`: `_fast_plain(present)`, made once by the caller."""
    if plain_x is not None and all(_PLAIN.match(c) for c in present[:50]):
        return NumberFormat(), len(present)
    # Each distinct text once, weighted by how many cells hold it (a Counter keeps the
    # order of first sight, so the decorations' ties go to the same one as cell by cell).
    counts = Counter(present)
    plain = sum(n for c, n in counts.items() if _PLAIN.match(c))
    if plain >= NUMBER_SHARE * len(present):
        return NumberFormat(), plain
    decorations = Counter()
    for c, k in counts.items():
        m = _DECORATED.match(c)
        if m is not None:
            suffix = m.group(5) or ""
            if suffix and suffix != "%" and suffix not in "$€£¥" and \
                    suffix.casefold() not in _CURRENCY_CODES:
                continue
            decorations[(m.group(2), suffix)] += k
    if not decorations:
        return None
    (prefix, suffix), _ = decorations.most_common(1)[0]
    best: tuple[NumberFormat, int] | None = None
    for thousands, decimal in _SEPARATORS:
        fmt = NumberFormat(thousands, decimal, prefix, suffix)
        n = sum(k for c, k in counts.items() if fmt.parse(c) is not None)
        if best is None or n > best[1]:
            best = (fmt, n)
    if best is None or best[1] < NUMBER_SHARE * len(present):
        return None
    fmt, n = best
    if fmt.thousands and not any(fmt.thousands in c for c in counts):
        fmt = NumberFormat("", fmt.decimal, fmt.prefix, fmt.suffix)  # none in use: say so
    return fmt, n


def _date_format(present: list[str]) -> str | None:
    sample = present[:200]
    if not all(_DATEISH.match(" ".join(c.split())) for c in sample[:20]):
        return None
    for fmt in DATE_FORMATS:
        try:
            for c in sample:
                datetime.strptime(" ".join(c.split()), fmt)
        except ValueError:
            continue
        if all(_parses(c, fmt) for c in dict.fromkeys(present[200:])):
            return fmt
    return None


def _parses(cell: str, fmt: str) -> bool:
    try:
        datetime.strptime(" ".join(cell.split()), fmt)
    except ValueError:
        return False
    return True


def _spellings(present: list[str]) -> tuple[str, ...]:
    """One canonical spelling per category key: the most frequent (ties: the first seen)."""
    by_key: dict[str, Counter] = {}
    # Each distinct cell once, with its count (a column holds few distinct texts); a
    # Counter keeps the order of first sight, so ties still go to the first seen.
    for c, n in Counter(present).items():
        by_key.setdefault(category_key(c), Counter())[" ".join(c.split())] += n
    # max() keeps the first of equal counts, and a Counter keeps the order of first sight
    chosen = [max(counts.items(), key=lambda item: item[1])[0] for counts in by_key.values()]
    return tuple(sorted(chosen))


def _present_texts(cells: Sequence[Any]) -> list[str]:
    """The cells that are not missing (None or NaN), as text (a number by `format_number`),
    in row order."""
    distinct = dict.fromkeys(cells)
    if {type(c) for c in distinct} <= {str, type(None)}:  # a column read as text
        if None not in distinct:
            return cells.tolist() if isinstance(cells, np.ndarray) else list(cells)
        return [c for c in cells if c is not None]
    return [c if isinstance(c, str) else format_number(float(c)) for c in cells
            if c is not None and not (isinstance(c, float) and math.isnan(c))]


def infer_column(name: str, cells: Sequence[Any], *, is_target: bool = False,
                 force: str | None = None) -> ColumnSchema:
    """The `ColumnSchema` of one column of text cells (None where missing).

    `force` is a kind from `SCHEMA_KINDS` given by the user. A target column is a number
    or a category, never left out.

    >>> infer_column("price", ["26,000", "1,250,000", None]).number_format.thousands
    ','
    >>> infer_column("zip", ["02139", "10001"]).kind
    'category'
    """
    return infer_column_numbers(name, cells, is_target=is_target, force=force)[0]


def infer_column_numbers(name: str, cells: Sequence[Any], *, is_target: bool = False,
                         force: str | None = None) -> tuple[ColumnSchema, np.ndarray | None]:
    """`infer_column`, and the column typed as `apply_column` types it when that came
    free: float64 (n,) for a number column of plain numbers with no cell missing (parsed
    once, on the way to the kind), else None.

    >>> c, x = infer_column_numbers("size", ["50", "72.5"])
    >>> c.kind, x.tolist()
    ('number', [50.0, 72.5])
    """
    present = _present_texts(cells)
    # Parsed as plain numbers once, here: the choice of format, the row-number test and
    # the typing of a plain number column all read this one parse.
    plain_x = _fast_plain(present) if present and force in (None, NUMBER) else None
    c = _infer_column(name, len(cells), present, plain_x, is_target, force)
    typed = (c.kind == NUMBER and c.missing == 0 and c.number_format is not None
             and c.number_format.plain)
    # With no cell missing, `apply_column` parses these very texts (`_numbers`' fast path)
    return c, (plain_x if typed else None)


def _infer_column(name: str, n_cells: int, present: list[str], plain_x: np.ndarray | None,
                  is_target: bool, force: str | None) -> ColumnSchema:
    """`infer_column` of a column of `n_cells` cells whose present ones are `present`
    (`plain_x`: `_fast_plain(present)`, or None where it is not needed)."""
    missing = n_cells - len(present)
    example = present[0] if present else ""

    def make(kind: str, note: str = "", **kw: Any) -> ColumnSchema:
        return ColumnSchema(name, kind, missing=missing, example=example, note=note,
                            forced=force is not None, **kw)

    if not present:
        if is_target:
            return make(NUMBER, number_format=NumberFormat())
        return make(IDENTIFIER, "every cell is empty: left out")
    if force is not None:
        return _forced(name, present, force, make, plain_x)

    found = _number_format(present, plain_x)
    distinct = dict.fromkeys(present)  # each text once, in the order of first sight
    leading_zero = found is not None and found[0].plain and any(
        c[:1] in "0+-" and _LEADING_ZERO.match(c) and "." not in c for c in distinct)
    if found is not None and not leading_zero:
        fmt, _ = found
        note = fmt.describe()
        if not is_target and _is_row_number(name, present, fmt, plain_x):
            return make(IDENTIFIER, "whole numbers counting the rows (an id?): left out",
                        number_format=fmt)
        return make(NUMBER, note, number_format=fmt)
    if is_target:
        note = "codes with leading zeros: read as text" if leading_zero else ""
        return make(CATEGORY, note, categories=_spellings(present))
    if all(category_key(c) in TRUE_WORDS | FALSE_WORDS for c in distinct):
        return make(YES_NO, categories=_spellings(present))
    fmt_date = None if found is not None else _date_format(present)
    if fmt_date is not None:
        return make(DATE, f"format {_format_example(fmt_date)}", date_format=fmt_date)
    # The count of spellings without making them: an id or free-text column has one per
    # cell, and a tally of spellings per value costs far more than the values.
    n_distinct = len({category_key(c) for c in distinct})
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


def _forced(name: str, present: list[str], force: str, make: Any,
            plain_x: np.ndarray | None) -> ColumnSchema:
    if force == NUMBER:
        found = _number_format(present, plain_x)
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


def _is_row_number(name: str, present: list[str], fmt: NumberFormat,
                   plain_x: np.ndarray | None) -> bool:
    """Whole numbers, all different, that look like an id: named like one, or 1..n in order.
    `plain_x`: `_fast_plain(present)` (what `_numbers` gives for a plain format when it is
    not None)."""
    if len(present) < MIN_ID_ROWS and not _ID_NAME.search(name):
        return False
    x, bad = (plain_x, []) if fmt.plain and plain_x is not None else \
        _numbers(np.array(present, dtype=object), fmt)
    if bad or np.any(x != np.round(x)) or len(np.unique(x)) != len(x):
        return False
    if _ID_NAME.search(name):
        return True
    return bool(x.max() - x.min() == len(x) - 1 and np.all(np.diff(x) > 0))


def infer_schema(table: Table, target: str | None = None, *,
                 kinds: Mapping[str, str] | None = None,
                 features: Sequence[str] | None = None) -> Schema:
    """Decide every column's kind (rule in the module doc); returns a `Schema`.

    Args:
        table: the columns as text (read with `kinds` all "categorical", missing="keep").
        target: the column to predict, always kept (a number or a category).
        kinds: name -> a kind in `SCHEMA_KINDS`, given by the user; these win.
        features: the input columns to keep (None: all); the others are left out.

    Raises DataError naming every unknown column in `kinds` or `features` at once.
    """
    kinds = check_schema_options(table.columns, table.source, kinds, features)
    columns = []
    for name in table.columns:
        if features is not None and name != target and name not in features:
            continue
        columns.append(infer_column(name, table.values[name], is_target=name == target,
                                    force=kinds.get(name)))
    return Schema(columns, target)


def check_schema_options(columns: Sequence[str], source: str,
                         kinds: Mapping[str, str] | None,
                         features: Sequence[str] | None) -> dict[str, str]:
    """`kinds` as a dict, after checking that it and `features` name only `columns` (one
    DataError naming every unknown column) and that every kind is in `SCHEMA_KINDS`.

    >>> check_schema_options(["a", "b"], "f.csv", {"a": "category"}, None)
    {'a': 'category'}
    """
    kinds = dict(kinds or {})
    known = set(columns)
    unknown = [n for n in [*kinds, *(features or [])] if n not in known]
    if unknown:
        raise DataError(f"{source}: no column(s) {quote_names(unknown)}; the columns "
                        f"are {quote_names(list(columns))}")
    bad = [k for k in kinds.values() if k not in SCHEMA_KINDS]
    if bad:
        raise ValueError(f"kinds must be among {SCHEMA_KINDS}, got {bad[0]!r}")
    return kinds
