"""One block of a CSV file read and typed by a schema, at C speed for ordinary files.

`read_typed_block(block, schema)` returns exactly what the careful path returns,

    schema.apply(read_csv_block(block, kinds=every column as text, missing="keep")),

value for value, but without the careful path's Python work per cell (about a
microsecond a cell, an hour for a 2 GB table read three times). It is what `descent train
--stream` and `--cluster` read every block with.

How: a block with no quote character, no NUL byte, no bare carriage return, valid UTF-8
and the header's field count on every line is cut by `str.split` (one physical line is one
record, so the csv module would give the same fields). Each column is then typed from its
whole list of cells at once:

- a plain number column by one NumPy conversion of the cells (the conversion the careful
  path makes too, after marking the missing-value tokens);
- a category, yes/no or date column by typing each *distinct* cell once and gathering
  (a table repeats its categories and dates);
- a column that none of this fits (numbers with thousands separators, say) by the careful
  per-cell code, for that column alone.

A block with quotes is cut by the csv module's C reader over the whole block instead (the
same reader and dialect as the careful path, without its Python work per line and per
cell). Anything else (a malformed line, a cell that does not fit its kind) sends the
whole block down the careful path, which reads it, or raises its one-line DataError naming
line and column. `tests/data/test_typed_block.py` checks the two paths against each other
on messy files, by hypothesis.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from descent.data.cells import FLOAT32_MAX, MISSING_TOKENS
from descent.data.columns import text_cells
from descent.data.csv_blocks import CsvBlock, read_csv_block
from descent.data.csv_reader import _open, _RowSource
from descent.data.schema import (
    _EPOCH,
    DATE,
    DATE_FORMATS,
    DATE_PARTS,
    NUMBER,
    NumberFormat,
    Schema,
    _fast_plain,
    apply_column,
    category_key,
)
from descent.data.table import CATEGORICAL, NUMERIC, Table

_LONGEST_TOKEN = max(map(len, MISSING_TOKENS))
# The ASCII characters str.strip() removes (besides the line breaks, which never reach a
# cell here): a block of pure ASCII text without any of them needs no strip per cell.
_ASCII_SPACE = " \t\x0b\x0c\x1c\x1d\x1e\x1f"


def read_typed_block(block: CsvBlock, schema: Schema, *, delimiter: str = ",",
                     kinds: Mapping[str, str] | None = None) -> Table:
    """The block's rows typed by `schema` (see the module doc): numbers as float64 (NaN
    where missing), categories as their canonical text (None where missing), a date as
    four numeric columns; only the columns the schema uses, and its target when present.

    `kinds`: what the careful path reads the columns as (default: every column as text).
    Raises DataError as the careful path does.

    >>> import tempfile, pathlib
    >>> from descent.data.csv_blocks import index_csv_blocks
    >>> from descent.data.schema import infer_column
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("x,kind,when\\n1.5,Flat,2024-03-01\\nNA, flat ,2024-03-04\\n")
    >>> cells = {"x": ["1.5", None], "kind": ["Flat", "flat"],
    ...          "when": ["2024-03-01", "2024-03-04"]}
    >>> schema = Schema([infer_column(n, c) for n, c in cells.items()], target="x")
    >>> t = read_typed_block(index_csv_blocks(p).blocks[0], schema)
    >>> t.columns[:2], t.values["x"].tolist(), t.values["kind"].tolist()
    (['x', 'kind'], [1.5, nan], ['Flat', 'Flat'])
    """
    fast = _fast(block, schema, delimiter)
    if fast is not None:
        return fast
    return careful_typed_block(block, schema, delimiter=delimiter, kinds=kinds)


def careful_typed_block(block: CsvBlock, schema: Schema, *, delimiter: str = ",",
                        kinds: Mapping[str, str] | None = None) -> Table:
    """The reference: every cell through the csv module and the per-cell schema code."""
    if kinds is None:
        from descent.data.csv_reader import read_csv_header

        kinds = dict.fromkeys(read_csv_header(block.path, delimiter=delimiter), CATEGORICAL)
    text = read_csv_block(block, delimiter=delimiter, kinds=kinds, missing="keep")
    return schema.apply(text)


# ---- cutting a block into columns -----------------------------------------------------------

def _split(block: CsvBlock, delimiter: str) -> tuple[list[str], dict[str, list[str]],
                                                     np.ndarray, str, bool] | None:
    """(header, column name -> stripped cells, file lines of the records, display name,
    whether any cell holds "_"), or None when the block is not plain enough to cut with
    str.split."""
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter in ' "\r\n\x00':
        return None
    display, f = _open(block.path)
    with f:
        head = f.read(block.header_stop)
        f.seek(block.start)
        body = f.read(block.stop - block.start)
    if head.count(b"\n") > 1 or (head.count(b"\n") == 1 and not head.endswith(b"\n")):
        return None  # a header over several lines: leave the line numbers to the reader
    header = list(_RowSource(io.BytesIO(head if head.endswith(b"\n") else head + b"\n"),
                             display, delimiter, None).header)
    if not body or b"\x00" in body or len(header) < 2:
        return None  # (one column: nothing to learn from anyway)
    if b'"' in body:
        return _split_quoted(body, header, delimiter, block.first_line, display)
    if b"\r" in body:
        if body.count(b"\r") != body.count(b"\r\n"):
            return None  # a bare \r: the csv module's error
        body = body.replace(b"\r\n", b"\n")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    a = np.frombuffer(body, np.uint8)
    ends = np.flatnonzero(a == 10)
    if not body.endswith(b"\n"):
        ends = np.append(ends, len(body))
    starts = np.concatenate(([0], ends[:-1] + 1))
    if int((ends - starts).max()) > csv.field_size_limit():
        return None  # a field that long is the csv module's error
    per_line = np.diff(np.searchsorted(np.flatnonzero(a == ord(delimiter)), ends),
                       prepend=0)
    m = len(header)
    lines = text.split("\n")
    if body.endswith(b"\n"):
        lines.pop()  # the empty text after the last newline is not a line
    if len(lines) != len(ends):
        return None
    keep = per_line == m - 1
    if not keep.all():
        others = np.flatnonzero(~keep)
        # A line with no delimiter and nothing but spaces is blank: the reader skips it;
        # any other line with the wrong number of fields is the reader's error.
        if (per_line[others] != 0).any() or any(lines[i].strip() for i in others.tolist()):
            return None
        lines = [line for line, k in zip(lines, keep.tolist(), strict=True) if k]
    if not lines:
        return None
    flat = delimiter.join(lines).split(delimiter)
    if len(flat) != m * len(lines):
        return None
    strip = not text.isascii() or any(ch in text for ch in _ASCII_SPACE)
    columns = {}
    for j, name in enumerate(header):
        cells = flat[j::m]
        columns[name] = [c.strip() for c in cells] if strip else cells
    line_numbers = block.first_line + np.flatnonzero(keep).astype(np.int64)
    return header, columns, line_numbers, display, "_" in text


def _split_quoted(body: bytes, header: list[str], delimiter: str, first_line: int,
                  display: str) -> tuple[list[str], dict[str, list[str]], np.ndarray, str,
                                         bool] | None:
    """`_split` for a block with quotes: the csv module's C reader over the whole block
    (lines cut at "\n" alone, as the careful reader cuts them), then the columns."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter,
                        skipinitialspace=True, strict=True)
    m = len(header)
    physical = text.count("\n") + (not text.endswith("\n"))
    try:
        records = list(reader)
    except csv.Error:
        return None  # the careful reader names the line
    one_a_line = len(records) == physical and all(len(r) == m for r in records)
    if one_a_line:  # none blank, none over several lines: count from the block's first
        lines = list(range(first_line, first_line + physical))
    else:
        reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter,
                            skipinitialspace=True, strict=True)
        found = _records_with_lines(reader, m, first_line)
        if found is None:
            return None
        records, lines = found
    if not records:
        return None
    # A cell over several lines holds a line break, which strip() removes.
    strip = not one_a_line or not text.isascii() or any(ch in text for ch in
                                                        _ASCII_SPACE + "\r")
    columns = {name: [c.strip() for c in cells] if strip else list(cells)
               for name, cells in zip(header, zip(*records, strict=True), strict=True)}
    return header, columns, np.array(lines, np.int64), display, "_" in text


