"""The fast block reader against the careful one: the same typed table, value for value,
or the same one-line error, on messy files (hypothesis) and on fixtures; and the fast
path is really taken on ordinary blocks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import descent.data.typed_block as typed_block
from descent.data.csv_blocks import index_csv_blocks, read_csv_block
from descent.data.csv_reader import read_csv_header
from descent.data.schema import infer_schema
from descent.data.table import CATEGORICAL, Table
from descent.data.typed_block import careful_typed_block, read_typed_block
from descent.errors import DataError

# Cells of every sort the schema reads: plain numbers, numbers with separators, codes
# with leading zeros, dates, categories in several spellings, yes/no, missing-value tokens,
# and the odd ones (infinities, underscores, NaN spellings, unicode spaces, words).
NUMBERS = ["1", "-2.5", "3e2", ".5", "7.", "+4", "0", "12345.678", "1e-3", "99"]
DECORATED = ["1.234,5", "26.000", "3,5", "$12", "12%", "1 000", "7"]
CODES = ["02139", "10001", "00501", "-07", "12"]
DATES = ["2024-03-01", "2023-12-24", " 2024-3-5", "1999-01-31", "2024-02-30", "01/03/2024"]
WORDS = ["Flat", "flat", " FLAT ", "New  York", "new york", "villa", "yes", "No", "y",
         "TRUE", "none"]
MISSING = ["", "NA", "n/a", "nan", "NaN", "-nan", "?", "NULL", "<NA>", "#N/A", "  "]
ODD = ["inf", "-Infinity", "1e999", "1_000", "\xa01.5\xa0", "3.4e39", "x", "1.2.3", "٣",
       "é", "\t2\t"]
SORTS = {"number": NUMBERS, "decorated": DECORATED, "code": CODES, "date": DATES,
         "word": WORDS}


@st.composite
def messy_csv(draw: st.DrawFn) -> tuple[str, str]:
    """(the text of a CSV file, its delimiter): columns of one sort each, with gaps and
    odd cells sprinkled in, quoted cells (holding the delimiter, a newline, a doubled
    quote), blank lines, CRLF endings, now and then a stray quote or a short row."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    sorts = draw(st.lists(st.sampled_from(sorted(SORTS)), min_size=2, max_size=5))
    n = draw(st.integers(1, 40))
    odd_share = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    quoting = draw(st.sampled_from([False, False, True]))
    sloppy = draw(st.sampled_from([False, False, False, True]))
    rows = []
    for _ in range(n):
        row = []
        for s in sorts:
            r = draw(st.floats(0, 1))
            pool = MISSING if r < 0.1 else ODD if r < 0.1 + odd_share else SORTS[s]
            cell = draw(st.sampled_from(pool))
            cell = (cell.replace(delimiter, "") if delimiter != "\t" else
                    cell.replace("\t", " "))
            if quoting and draw(st.booleans()):  # a quoted cell, with what quotes allow
                inside = draw(st.sampled_from(["", delimiter, "\n", '""', "\r\n", " "]))
                # a space after the closing quote is malformed (strict): in a few files
                cell = draw(st.sampled_from(["", " "])) + f'"{cell}{inside}"' + \
                    (draw(st.sampled_from(["", " "])) if sloppy else "")
            row.append(cell)
        rows.append(delimiter.join(row))
    extras = draw(st.sets(st.sampled_from(["blank", "spaces", "crlf", "quote", "short",
                                           "no final newline", "bare cr"]), max_size=2))
    if "blank" in extras:
        rows.insert(draw(st.integers(0, len(rows))), "")
    if "spaces" in extras:
        rows.insert(draw(st.integers(0, len(rows))), "   ")
    if "quote" in extras:
        i = draw(st.integers(0, len(rows) - 1))
        rows[i] = '"' + rows[i].replace('"', "") + '"' if delimiter not in rows[i] else \
            rows[i].replace(delimiter, f'{delimiter}"a{delimiter}b"{delimiter}', 1)
    if "short" in extras:
        i = draw(st.integers(0, len(rows) - 1))
        rows[i] = rows[i].split(delimiter)[0]
    if "bare cr" in extras:
        i = draw(st.integers(0, len(rows) - 1))
        rows[i] = rows[i] + "\rx"
    header = delimiter.join(f"c{j}" for j in range(len(sorts)))
    end = "\r\n" if "crlf" in extras else "\n"
    text = end.join([header, *rows]) + ("" if "no final newline" in extras else end)
    return text, delimiter


