"""A CSV file cut into blocks of whole records that can be read independently, in any order,
by any process: what streaming training and Dask workers read.

`index_csv_blocks` scans the bytes once (NumPy, a few MiB at a time, so memory stays
flat) and cuts after a newline that ends a record: one outside quotes, found by the parity
of the quote characters before it (a quoted field may hold newlines; an escaped quote "" adds
two). `read_csv_block` reads one block with the same reader and checks as `read_csv`,
its rows numbered by their true file lines.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from descent.data.columns import READ_MISSING, build_table
from descent.data.csv_reader import _open, _RowSource
from descent.data.table import Table
from descent.errors import DataError

DEFAULT_BLOCK_BYTES = 16 * 1024 * 1024
_SCAN_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CsvBlock:
    """Bytes [start, stop) of `path`, whole records, the first on line `first_line`."""

    path: str
    start: int
    stop: int
    first_line: int
    header_stop: int  # the header record is bytes [0, header_stop)


@dataclass(frozen=True)
class CsvBlocks:
    """The blocks of one file, in file order; `size` is the file's size in bytes."""

    path: str
    size: int
    blocks: list[CsvBlock]


def _record_ends(path: str) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """For each piece of the file, scanned in bounded pieces: (byte offsets just after
    each record-ending newline in it, physical line number of the line after each, the
    offset where the piece ends). Nothing is kept from one piece to the next but the
    quote parity and the line count, so memory does not grow with the file."""
    quotes_odd = False
    line = 1
    offset = 0
    with open(path, "rb") as f:
        while piece := f.read(_SCAN_BYTES):
            a = np.frombuffer(piece, np.uint8)
            newlines = np.flatnonzero(a == 10)
            quotes = np.flatnonzero(a == 34)
            if len(quotes) or quotes_odd:
                # quotes before each newline, counted by position: no array as long as the
                # piece beyond the positions themselves
                parity = (np.searchsorted(quotes, newlines) + quotes_odd) % 2
                closed = newlines[parity == 0]
                quotes_odd = bool((len(quotes) + quotes_odd) % 2)
                numbers = line + np.searchsorted(newlines, closed) + 1
            else:
                closed = newlines
                numbers = line + np.arange(1, len(newlines) + 1)
            line += len(newlines)
            offset += len(piece)
            yield closed + (offset - len(piece)) + 1, numbers, offset


def index_csv_blocks(path: str | os.PathLike[str], *, block_bytes: int = DEFAULT_BLOCK_BYTES,
                     delimiter: str = ",") -> CsvBlocks:
    """Cut the CSV file at `path` into blocks of about `block_bytes` bytes of whole records.

    One pass over the bytes, a piece at a time, cutting as it goes: memory holds one
    piece and the list of blocks, never an offset per record (a 2 GB file has 30 million).

    Raises DataError for a missing file, a directory, or a file with no data rows after
    its header.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text('x,note\\n1,"two\\nlines"\\n2,b\\n3,c\\n')
    >>> blocks = index_csv_blocks(p, block_bytes=1).blocks
    >>> [(b.first_line, len(read_csv_block(b))) for b in blocks]
    [(2, 1), (4, 1), (5, 1)]
    """
    display, f = _open(path)
    f.close()
    if block_bytes < 1:
        raise ValueError(f"block_bytes must be at least 1, got {block_bytes}")
    blocks: list[CsvBlock] = []
    header_stop = start = first = target = -1
    size = 0
    for ends, lines, offset in _record_ends(display):
        size, i = offset, 0
        if header_stop < 0:
            if not len(ends):
                continue
            header_stop = start = int(ends[0])
            first, target, i = int(lines[0]), header_stop + block_bytes, 1
        # Cut at the first record end at or past each target offset.
        while (j := i + int(np.searchsorted(ends[i:], target))) < len(ends):
            end = int(ends[j])
            blocks.append(CsvBlock(display, start, end, first, header_stop))
            start, first, target, i = end, int(lines[j]), end + block_bytes, j + 1
    if header_stop < 0:  # no newline at all: the file is its header
        header_stop = start = size
    if header_stop >= size:
        raise DataError(f"{display}: the file has a header (line 1) but no data rows")
    if start < size:  # the last records, with or without a final newline
        blocks.append(CsvBlock(display, start, size, first, header_stop))
    return CsvBlocks(display, size, blocks)


def read_csv_block(block: CsvBlock, *, delimiter: str = ",",
                   expected_columns: Sequence[str] | None = None,
                   kinds: Mapping[str, str] | None = None, missing: str = "error") -> Table:
    """One block as a `Table`, read and checked as `read_csv` reads a file (same options),
    `line_numbers` the rows' lines in the file. A block of only blank lines gives a Table
    of 0 rows.
    """
    if missing not in READ_MISSING:
        raise ValueError(f"missing must be one of {READ_MISSING}, got {missing!r}")
    display, f = _open(block.path)
    with f:
        header = f.read(block.header_stop)
        f.seek(block.start)
        body = f.read(block.stop - block.start)
    if not header.endswith(b"\n"):
        header += b"\n"
    source = _RowSource(io.BytesIO(header + body), display, delimiter, expected_columns)
    shift = block.first_line - 2  # the body starts on line 2 of the bytes read
    lines: list[int] = []
    rows: list[list[str]] = []
    try:
        for line, fields in source.rows():
            lines.append(line + shift)
            rows.append(fields)
    except DataError as error:  # the reader counted lines from the header; put them right
        raise DataError(_shift_line(str(error), shift)) from None
    return build_table(source.columns, rows, np.array(lines, dtype=np.int64), path=display,
                       kinds=kinds, missing=missing)


def _shift_line(message: str, shift: int) -> str:
    import re

    return re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + shift}"
                  if int(m.group(1)) > 1 else m.group(0), message, count=1)