def _records_with_lines(reader: Any, m: int, first_line: int) -> tuple[
        list[list[str]], list[int]] | None:
    """The non-blank records of `reader` and the file line each starts on; None when one
    has the wrong number of fields."""
    records: list[list[str]] = []
    lines: list[int] = []
    try:
        while True:
            start = reader.line_num + 1
            fields = next(reader, None)
            if fields is None:
                break
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line
            if len(fields) != m:
                return None
            records.append(fields)
            lines.append(first_line + start - 1)
    except csv.Error:
        return None  # the careful reader names the line
    return records, lines


# ---- typing a column from all its cells -----------------------------------------------------

def _missing(cell: str) -> bool:
    """`is_missing` for a stripped cell (as `text_cells` decides it)."""
    return len(cell) <= _LONGEST_TOKEN and cell.lower() in MISSING_TOKENS


def _plain_numbers(cells: list[str], underscores: bool) -> np.ndarray | None:
    """float64 of a plain number column, or None: `_fast_plain` of the column with its
    missing cells marked, which is what the careful path computes. `underscores`: whether
    any cell of the block holds "_" (float() reads "1_000"; no CSV means it)."""
    if underscores:
        return _fast_plain([None if _missing(c) else c for c in cells])
    try:  # no cell missing, or only spellings of NaN: one conversion
        x = np.array(cells, dtype=np.float64)
    except ValueError:
        return _fast_plain([None if _missing(c) else c for c in cells])
    nan = np.isnan(x)
    with np.errstate(invalid="ignore"):
        if np.any(np.abs(x[~nan]) > FLOAT32_MAX):  # inf and overflow: the careful way
            return None
    if nan.any():
        x[nan] = np.nan  # "-nan" is a gap like any other: the careful path's NaN
    return x


