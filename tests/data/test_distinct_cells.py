"""The fast paths of reading and encoding a table (each distinct cell asked once, a plain
number column parsed once, one C loop for the gaps) give what the cell-by-cell code gave:
the same kinds, the same typed columns and encoded matrices bit for bit, the same
messages. The reference is that code, kept in `cell_by_cell`; the tables are random, with
missing cells in every spelling, odd categories, case and space variants, numbers with
separators and signs, codes with leading zeros, dates, yes/no words and row counters."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from descent.data import TableEncoder
from descent.data.columns import text_cells
from descent.data.encoding import ColumnEncoding, _encode_values
from descent.data.missing import fill_value
from descent.data.schema import (
    CATEGORY,
    DATE,
    NUMBER,
    SCHEMA_KINDS,
    NumberFormat,
    apply_column,
    infer_column,
    infer_column_numbers,
)
from descent.data.table import CATEGORICAL, NUMERIC, Table
from descent.data.target import TargetEncoder, infer_task
from descent.data.typed_csv import read_typed_csv
from descent.errors import DataError
from tests.data import cell_by_cell as ref

FIXTURES = Path(__file__).parents[1] / "fixtures"

MISSING = ["", "NA", "na", "N/A", "nan", "NaN", "-nan", "?", "null", "NULL", "#N/A", "<NA>"]
POOLS = {
    "words": ["red", "Red", "RED", "blue", "New  York", "new york", "NEW YORK", "none",
              "None", "a b c d", "ü-bahn", "x"],
    "yes/no": ["yes", "Yes", "NO", "no", "n", "Y", "TRUE", "false", "maybe"],
    "numbers": ["0", "1", "2.5", "-3", "1e3", "+7", ".5", "10", "10.0", "1_000", "inf",
                "1e999", "3.5e38", "-0", "12"],
    "codes": ["02139", "10001", "007", "-01", "00", "123"],
    "decorated": ["1,234", "26,000", "$1,200.50", "$950", "12.5%", "-3%", "1.234,5",
                  "1 234,5", "€3", "4 USD", "1'000.5", "$-2", "1,23", "1,2345"],
    "dates": ["2024-03-01", "2023-12-24", "2024-02-30", "01/03/2024", "3/1/2024",
              "1 Mar 2024", "20240301", "2024-13-01", "01.03.2024", "Mar 1, 2024",
              "2024-03-01 12:30:00", "2024-03-02 06:00:00", "2024-03-02 6:00"],
}


@st.composite
def columns(draw, min_size: int = 0, max_size: int = 40) -> list[str]:
    """One column of stripped cell texts, as a CSV reader gives them."""
    if draw(st.integers(0, 5)) == 0:  # a row counter (an id), perhaps with a gap
        start = draw(st.integers(0, 3))
        n = draw(st.integers(max(min_size, 1), max_size))
        cells = [str(start + i) for i in range(n)]
        if draw(st.booleans()):
            cells[draw(st.integers(0, n - 1))] = draw(st.sampled_from(MISSING))
        return cells
    themes = draw(st.lists(st.sampled_from(sorted(POOLS)), min_size=1, max_size=2))
    pool = [c for t in themes for c in POOLS[t]]
    weights = draw(st.sampled_from([0, 1, 4]))  # how often a cell is missing
    cell = st.one_of(st.sampled_from(pool), st.sampled_from(MISSING)) if weights else \
        st.sampled_from(pool)
    if weights == 4:
        cell = st.one_of(cell, st.sampled_from(pool), st.sampled_from(pool))
    return draw(st.lists(cell, min_size=min_size, max_size=max_size))


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind == "f":
        assert a.tobytes() == b.tobytes()  # every bit: NaNs, -0.0 and all
    else:
        assert a.tolist() == b.tolist()


def _outcome(f, *args, **kwargs):
    """("ok", result) or ("error", message): a fast path must fail where the reference
    failed, with its message."""
    try:
        return "ok", f(*args, **kwargs)
    except DataError as e:
        return "error", str(e)


def _same_outcome(a: tuple[str, object], b: tuple[str, object]) -> None:
    """Both failed with one message, or both gave the same array bit for bit."""
    assert a[0] == b[0], (a, b)
    if a[0] == "error":
        assert a == b
    else:
        _same(a[1], b[1])


FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(st.one_of(st.sampled_from(MISSING), st.sampled_from(POOLS["words"]),
                          st.sampled_from([" NA", "na ", "  ", " ? ", "nA", " none ", "NAN",
                                           "   n/a   ", "\tNULL  ", " red ",
                                           "   n/a", "#N/A   "])),
                max_size=30))
def test_text_cells_blank_the_same_missing_tokens(cells):
    _same(text_cells(cells), ref.text_cells(cells))


@FAST
@given(columns(), st.booleans(), st.sampled_from([None, *SCHEMA_KINDS]))
@example(["$950"] * 8 + ["12.5%", "-3%"], False, None)  # the most cells, not the most texts
@example(["2024-03-01 12:30:00", "2024-03-02 06:00:00", "NA"], False, None)
def test_a_column_gets_the_same_kind_and_typed_values(cells, is_target, force):
    name = "zip_code" if len(cells) % 3 == 0 else "value"  # names that look like ids, or not
    column = ref.text_cells(cells)
    kind = _outcome(infer_column, name, column, is_target=is_target, force=force)
    assert kind == _outcome(ref.infer_column, name, column, is_target=is_target, force=force)
    if kind[0] == "error":
        return
    c = kind[1]
    table = Table([name], {name: text_cells(cells)}, {name: CATEGORICAL},
                  np.arange(2, len(cells) + 2), "t.csv")
    typed, problem = apply_column(c, table)
    if c.kind == NUMBER:
        x, bad = ref.numbers(column, c.number_format or NumberFormat())
        _same(typed[name][0], x)
        assert (problem is None) == (not bad) and (not bad or f"line {bad[0] + 2}," in problem)
        parsed = infer_column_numbers(name, column, is_target=is_target, force=force)[1]
        if parsed is not None:  # read_typed_csv takes it in place of apply_column's
            _same(parsed, x)
    elif c.kind == DATE:
        parts, bad = ref.date_parts(column, c.date_format)
        for (x, kind_), y in zip(typed.values(), parts, strict=True):
            assert kind_ == NUMERIC
            _same(x, y)
        assert (problem is None) == (not bad) and (not bad or f"line {bad[0] + 2}," in problem)
    elif c.used:
        _same(typed[name][0], ref.canonical(column, c.categories))


@FAST
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False, width=32),
                          st.sampled_from([0.0, 1.0, 10.0, -0.0, 2.5])), max_size=30),
       st.lists(st.sampled_from(["1", "10", "2.5", "S", "s", " M ", "0", "nan"]), max_size=5))
def test_categories_of_numeric_or_mixed_cells_are_spelled_the_same(cells, categories):
    """A column that arrives as numbers (a DataFrame's, or NaN gaps in objects)."""
    as_objects = np.array(cells, dtype=object)
    as_floats = np.array([np.nan if c is None else c for c in cells], dtype=np.float64)
    for column in (as_objects, as_floats):
        from descent.data.schema import _canonical
        _same(_canonical(column, categories), ref.canonical(column, categories))


def _text_table(cells: list[str], name: str = "c") -> Table:
    return Table([name], {name: text_cells(cells)}, {name: CATEGORICAL},
                 np.arange(2, len(cells) + 2), "new.csv")


def _number_table(x: list[float | None], name: str = "c") -> Table:
    values = np.array([np.nan if v is None else v for v in x], dtype=np.float64)
    return Table([name], {name: values}, {name: NUMERIC}, np.arange(len(x)), None)


@FAST
@given(columns(min_size=2), columns(), st.sampled_from(["error", "median", "most_frequent"]),
       st.sampled_from(["error", "ignore"]))
def test_text_columns_encode_the_same(train, new, missing, unknown):
    """Fitted on one column, encoding another (unseen categories, words that are not
    yes/no, gaps), as `TableEncoder` does: the same block bit for bit, or the same
    message; the same unseen counts, categories and fill."""
    fit_table = _text_table(train)
    values = fit_table.values["c"]
    assert ref.present_set(values) == (set(values.tolist()) - {None})
    assert fill_value(values, CATEGORICAL, "most_frequent") == ref.text_fill(values)
    table = Table(["c", "y"], {"c": values, "y": np.arange(len(train), dtype=float)},
                  {"c": CATEGORICAL, "y": NUMERIC}, fit_table.line_numbers, "train.csv")
    fitted = _outcome(TableEncoder(target="y", missing=missing, unknown=unknown,
                                   indicators=True, max_categories=1000).fit, table)
    if fitted[0] == "error":
        return
    column = fitted[1].columns_[0]
    new_table = _text_table(new)
    _same_outcome(_outcome(_encode_values, new_table, column, unknown),
                  _outcome(ref.encode_values, new_table, column, unknown))
    if column.encoding == "onehot":
        counts = fitted[1].unseen_counts(new_table)
        assert counts.get("c", 0) == ref.unseen_count(new_table, column)


@FAST
@given(st.lists(st.one_of(st.none(), st.sampled_from([0.0, 1.0, -0.0, 10.0, 2.5, 12.0])),
                max_size=30),
       st.sampled_from([
           ColumnEncoding("c", "binary", (), 1.0),
           ColumnEncoding("c", "binary", (), None),
           ColumnEncoding("c", "onehot", ("10", "12", "S"), "S"),
           ColumnEncoding("c", "onehot", ("10", "2.5"), None),
           ColumnEncoding("c", "numeric", (), 0.5),
       ]),
       st.sampled_from(["error", "ignore"]))
def test_numeric_cells_encode_the_same(x, column, unknown):
    """A column read as numbers at predict time that held yes/no or categories in
    training: looked up by value, 1/0 checked, gaps filled."""
    table = _number_table(x)
    _same_outcome(_outcome(_encode_values, table, column, unknown),
                  _outcome(ref.encode_values, table, column, unknown))


@FAST
@given(st.lists(st.one_of(st.none(), st.sampled_from(["1", "2", "10", "2.5", "cat", "Dog",
                                                      "NA", " 3 ", "1.0", "-0"]),
                          st.sampled_from([1.0, 2.0, 0.5, np.nan, -0.0]),
                          st.sampled_from([0, 1, True, False])), max_size=30))
def test_the_task_is_inferred_the_same(cells):
    assert _outcome(infer_task, cells) == _outcome(ref.infer_task, cells)
    floats = [c for c in cells if isinstance(c, float)]
    assert _outcome(infer_task, np.array(floats)) == _outcome(ref.infer_task, np.array(floats))


@FAST
@given(st.lists(st.sampled_from(["a", "b", "B", " a", "10", "10.0", "c"]), min_size=2,
                max_size=30),
       st.lists(st.sampled_from(["a", "b", "10", "x", "10.0"]), max_size=20))
def test_class_indices_are_the_same(train, new):
    fit_table = Table(["y"], {"y": np.array(train, dtype=object)}, {"y": CATEGORICAL},
                      np.arange(len(train)), None)
    enc = _outcome(TargetEncoder("y", "classification").fit, fit_table)
    if enc[0] == "error":
        return
    for cells, kind, values in ((new, CATEGORICAL, np.array(new, dtype=object)),
                                ([10.0] * len(new), NUMERIC, np.full(len(new), 10.0))):
        table = Table(["y"], {"y": values}, {"y": kind}, np.arange(2, len(cells) + 2), "p.csv")
        _same_outcome(_outcome(enc[1].transform, table),
                      _outcome(ref.class_indices, table, "y", enc[1].classes_))


@FAST
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "", "NA", "b"])), max_size=30))
def test_the_gaps_of_a_text_column_are_the_same(cells):
    table = Table(["c"], {"c": np.array(cells, dtype=object)}, {"c": CATEGORICAL},
                  np.arange(len(cells)), None)
    _same(table.missing_mask("c"), ref.missing_mask(table, "c"))


