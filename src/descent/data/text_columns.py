"""A CSV file read once into compact per-column text, turned into Python strings one column
at a time.

`read_csv(path, all_text=True)` holds every cell of the file as a Python string at once:
about 50 bytes of object per cell, 20 times the file for a table of short numbers.
`read_text_columns` reads the same records with the same checks (`csv_reader._RowSource`),
but keeps each column as UTF-8 bytes, its cells joined by NUL (the reader refuses NUL
bytes in a file, so NUL never occurs in a cell): the file's own size, about. `cells(name)`
gives one column exactly as `read_csv(..., all_text=True, missing="keep")` gives it (an
object array of stripped strings, None where missing), and `drop(name)` frees its text once
the caller has typed it, so the strings of only one column exist at a time.
"""

from __future__ import annotations

import os
from array import array
from operator import itemgetter

import numpy as np

from descent.data.columns import text_cells
from descent.data.csv_reader import _open, _RowSource
from descent.data.table import CATEGORICAL, Table

#: Cells parsed into Python strings before they are packed into each column's bytes: about
#: 50 MB of short strings, whatever the width of the file.
BLOCK_CELLS = 1_000_000
_SEP = "\x00"


class TextColumns:
    """Every column of a CSV file as packed text (see the module doc).

    Attributes: `columns` (names in file order), `line_numbers` (int64 (n_rows,), the
    1-based file line each row starts on), `path` (the file as named, for messages).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("x,c\\n1, a\\nNA,b\\n")
    >>> text = read_text_columns(p)
    >>> text.columns, len(text), text.cells("x").tolist(), text.cells("c").tolist()
    (['x', 'c'], 2, ['1', None], ['a', 'b'])
    """

    def __init__(self, columns: list[str], chunks: dict[str, list[bytes]],
                 line_numbers: np.ndarray, path: str) -> None:
        self.columns = columns
        self._chunks = chunks
        self.line_numbers = line_numbers
        self.path = path

    def __len__(self) -> int:
        return len(self.line_numbers)

    @property
    def source(self) -> str:
        """How messages name the file."""
        return self.path

    def cells(self, name: str) -> np.ndarray:
        """Column `name` as an object array (n_rows,) of stripped strings, None where a
        cell is missing (`MISSING_TOKENS`)."""
        texts: list[str] = []
        for chunk in self._chunks[name]:
            texts.extend(chunk.decode("utf-8").split(_SEP))
        return text_cells(texts)

    def table(self, name: str) -> Table:
        """Column `name` as a one-column text `Table` (the rows' lines and the path kept),
        as the schema step reads it."""
        return Table([name], {name: self.cells(name)}, {name: CATEGORICAL},
                     self.line_numbers, self.path)

    def drop(self, name: str) -> None:
        """Free the text of column `name` (typed by the caller; not read again)."""
        self._chunks[name] = []


def read_text_columns(path: str | os.PathLike[str], *, delimiter: str = ",") -> TextColumns:
    """Read a CSV file once (a pipe or /dev/stdin too) into `TextColumns`, with the checks
    and messages of `read_csv`: a bad header, a row with the wrong number of fields, bytes
    that are not UTF-8, NUL bytes, malformed quoting, no data rows (DataError).

    Memory: the packed text (about the file's size) plus one block of `BLOCK_CELLS` parsed
    cells.
    """
    display, f = _open(path)
    with f:
        source = _RowSource(f, display, delimiter, None)
        names = source.columns
        m = len(names)
        chunks: dict[str, list[bytes]] = {name: [] for name in names}
        lines = array("q")
        rows: list[list[str]] = []
        per_block = max(1, BLOCK_CELLS // max(m, 1))
        for line, fields in source.rows():
            lines.append(line)
            rows.append(fields)
            if len(rows) == per_block:
                _pack(rows, names, chunks)
                rows = []
        if rows:
            _pack(rows, names, chunks)
    if not len(lines):
        raise source.no_rows_error()
    return TextColumns(list(names), chunks, np.frombuffer(lines, dtype=np.int64).copy(),
                       display)


def _pack(rows: list[list[str]], names: list[str], chunks: dict[str, list[bytes]]) -> None:
    """Append one block of rows to each column's packed text."""
    for j, name in enumerate(names):  # one column's cells at a time, picked out in C
        chunks[name].append(_SEP.join(map(itemgetter(j), rows)).encode("utf-8"))
