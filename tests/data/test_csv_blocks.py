"""CSV blocks: cut where a record ends (quotes respected) whatever the scan's piece size,
and the index keeps nothing per record: its memory does not grow with the file."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descent.data.csv_blocks as csv_blocks
from descent.data.csv_blocks import CsvBlock, index_csv_blocks
from descent.errors import DataError


def _reference(data: bytes, block_bytes: int) -> list[CsvBlock] | None:
    """The blocks, by walking the bytes one at a time; None when the file has no data
    rows."""
    ends, lines = [], []
    quoted, line = False, 1
    for i, byte in enumerate(data):
        if byte == ord('"'):
            quoted = not quoted
        elif byte == ord("\n"):
            line += 1
            if not quoted:
                ends.append(i + 1)
                lines.append(line)
    if not ends or ends[-1] != len(data):
        ends.append(len(data))
        lines.append(-1)
    header_stop = ends[0]
    if header_stop >= len(data):
        return None
    out, start, first = [], header_stop, lines[0]
    for end, nxt in zip(ends[1:], lines[1:], strict=True):
        if end >= start + block_bytes or end == len(data):
            out.append(CsvBlock("", start, end, first, header_stop))
            start, first = end, nxt
    return out


@settings(max_examples=300, deadline=None)
@given(body=st.text(alphabet='ab,"\n\r', max_size=80), header_newline=st.booleans(),
       block_bytes=st.integers(1, 30), scan=st.sampled_from([1, 2, 5, 64]))
def test_blocks_match_a_byte_by_byte_reference(tmp_path_factory, body, header_newline,
                                               block_bytes, scan):
    data = ("h1,h2" + ("\n" if header_newline else "") + body).encode()
    path = tmp_path_factory.mktemp("blocks") / "t.csv"
    path.write_bytes(data)
    expected = _reference(data, block_bytes)
    pieces = csv_blocks._SCAN_BYTES
    csv_blocks._SCAN_BYTES = scan  # pieces that end inside quotes and between \r and \n
    try:
        if expected is None:
            with pytest.raises(DataError, match="no data rows"):
                index_csv_blocks(path, block_bytes=block_bytes)
            return
        got = index_csv_blocks(path, block_bytes=block_bytes)
    finally:
        csv_blocks._SCAN_BYTES = pieces
    assert got.size == len(data)
    assert [(b.start, b.stop, b.first_line, b.header_stop) for b in got.blocks] == [
        (b.start, b.stop, b.first_line, b.header_stop) for b in expected]


def test_index_memory_does_not_grow_with_the_records(tmp_path, monkeypatch):
    """The index of a file of 400 000 records holds no array per record: its traced peak
    is that of one scanned piece (64 kB here), far below 8 bytes a record (3.2 MB)."""
    monkeypatch.setattr(csv_blocks, "_SCAN_BYTES", 64 * 1024)
    path = tmp_path / "many.csv"
    rows = np.char.mod("%d,1\n", np.arange(400_000))
    path.write_text("i,x\n" + "".join(rows.tolist()))
    tracemalloc.start()
    try:
        blocks = index_csv_blocks(path, block_bytes=256 * 1024).blocks
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert blocks[-1].stop == path.stat().st_size and len(blocks) > 10
    assert peak < 1_000_000, peak
