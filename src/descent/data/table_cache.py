"""Typed tables kept in a nameless binary file, to be read again without parsing text.

`descent train --stream` reads every block of a CSV three times (the statistics, the
medians, the encoding); parsing the text is the slow part. `TableCache` keeps each block's
typed `Table` after the first read: numbers as float64 bytes, text columns as int32 codes
into the block's distinct values (stored as JSON in the same file, so memory holds only
the offsets), the rows' line numbers as int64. Reading a block back gives an equal Table:
the same columns, kinds, values (bit for bit; None where text is missing), lines and path.
The file has no name (as `tempfile.TemporaryFile`): the system frees it when the process
ends, however it ends.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass

import numpy as np

from descent.data.table import NUMERIC, Table


@dataclass(frozen=True)
class _Entry:
    offset: int
    n_rows: int
    columns: list[str]
    kinds: dict[str, str]
    path: str | None
    sizes: list[int]  # bytes of each stored part, in order


class TableCache:
    """Tables written once and read back any number of times, by their index.

    >>> t = Table(["x", "c"], {"x": np.array([1.5, np.nan]),
    ...                        "c": np.array(["a", None], dtype=object)},
    ...           {"x": "numeric", "c": "categorical"}, np.array([2, 3]), "f.csv")
    >>> cache = TableCache()
    >>> cache.append(t)
    0
    >>> back = cache.read(0)
    >>> back.values["x"].tolist(), back.values["c"].tolist(), back.line_numbers.tolist()
    ([1.5, nan], ['a', None], [2, 3])
    >>> cache.close()
    """

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile("w+b", prefix="descent-tables-")
        self.entries: list[_Entry] = []
        self.end = 0

    def append(self, table: Table) -> int:
        """Store `table`; returns its index."""
        parts = [np.ascontiguousarray(table.line_numbers, np.int64).tobytes()]
        for name in table.columns:
            values = table.values[name]
            if table.kinds[name] == NUMERIC:
                parts.append(np.ascontiguousarray(values, np.float64).tobytes())
                continue
            index: dict[object, int] = {}
            codes = np.fromiter((index.setdefault(v, len(index)) for v in values.tolist()),
                                np.int32, len(values))
            parts.append(codes.tobytes())
            parts.append(json.dumps(list(index), ensure_ascii=False).encode("utf-8"))
        self.file.seek(self.end)
        for part in parts:
            self.file.write(part)
        self.entries.append(_Entry(self.end, len(table), list(table.columns),
                                   dict(table.kinds), table.path, [len(p) for p in parts]))
        self.end += sum(len(p) for p in parts)
        return len(self.entries) - 1

    def read(self, i: int) -> Table:
        """The table stored as number `i`."""
        e = self.entries[i]
        self.file.seek(e.offset)
        sizes = iter(e.sizes)
        lines = np.frombuffer(self.file.read(next(sizes)), np.int64).copy()
        values: dict[str, np.ndarray] = {}
        for name in e.columns:
            raw = self.file.read(next(sizes))
            if e.kinds[name] == NUMERIC:
                values[name] = np.frombuffer(raw, np.float64).copy()
                continue
            codes = np.frombuffer(raw, np.int32)
            keys = json.loads(self.file.read(next(sizes)).decode("utf-8"))
            table = np.empty(len(keys), dtype=object)
            table[:] = keys
            values[name] = table[codes]
        return Table(list(e.columns), values, dict(e.kinds), lines, e.path)

    def __len__(self) -> int:
        return len(self.entries)

    def close(self) -> None:
        self.file.close()
