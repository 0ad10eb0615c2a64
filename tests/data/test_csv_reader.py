"""read_csv / iter_csv_chunks: every malformed file gets one DataError naming line and column."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import numpy as np
import pytest

from descent.data import iter_csv_chunks, read_csv, read_csv_header
from descent.errors import DataError

# (case id, file bytes, substrings the one-line message must contain)
MALFORMED = [
    ("empty file", b"", ["is empty"]),
    ("blank lines only", b"\n\n  \n", ["is empty"]),
    ("header only", b"a,b\n", ["header (line 1)", "no data rows"]),
    ("duplicate column", b"a,b,a\n1,2,3\n", ["line 1", "'a'", "columns 1 and 3"]),
    ("empty column name", b"a,,c\n1,2,3\n", ["line 1", "column 2", "no name"]),
    ("ragged short row", b"a,b,c\n1,2,3\n4,5\n", ["line 3", "2 field", "has 3"]),
    ("ragged long row", b"a,b\n1,2\n3,4\n5,6,7\n", ["line 4", "3 field", "has 2"]),
    ("non-utf8 byte", b"a,b\n1,x\n2,caf\xe9\n", ["line 3", "0xe9", "byte offset 13", "UTF-8"]),
    ("nul byte", b"a,b\n1,2\n3,\x004\n", ["line 3", "NUL", "byte offset 10", "binary"]),
    ("utf16", "a,b\n1,2\n".encode("utf-16"), ["UTF-16"]),
    ("zip", b"PK\x03\x04\x14\x00\x00\x00", ["ZIP"]),
    ("gzip", b"\x1f\x8b\x08\x00", ["gzip"]),
    ("empty cell", b"a,b\n1,2\n,4\n", ["line 3", "column 'a'", "empty cell"]),
    ("NA", b"a,b\n1,2\n3,NA\n", ["line 3", "column 'b'", "'NA'"]),
    ("NaN text", b"a,b\n1,2\n3,4\nNaN,5\n", ["line 4", "column 'a'", "'NaN'"]),
    ("question mark", b"a,b\nx,2\n?,4\n", ["line 3", "column 'a'", "'?'"]),
    ("1e999 overflows", b"a,b\n1,2\n1e999,4\n", ["line 3", "column 'a'", "'1e999'", "infinity"]),
    ("inf text", b"a,b\n1,2\n3,inf\n", ["line 3", "column 'b'", "'inf'", "infinite"]),
    ("-Infinity text", b"a,b\n1,2\n-Infinity,4\n", ["line 3", "column 'a'", "infinite"]),
    ("beyond float32", b"a,b\n1,2\n3,-4e38\n", ["line 3", "column 'b'", "float32"]),
    (
        "text in numeric column",
        b"price,x\n100,a\n200,b\n300,c\nabc,d\n400,e\n",
        ["line 5", "column 'price'", "'abc'", "not a number", "4 of 5"],
    ),
    ("unclosed quote", b"a,b\n1,2\n3,\"4\n5,6\n", ["line 3", "never closed"]),
    ("quote in middle", b"a,b\n1,2\n3,\"4\"x\n", ["line 3", "malformed"]),
    ("semicolon file", b"a;b\n1;2\n", ["line 1", "delimiter=';'"]),
    ("old mac line ends", b"a,b\r1,2\r3,4\r", ["line 1", "carriage return"]),
    ("no header", b"1,2\n3,4\n", ["line 1", "looks like data"]),
]


@pytest.mark.parametrize("content, expected", [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_malformed_file_names_the_place(tmp_path: Path, content: bytes, expected: list[str]):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_csv(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.mark.parametrize("content, expected", [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_chunked_reader_reports_the_same(tmp_path: Path, content: bytes, expected: list[str]):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        for _ in iter_csv_chunks(path, 1):
            pass
    for part in expected:
        if part == "4 of 5":  # a one-row block cannot know the whole column's share
            continue
        assert part in str(info.value)


def test_missing_file_and_directory(tmp_path: Path):
    with pytest.raises(DataError, match="no such file"):
        read_csv(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_csv(tmp_path)
    with pytest.raises(DataError, match="no such file"):
        iter_csv_chunks(tmp_path / "absent.csv", 10)  # checked at the call, not at next()


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_reads_values_kinds_and_line_numbers(tmp_path: Path):
    text = (
        "\ufeffprice , color,garden\r\n"  # BOM, spaces around names, CRLF endings
        "100, red ,yes\r\n"
        "\r\n"  # a blank line is skipped but still counted
        "2.5e2,\"dark, blue\",no\r\n"
        "-3,\"multi\nline\",yes\r\n"
        "7,red,no\r\n"
    )
    table = read_csv(_write(tmp_path, text))
    assert table.columns == ["price", "color", "garden"]
    assert table.kinds == {"price": "numeric", "color": "categorical", "garden": "categorical"}
    assert table.values["price"].tolist() == [100.0, 250.0, -3.0, 7.0]
    assert table.values["color"].tolist() == ["red", "dark, blue", "multi\nline", "red"]
    # Rows start on lines 2, 4, 5 and 7 (the quoted newline makes row 3 two lines long).
    assert table.line_numbers.tolist() == [2, 4, 5, 7]
    assert table.location(3) == f"{tmp_path / 'data.csv'}, line 7"


def test_line_numbers_after_multiline_field_reach_errors(tmp_path: Path):
    path = _write(tmp_path, 'a,b\n1,"x\ny\nz"\n2,ok\n3\n')
    with pytest.raises(DataError, match="line 6: 1 field"):
        read_csv(path)


def test_agrees_with_the_csv_module_on_the_shipped_file():
    path = Path(__file__).parents[2] / "src/descent/datasets/windsor_housing.csv"
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    table = read_csv(path)
    assert table.columns == rows[0]
    for j, name in enumerate(rows[0]):
        if table.kinds[name] == "numeric":
            assert table.values[name].tolist() == [float(r[j]) for r in rows[1:]]
        else:
            assert table.values[name].tolist() == [r[j] for r in rows[1:]]


def test_expected_columns_selects_and_orders(tmp_path: Path):
    path = _write(tmp_path, "a,b,c\n1,x,3\n4,y,6\n")
    table = read_csv(path, expected_columns=["c", "a"])
    assert table.columns == ["c", "a"]
    assert table.values["c"].tolist() == [3.0, 6.0]
    with pytest.raises(DataError, match=r"line 1: missing column\(s\) 'z'"):
        read_csv(path, expected_columns=["a", "z"])


def test_unread_columns_are_not_checked(tmp_path: Path):
    path = _write(tmp_path, "a,notes\n1,\n2,\n")
    assert read_csv(path, expected_columns=["a"]).values["a"].tolist() == [1.0, 2.0]


def test_kinds_force_a_column(tmp_path: Path):
    path = _write(tmp_path, "zip,n\n01234,1\n98765,2\n")
    table = read_csv(path, kinds={"zip": "categorical"})
    assert table.values["zip"].tolist() == ["01234", "98765"]
    with pytest.raises(DataError, match="line 3, column 'n': 'two' is not a number"):
        read_csv(_write(tmp_path, "n\n1\ntwo\n", "t.csv"), kinds={"n": "numeric"})
    with pytest.raises(ValueError, match="kinds"):
        read_csv(path, kinds={"zip": "text"})


def test_mostly_text_column_is_categorical(tmp_path: Path):
    table = read_csv(_write(tmp_path, "rooms\n1\n2\n3+\n4+\n"))
    assert table.kinds["rooms"] == "categorical"
    assert table.values["rooms"].tolist() == ["1", "2", "3+", "4+"]


def test_missing_keep_and_imputation(tmp_path: Path):
    path = _write(tmp_path, "x,c\n1,red\n,blue\n4,?\n10,red\nNA,blue\n2,red\n")
    kept = read_csv(path, missing="keep")
    assert np.isnan(kept.values["x"]).tolist() == [False, True, False, False, True, False]
    assert kept.values["c"].tolist() == ["red", "blue", None, "red", "blue", "red"]
    present = [1.0, 4.0, 10.0, 2.0]
    for strategy, expected in [
        ("mean", statistics.mean(present)),
        ("median", statistics.median(present)),
        ("most_frequent", 1.0),  # all tie once; the smallest wins
    ]:
        filled = read_csv(path, missing=strategy)
        assert filled.values["x"][[1, 4]].tolist() == [expected, expected]
        assert filled.values["c"][2] == "red"  # text always takes the most frequent value
    with pytest.raises(ValueError, match="missing"):
        read_csv(path, missing="zero")


def test_all_missing_column_cannot_be_imputed(tmp_path: Path):
    path = _write(tmp_path, "x,y\n1,\n2,\n")
    with pytest.raises(DataError, match="column 'y': every value is missing"):
        read_csv(path, missing="mean")


def test_float32_edge_is_accepted(tmp_path: Path):
    path = _write(tmp_path, "x\n3.4028234e38\n-1e-45\n")
    values = read_csv(path).values["x"]
    assert np.isfinite(values.astype(np.float32)).all()


def test_chunks_equal_whole_read(tmp_path: Path):
    rng = np.random.default_rng(0)
    lines = ["x,label,flag"]
    for i in range(103):
        lines.append(f"{rng.normal():.6g},{'abc'[i % 3]},{'yes' if i % 2 else 'no'}")
    lines.insert(50, "")  # a blank line shifts the line numbers of what follows
    path = _write(tmp_path, "\n".join(lines) + "\n")
    whole = read_csv(path)
    for chunk_rows in (1, 7, 50, 103, 1000):
        chunks = list(iter_csv_chunks(path, chunk_rows))
        assert all(len(c) <= chunk_rows for c in chunks)
        assert [len(c) for c in chunks[:-1]] == [chunk_rows] * (len(chunks) - 1)
        for name in whole.columns:
            joined = np.concatenate([c.values[name] for c in chunks])
            assert joined.tolist() == whole.values[name].tolist()
        assert np.concatenate([c.line_numbers for c in chunks]).tolist() == (
            whole.line_numbers.tolist()
        )


def test_chunk_kinds_fixed_by_first_block(tmp_path: Path):
    path = _write(tmp_path, "x\n1\n2\n3\nlarge\n")
    chunks = iter_csv_chunks(path, 2)
    assert next(chunks).values["x"].tolist() == [1.0, 2.0]
    with pytest.raises(DataError, match="line 5, column 'x': 'large' is not a number"):
        next(chunks)


def test_chunk_kind_waits_for_a_value(tmp_path: Path):
    path = _write(tmp_path, "x,note\n1,\n2,\n3,late text\n")
    chunks = list(iter_csv_chunks(path, 2, missing="keep"))
    assert chunks[1].kinds["note"] == "categorical"
    assert chunks[1].values["note"].tolist() == ["late text"]


def test_chunk_argument_checks(tmp_path: Path):
    path = _write(tmp_path, "x\n1\n")
    with pytest.raises(ValueError, match="chunk_rows"):
        iter_csv_chunks(path, 0)
    with pytest.raises(TypeError, match="chunk_rows"):
        iter_csv_chunks(path, 2.5)
    with pytest.raises(ValueError, match="missing"):
        iter_csv_chunks(path, 10, missing="mean")


def test_chunk_reader_keeps_gaps_for_the_encoder(tmp_path: Path):
    path = _write(tmp_path, "x,y\n1,a\n\n2,b\n,c\n")  # line 3 blank, line 5 lacks x
    (chunk,) = list(iter_csv_chunks(path, 10, missing="keep"))
    assert chunk.line_numbers.tolist() == [2, 4, 5]
    assert math.isnan(chunk.values["x"][2])


def test_header_reader_and_delimiter(tmp_path: Path):
    path = _write(tmp_path, "a;b\n1;2\n")
    assert read_csv_header(path, delimiter=";") == ["a", "b"]
    assert read_csv(path, delimiter=";").values["b"].tolist() == [2.0]
    with pytest.raises(ValueError, match="delimiter"):
        read_csv(path, delimiter=";;")


def test_overlong_line_is_refused_without_reading_it_whole(tmp_path: Path, monkeypatch):
    import descent.data.csv_reader as reader

    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 100)
    path = _write(tmp_path, "a\n1\n" + "7" * 300 + "\n")
    with pytest.raises(DataError, match="line 3: longer than 100 bytes"):
        read_csv(path)
