"""Read CSV files into `Table`s, whole or in row blocks, with one clear error per problem.

The file is read as bytes, one physical line at a time, so that a bad byte or a NUL can be
reported with its line and byte offset, and so that `iter_csv_chunks` never holds more than
one block of rows. Decoded lines go to the standard `csv` module (quoted fields may span
lines; a row is numbered by the line it starts on). Every failure is a `DataError` whose
one-line message starts with the file name and, where it applies, the line and column.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from descent.data.cells import looks_numeric
from descent.data.columns import READ_MISSING, build_table
from descent.data.hints import hint
from descent.data.table import CATEGORICAL, Table, quote_names
from descent.errors import DataError

#: The longest physical line read; more means a binary file or a broken export.
MAX_LINE_BYTES = 64 * 1024 * 1024

_SIGNATURES = (
    (b"\xff\xfe", "is UTF-16 text; save it as UTF-8"),
    (b"\xfe\xff", "is UTF-16 text; save it as UTF-8"),
    (b"PK\x03\x04", "is a ZIP archive (an .xlsx spreadsheet?), not CSV; export it as CSV"),
    (b"\x1f\x8b", "is gzip-compressed; decompress it first"),
)


def _open(path: str | os.PathLike[str]) -> tuple[str, BinaryIO]:
    display = os.fspath(path)
    if display == "-":  # the usual name for standard input; closing ours leaves it open
        return "standard input", os.fdopen(os.dup(0), "rb")
    p = Path(display)
    if not p.exists():
        raise DataError(f"{display}: no such file")
    if p.is_dir():
        raise DataError(f"{display}: is a directory, not a CSV file")
    try:
        return display, open(p, "rb")
    except OSError as e:
        raise DataError(f"{display}: cannot open ({e.strerror or e})") from None


def _text_lines(f: BinaryIO, display: str) -> Iterator[str]:
    """Decoded physical lines; DataError on NUL bytes or bytes that are not UTF-8."""
    offset = 0
    number = 0
    while raw := f.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            # Bounded reads: a binary file with no newline must not be loaded whole.
            raise DataError(
                f"{display}, line {number}: longer than {MAX_LINE_BYTES} bytes; this does not "
                "look like a CSV file"
            )
        if number == 1:
            for magic, why in _SIGNATURES:
                if raw.startswith(magic):
                    raise DataError(f"{display}: {why}")
            if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark, as Excel writes
                raw = raw[3:]
                offset += 3
        nul = raw.find(b"\x00")
        if nul >= 0:
            raise DataError(
                f"{display}, line {number}: NUL byte at byte offset {offset + nul}; "
                "this looks like a binary file, not CSV text"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            bad = raw[e.start : e.start + 1]
            raise DataError(
                f"{display}, line {number}: byte 0x{bad.hex()} at byte offset "
                f"{offset + e.start} is not valid UTF-8; save the file as UTF-8 text"
            ) from None
        offset += len(raw)
        yield text


def _records(f: BinaryIO, display: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, stripped fields) of each non-blank CSV record."""
    reader = csv.reader(
        _text_lines(f, display), delimiter=delimiter, skipinitialspace=True, strict=True
    )
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if "unexpected end of data" in str(e):
                raise DataError(
                    f"{display}, line {start}: a quoted field starts in this row and is never "
                    "closed (missing '\"')"
                ) from None
            if "new-line character" in str(e):
                raise DataError(
                    f"{display}, line {start}: a bare carriage return (\\r) inside a field; "
                    "save the file with \\n or \\r\\n line endings"
                ) from None
            raise DataError(f"{display}, line {start}: malformed CSV ({e})") from None
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # blank lines separate nothing in CSV; skip them as pandas does
        yield start, list(map(str.strip, fields))


def iter_records(path: str | os.PathLike[str], *, delimiter: str = ",") -> Iterator[
        tuple[int, list[str]]]:
    """(first line number, stripped fields) of each non-blank record, the header included,
    with the same decoding checks as `read_csv` (one pass, nothing held in memory).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b\\n1, 2\\n\\n3,4\\n")
    >>> list(iter_records(p))
    [(1, ['a', 'b']), (2, ['1', '2']), (4, ['3', '4'])]
    """
    display, f = _open(path)
    with f:
        yield from _records(f, display, delimiter)