def test_a_cell_that_does_not_compare_to_none_is_not_a_gap():
    """Hand-made tables: pandas' NA, and cells whose `== None` raises or is an array."""
    class Odd:
        def __eq__(self, other: object) -> bool:
            raise TypeError("compares to nothing")

        __hash__ = object.__hash__

    for odd in (pd.NA, Odd(), np.array([1, 2])):
        cells = np.empty(5, dtype=object)
        cells[:] = ["a", None, None, 2.5, float("nan")]
        cells[2] = odd
        table = Table(["c"], {"c": cells}, {"c": CATEGORICAL}, np.arange(5), None)
        assert table.missing_mask("c").tolist() == [False, True, False, False, False]


def _reference_matrix(path: Path, target: str | None, delimiter: str = ","
                      ) -> tuple[list, np.ndarray]:
    """Schema and encoded features of a CSV file, every step cell by cell."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [[x.strip() for x in r]
                for r in csv.reader(f, delimiter=delimiter, skipinitialspace=True) if r]
    header, body = rows[0], rows[1:]
    schema, values, kinds = [], {}, {}
    for j, name in enumerate(header):
        cells = ref.text_cells([r[j] for r in body])
        c = ref.infer_column(name, cells, is_target=name == target)
        schema.append(c)
        if not c.used and name != target:
            continue
        if c.kind == NUMBER:
            values[name], kinds[name] = ref.numbers(cells, c.number_format)[0], NUMERIC
        elif c.kind == DATE:
            parts = ref.date_parts(cells, c.date_format)[0]
            for part, x in zip(c.output_columns, parts, strict=True):
                values[part], kinds[part] = x, NUMERIC
        else:
            values[name], kinds[name] = ref.canonical(cells, c.categories), CATEGORICAL
    table = Table(list(values), values, kinds, np.arange(2, len(body) + 2), str(path))
    return schema, _encoded(table, target, ref.encode_values, ref.missing_mask)


def _encoded(table: Table, target: str | None, encode, gaps) -> np.ndarray:
    """The features `train` makes of a typed table (median fill, indicators), with the
    given cell encoder and gap finder."""
    enc = TableEncoder(target=target, missing="median", unknown="ignore", indicators=True,
                       max_categories=1000).fit(table)
    blocks = []
    for column in enc.columns_:
        blocks.append(encode(table, column, "ignore"))
        if column.indicator:
            blocks.append(gaps(table, column.name)[:, None].astype(float))
    return np.concatenate(blocks, axis=1)


@pytest.mark.parametrize("name, target, delimiter", [("customers.csv", "spend", ","),
                                                     ("customers_new.csv", None, ","),
                                                     ("churn_semicolon.csv", "churned", ";")])
def test_fixture_files_read_and_encode_to_the_same_matrix(name, target, delimiter):
    path = FIXTURES / name
    read = read_typed_csv(path, target, delimiter=delimiter)
    schema, X = _reference_matrix(path, target, delimiter)
    assert read.schema.columns == schema
    enc = TableEncoder(target=target, missing="median", unknown="ignore", indicators=True,
                       max_categories=1000).fit(read.table)
    _same(enc.transform(read.table), X)
    assert {c.kind for c in schema} >= {CATEGORY, NUMBER}  # one-hot and numbers both met


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 40).flatmap(lambda n: st.lists(columns(min_size=n, max_size=n),
                                                     min_size=2, max_size=5)))
def test_random_files_read_and_encode_to_the_same_matrix(tmp_path_factory, cols):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    names = [f"c{j}" for j in range(len(cols) - 1)] + ["y"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        w.writerows(zip(*cols, strict=True))
    read = _outcome(read_typed_csv, path, "y")
    if read[0] == "error":  # e.g. a forced kind: nothing forced here, so never
        pytest.fail(read[1])
    schema = [ref.infer_column(n, ref.text_cells(list(c)), is_target=n == "y")
              for n, c in zip(names, cols, strict=True)]
    assert read[1].schema.columns == schema
    if read[1].problems or not read[1].schema.feature_columns:
        return
    table = read[1].table
    fast = _outcome(_encoded, table, "y", _encode_values, lambda t, n: t.missing_mask(n))
    slow = _outcome(lambda: _reference_matrix(path, "y")[1])
    _same_outcome(fast, slow)
    enc = TableEncoder(target="y", missing="median", unknown="ignore", indicators=True,
                       max_categories=1000)
    _same_outcome(_outcome(lambda: enc.fit(table).transform(table)), slow)
    if slow[0] == "ok":  # float32: each value cast as the float64 matrix's astype casts it
        _same(enc.transform(table, dtype=np.float32), slow[1].astype(np.float32))