def _same(fast: Table, slow: Table) -> None:
    assert fast.columns == slow.columns
    assert fast.kinds == slow.kinds
    assert fast.path == slow.path
    np.testing.assert_array_equal(fast.line_numbers, slow.line_numbers)
    for name in fast.columns:
        a, b = fast.values[name], slow.values[name]
        assert a.dtype == b.dtype, name
        if a.dtype == object:
            assert a.tolist() == b.tolist(), name
        else:  # bit for bit, NaN where the other has NaN
            assert np.array_equal(a, b, equal_nan=True), name
            assert (np.signbit(a) == np.signbit(b)).all(), name


def _outcome(read, block, schema, delimiter):  # noqa: ANN001, ANN202
    try:
        return read(block, schema, delimiter=delimiter), None
    except DataError as e:
        return None, str(e)


def _schema_of_first_block(path, delimiter):  # noqa: ANN001, ANN202
    """As `first_block_spec`: the schema inferred from the first block read as text."""
    blocks = index_csv_blocks(path, block_bytes=1 << 20, delimiter=delimiter).blocks
    header = read_csv_header(path, delimiter=delimiter)
    text = read_csv_block(blocks[0], delimiter=delimiter,
                          kinds=dict.fromkeys(header, CATEGORICAL), missing="keep")
    return infer_schema(text, header[-1])


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
@given(case=messy_csv(), block_bytes=st.sampled_from([1, 40, 1 << 20]))
def test_fast_reader_matches_the_careful_reader(tmp_path, case, block_bytes):
    text, delimiter = case
    path = tmp_path / "messy.csv"
    path.write_bytes(text.encode())
    try:
        schema = _schema_of_first_block(path, delimiter)
        blocks = index_csv_blocks(path, block_bytes=block_bytes, delimiter=delimiter).blocks
    except DataError:
        return  # no schema to read by (a broken first block): nothing to compare
    for block in blocks:
        fast, fast_error = _outcome(read_typed_block, block, schema, delimiter)
        slow, slow_error = _outcome(careful_typed_block, block, schema, delimiter)
        assert fast_error == slow_error
        event("an error" if slow_error else "read")
        fast_path = typed_block._fast(block, schema, delimiter) is not None
        event(("fast path taken" if fast_path else "careful path")
              + (", quotes in the file" if '"' in text else ""))
        if slow is not None:
            _same(fast, slow)


MESSY = (
    "id;price;zip;sold;kind;garden;note\n"
    "1;1.234,5;02139;2024-03-01;Flat;yes;\n"
    "2; 26.000 ;10001;2024-03-04; flat ;No;NA\n"
    "\n"
    "3;NA;00501;;New  York;y;n/a\n"
    "4;7;02139;2023-12-24;new york;TRUE;?\n"
    "   \n"
    "5;-3,25;10001;2024-03-01;villa;n;x\n"
)


@pytest.mark.parametrize("crlf", [False, True])
def test_a_messy_fixture_takes_the_fast_path_and_matches(tmp_path, crlf):
    path = tmp_path / "messy.csv"
    path.write_bytes(MESSY.replace("\n", "\r\n" if crlf else "\n").encode())
    schema = _schema_of_first_block(path, ";")
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds["price"] == "number" and schema["price"].number_format.thousands == "."
    assert (kinds["zip"], kinds["sold"], kinds["garden"]) == ("category", "date", "yes/no")
    for block_bytes in (1, 30, 1 << 20):
        for block in index_csv_blocks(path, block_bytes=block_bytes, delimiter=";").blocks:
            fast = typed_block._fast(block, schema, ";")
            slow = careful_typed_block(block, schema, delimiter=";")
            if len(slow):
                assert fast is not None  # ordinary blocks never go the careful way
                _same(fast, slow)
    table = read_typed_block(index_csv_blocks(path, delimiter=";").blocks[0], schema,
                             delimiter=";")
    assert table.values["price"].tolist()[:3] == [1234.5, 26000.0, pytest.approx(np.nan,
                                                                                nan_ok=True)]
    assert table.values["zip"].tolist() == ["02139", "10001", "00501", "02139", "10001"]
    assert table.line_numbers.tolist() == [2, 3, 5, 6, 8]


def test_a_bad_cell_gets_the_careful_readers_message(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y\n1,2\n2,3\n" + "".join(f"{i},{i}\n" for i in range(30)) +
                    "oops,4\n")
    schema = _schema_of_first_block(path, ",")
    block = index_csv_blocks(path).blocks[0]
    with pytest.raises(DataError, match=r"bad\.csv, line 34, column 'x': 'oops' is not a "
                                        r"number; .*'x': 'categorical'"):
        read_typed_block(block, schema)