def _check_header(header: list[str], line: int, display: str, delimiter: str) -> None:
    seen: dict[str, int] = {}
    for j, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{display}, line {line}: column {j} of the header has no name")
        if name in seen:
            raise DataError(
                f"{display}, line {line}: column name {name!r} appears twice in the header "
                f"(columns {seen[name]} and {j})"
            )
        seen[name] = j
    if len(header) == 1:
        for other, label in ((";", "';'"), ("\t", "'\\t'")):
            if other != delimiter and other in header[0]:
                raise DataError(
                    f"{display}, line {line}: the header is one column {header[0]!r}; "
                    f"is the file separated by {label}? pass "
                    + hint(f"delimiter={label}", f"--delimiter {label}")
                )
    if all(looks_numeric(name) for name in header):
        raise DataError(
            f"{display}, line {line}: the first line is all numbers, so it looks like data, "
            "not a header; add a first line naming the columns"
        )


def _column_positions(
    header: list[str], wanted: Sequence[str] | None, display: str, line: int
) -> list[int]:
    if wanted is None:
        return list(range(len(header)))
    if isinstance(wanted, str):
        raise TypeError("expected_columns must be a sequence of column names, not one string")
    if len(set(wanted)) != len(wanted):
        raise ValueError("expected_columns lists a column more than once")
    absent = [name for name in wanted if name not in header]
    if absent:
        raise DataError(
            f"{display}, line {line}: missing column(s) {quote_names(absent)}; "
            f"the header has {quote_names(header)}"
        )
    return [header.index(name) for name in wanted]


class _RowSource:
    """The header, then rows of the wanted columns, each checked for its field count."""

    def __init__(
        self, f: BinaryIO, display: str, delimiter: str, wanted: Sequence[str] | None
    ) -> None:
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise ValueError(f"delimiter must be one character, got {delimiter!r}")
        self.display = display
        self.records = _records(f, display, delimiter)
        first = next(self.records, None)
        if first is None:
            raise DataError(f"{display}: the file is empty (no header line)")
        self.header_line, self.header = first
        _check_header(self.header, self.header_line, display, delimiter)
        self.positions = _column_positions(self.header, wanted, display, self.header_line)
        self.columns = [self.header[j] for j in self.positions]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        m = len(self.header)
        every = self.positions == list(range(m))  # each record's own list will do
        for line, fields in self.records:
            if len(fields) != m:
                raise DataError(
                    f"{self.display}, line {line}: {len(fields)} field(s), but the header "
                    f"(line {self.header_line}) has {m}"
                )
            yield line, fields if every else [fields[j] for j in self.positions]

    def no_rows_error(self) -> DataError:
        return DataError(
            f"{self.display}: the file has a header (line {self.header_line}) but no data rows"
        )


def read_csv(
    path: str | os.PathLike[str],
    *,
    delimiter: str = ",",
    expected_columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    missing: str = "error",
    all_text: bool = False,
) -> Table:
    """Read a whole CSV file (a header line, then one row per line) into a `Table`.

    Args:
        path: the file; UTF-8 text (a byte-order mark is allowed).
        delimiter: the field separator.
        expected_columns: read only these columns, in this order; each must be in the
            header. None reads them all.
        kinds: name -> "numeric" or "categorical" to fix a column's kind (e.g. from a trained
            model's `TableEncoder.reader_kinds()`); other columns are inferred by the rule in
            `descent.data.columns`. Names not in the file are ignored.
        missing: "error" (default) raises on the first missing cell ("", "NA", "NaN", "?",
            ...); "keep" leaves gaps as NaN / None for a `TableEncoder` to fill with values it
            learned in training; "mean", "median", "most_frequent" fill the gaps from this
            file's own columns.

    `all_text=True` reads every column as text ("categorical", nothing inferred), for a
    schema to type afterwards; it spares a second read of the header, which a pipe does not
    allow.

    Returns a Table of n_rows rows; `line_numbers` are the file lines of the rows.

    Raises DataError, naming file, line and column, on: a missing file or a directory, an
    empty file, a header with no rows, empty or duplicate column names, a row with the wrong
    number of fields, bytes that are not UTF-8, NUL bytes, malformed quoting, missing values
    (unless `missing` says otherwise), infinite values (also "1e999", which overflows),
    numbers beyond float32's range, and text in a numeric column.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.csv"
    >>> _ = p.write_text("price,garden\\n100,yes\\n250,no\\n")
    >>> t = read_csv(p)
    >>> t.columns, t.values["price"].tolist(), t.kinds["garden"]
    (['price', 'garden'], [100.0, 250.0], 'categorical')
    """
    if missing not in READ_MISSING:
        raise ValueError(f"missing must be one of {READ_MISSING}, got {missing!r}")
    display, f = _open(path)
    with f:
        source = _RowSource(f, display, delimiter, expected_columns)
        lines: list[int] = []
        rows: list[list[str]] = []
        for line, fields in source.rows():
            lines.append(line)
            rows.append(fields)
    if not rows:
        raise source.no_rows_error()
    if all_text:
        kinds = dict.fromkeys(source.columns, CATEGORICAL)
    return build_table(
        source.columns,
        rows,
        np.array(lines, dtype=np.int64),
        path=display,
        kinds=kinds,
        missing=missing,
    )