def _distinct(cells: list[str]) -> tuple[list[str], np.ndarray]:
    """(the distinct cells in order of first sight, each cell's index among them)."""
    keys = list(dict.fromkeys(cells))
    index = {k: i for i, k in enumerate(keys)}
    return keys, np.fromiter(map(index.__getitem__, cells), np.int64, len(cells))


def _canonical(cells: list[str], categories: tuple[str, ...]) -> np.ndarray:
    """`schema._canonical` of the column's cells, each distinct cell matched once."""
    spelling = {category_key(c): c for c in categories}
    keys, codes = _distinct(cells)
    table = np.empty(len(keys), dtype=object)
    table[:] = [None if _missing(k) else spelling.get(category_key(k), " ".join(k.split()))
                for k in keys]
    return table[codes]


def _dates(cells: list[str], fmt: str) -> list[np.ndarray] | None:
    """`schema._date_parts` of the column, each distinct cell parsed once; None when a
    cell is not a date in `fmt`."""
    keys, codes = _distinct(cells)
    table = np.full((len(DATE_PARTS), len(keys)), np.nan)
    for k, cell in enumerate(keys):
        if _missing(cell):
            continue
        try:
            when = datetime.strptime(" ".join(cell.split()), fmt)
        except ValueError:
            return None
        table[:, k] = (when.year, when.month, when.weekday(),
                       (when - _EPOCH).total_seconds() / 86400.0)
    return [table[p][codes] for p in range(len(DATE_PARTS))]


def _column(c: Any, cells: list[str], lines: np.ndarray, display: str,
            underscores: bool) -> dict[
        str, tuple[np.ndarray, str]] | None:
    """`apply_column(c, ...)` of one column's cells, or None when a cell does not fit."""
    if c.kind == NUMBER:
        fmt = c.number_format or NumberFormat()
        x = _plain_numbers(cells, underscores) if fmt.plain else None
        if x is not None:
            return {c.name: (x, NUMERIC)}
    elif c.kind == DATE:
        parts = _dates(cells, c.date_format or DATE_FORMATS[0])
        if parts is None:
            return None
        return dict(zip(c.output_columns, ((x, NUMERIC) for x in parts), strict=True))
    else:
        return {c.name: (_canonical(cells, c.categories), CATEGORICAL)}
    # The careful code, for this column only (numbers written "26,000", say).
    one = Table([c.name], {c.name: text_cells(cells)}, {c.name: CATEGORICAL}, lines, display)
    typed, problem = apply_column(c, one)
    return None if problem is not None else typed


def _fast(block: CsvBlock, schema: Schema, delimiter: str) -> Table | None:
    cut = _split(block, delimiter)
    if cut is None:
        return None
    header, columns, lines, display, underscores = cut
    values: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    order: list[str] = []
    for c in schema.columns:  # as Schema.apply, column by column
        is_target = c.name == schema.target
        if is_target and c.name not in columns:
            continue
        if not c.used and not is_target:
            continue
        if c.name not in columns:
            return None  # the careful path names the missing column
        typed = _column(c, columns[c.name], lines, display, underscores)
        if typed is None:
            return None  # the careful path names the cell
        for name, (x, kind) in typed.items():
            values[name], kinds[name] = x, kind
            order.append(name)
    return Table(order, values, kinds, lines, display)