def iter_csv_chunks(
    path: str | os.PathLike[str],
    chunk_rows: int = 10_000,
    *,
    delimiter: str = ",",
    expected_columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    missing: str = "error",
) -> Iterator[Table]:
    """Yield a CSV file as `Table`s of at most `chunk_rows` rows, holding one block at a time.

    For files larger than memory (e.g. predicting on them). Each block gets the same checks as
    `read_csv`, with its rows' true file lines in `line_numbers`. Column kinds not given in
    `kinds` are inferred from the first block and then fixed, so a later block with text in a
    numeric column is an error naming its line. `missing` is "error" or "keep" (filling from
    the file's own statistics would need the whole file first).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("x\\n1\\n2\\n3\\n")
    >>> [len(t) for t in iter_csv_chunks(p, 2)]
    [2, 1]
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int | np.integer):
        raise TypeError(f"chunk_rows must be an int, got {type(chunk_rows).__name__}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if missing not in ("error", "keep"):
        raise ValueError(
            f"missing must be 'error' or 'keep' when reading in chunks, got {missing!r}; fill "
            "gaps with a fitted TableEncoder"
        )
    display, f = _open(path)
    try:
        source = _RowSource(f, display, delimiter, expected_columns)
    except BaseException:
        f.close()
        raise
    return _chunks(f, source, chunk_rows, dict(kinds or {}), missing)


def _chunks(
    f: BinaryIO, source: _RowSource, chunk_rows: int, kinds: dict[str, str], missing: str
) -> Iterator[Table]:
    # A separate generator so that iter_csv_chunks checks its arguments and the header
    # when called, not at the first next().
    with f:
        lines: list[int] = []
        rows: list[list[str]] = []
        seen_rows = False
        for line, fields in source.rows():
            lines.append(line)
            rows.append(fields)
            if len(rows) == chunk_rows:
                table = _block(source, rows, lines, kinds, missing)
                # Fix the kind of each column seen with a value; an all-empty column in this
                # block has not shown its kind yet.
                shown = {n: k for n, k in table.kinds.items() if not table.missing_mask(n).all()}
                kinds = {**shown, **kinds}
                seen_rows = True
                lines, rows = [], []
                yield table
        if rows:
            yield _block(source, rows, lines, kinds, missing)
        elif not seen_rows:
            raise source.no_rows_error()


def _block(
    source: _RowSource, rows: list[list[str]], lines: list[int], kinds: dict[str, str],
    missing: str,
) -> Table:
    return build_table(
        source.columns, rows, np.array(lines, np.int64), path=source.display, kinds=kinds,
        missing=missing,
    )


def sniff_delimiter(path: str | os.PathLike[str]) -> str:
    """The field separator of a CSV file, judged by its header line: whichever of ",", ";",
    tab and "|" occurs most outside quotes (ties and none: ","). Input that is not a regular
    file (a pipe, /dev/stdin, "-") is not peeked at: ",".

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text('name;"price, in $";zip\\na;1;02139\\n')
    >>> sniff_delimiter(p)
    ';'
    """
    if not os.path.isfile(os.fspath(path)):
        # A pipe, a FIFO or standard input can be read only once, and the reader needs
        # it whole: no peeking. Such input uses "," unless the caller says otherwise.
        return ","
    display, f = _open(path)
    with f:
        first = f.readline(MAX_LINE_BYTES).decode("utf-8", errors="replace")
    counts = {d: 0 for d in (",", ";", "\t", "|")}
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def read_csv_header(path: str | os.PathLike[str], *, delimiter: str = ",") -> list[str]:
    """The column names of a CSV file, checked as `read_csv` checks them; reads one record.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("a,b\\n1,2\\n")
    >>> read_csv_header(p)
    ['a', 'b']
    """
    display, f = _open(path)
    with f:
        return list(_RowSource(f, display, delimiter, None).header)


def read_csv_row(
    path: str | os.PathLike[str],
    row: int,
    *,
    delimiter: str = ",",
    expected_columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    missing: str = "keep",
    all_text: bool = False,
) -> Table:
    """One data row (0-based `row`) of a CSV file as a one-row `Table`, reading the file
    once and holding one record at a time, so a file of any size costs one row of memory.

    Give `kinds` for columns whose kind must not be guessed from one cell, or `all_text`
    (as `read_csv`). Raises
    IndexError naming the number of data rows when `row` is past the end, and DataError as
    `read_csv` does.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("x,c\\n1,a\\n2,b\\n")
    >>> t = read_csv_row(p, 1)
    >>> t.values["x"].tolist(), t.line_numbers.tolist()
    ([2.0], [3])
    """
    if isinstance(row, bool) or not isinstance(row, int | np.integer) or row < 0:
        raise ValueError(f"row must be a whole number >= 0, got {row!r}")
    display, f = _open(path)
    with f:
        source = _RowSource(f, display, delimiter, expected_columns)
        count = 0
        for line, fields in source.rows():
            if count == row:
                if all_text:
                    kinds = dict.fromkeys(source.columns, CATEGORICAL)
                return build_table(source.columns, [fields], np.array([line], np.int64),
                                   path=display, kinds=kinds, missing=missing)
            count += 1
    raise IndexError(f"{display} has {count} data row{'s' if count != 1 else ''}")


#: The most cells `iter_csv_blocks` holds at once (text cells kept for the pass-through,
#: plus the caller's output cells): about 100 MB of Python strings.
MAX_BLOCK_CELLS = 1_000_000


def iter_csv_blocks(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    *,
    chunk_rows: int = 10_000,
    extra_cells: int = 0,
    max_cells: int | None = None,
    delimiter: str = ",",
    kinds: Mapping[str, str] | None = None,
    missing: str = "error",
) -> tuple[list[str], Iterator[tuple[Table, list[list[str]]]]]:
    """Read a CSV file once, in blocks: (header, iterator of (table, records)).

    Each block's `table` holds only `columns`, parsed and checked as `iter_csv_chunks` does
    (the other columns are never parsed, so gaps or odd text in them are not errors);
    `records` are the block's rows as the file's stripped text fields, every column, for a
    caller that writes them back out. The file is opened and read once, so a pipe, a FIFO
    or /dev/stdin works. A block has at most `chunk_rows` rows, and fewer when its rows
    are wide: rows × (columns in the file + `extra_cells`) stays under `max_cells`
    (default `MAX_BLOCK_CELLS`), so
    memory does not grow with the width of the file or of the caller's output per row.

    Raises DataError naming the file when a column in `columns` is not in the header.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("x,notes\\n1,\\n2,??\\n")
    >>> header, blocks = iter_csv_blocks(p, ["x"])
    >>> [(t.values["x"].tolist(), records) for t, records in blocks]
    [([1.0, 2.0], [['1', ''], ['2', '??']])]
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a whole number >= 1, got {chunk_rows!r}")
    if missing not in ("error", "keep"):
        raise ValueError(f"missing must be 'error' or 'keep' when reading in blocks, got "
                         f"{missing!r}")
    display, f = _open(path)
    try:
        source = _RowSource(f, display, delimiter, columns)
    except BaseException:
        f.close()
        raise
    width = len(source.header) + max(int(extra_cells), 0)
    budget = MAX_BLOCK_CELLS if max_cells is None else max_cells
    rows_per_block = max(1, min(chunk_rows, budget // max(width, 1)))
    return list(source.header), _blocks(f, source, rows_per_block, dict(kinds or {}), missing)


def _blocks(f: BinaryIO, source: _RowSource, rows_per_block: int, kinds: dict[str, str],
            missing: str) -> Iterator[tuple[Table, list[list[str]]]]:
    with f:
        m = len(source.header)
        lines: list[int] = []
        records: list[list[str]] = []
        seen_rows = False
        for line, fields in source.records:
            if len(fields) != m:
                raise DataError(
                    f"{source.display}, line {line}: {len(fields)} field(s), but the header "
                    f"(line {source.header_line}) has {m}"
                )
            lines.append(line)
            records.append(fields)
            if len(records) == rows_per_block:
                table = _records_block(source, records, lines, kinds, missing)
                # As in iter_csv_chunks: a kind shown by this block is fixed for the next.
                shown = {n: k for n, k in table.kinds.items() if not table.missing_mask(n).all()}
                kinds = {**shown, **kinds}
                seen_rows = True
                yield table, records
                lines, records = [], []
        if records:
            yield _records_block(source, records, lines, kinds, missing), records
        elif not seen_rows:
            raise source.no_rows_error()


def _records_block(source: _RowSource, records: list[list[str]], lines: list[int],
                   kinds: dict[str, str], missing: str) -> Table:
    rows = [[fields[j] for j in source.positions] for fields in records]
    return build_table(source.columns, rows, np.array(lines, np.int64), path=source.display,
                       kinds=kinds, missing=missing)
