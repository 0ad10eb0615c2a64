"""The schema step: each column's kind, formatted numbers, codes, dates, identifiers, and the
round trip through the model file's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from descent.data import read_csv, read_csv_header
from descent.data.columns import build_table
from descent.data.csv_reader import sniff_delimiter
from descent.data.hints import command_line
from descent.data.schema import NumberFormat, Schema, infer_column, infer_schema
from descent.errors import DataError

FIXTURES = Path(__file__).parent.parent / "fixtures"


def text_table(columns: dict[str, list[str]]):
    names = list(columns)
    rows = [list(r) for r in zip(*columns.values(), strict=True)]
    return build_table(names, rows, np.arange(len(rows)), path="t.csv",
                       kinds=dict.fromkeys(names, "categorical"), missing="keep")


@pytest.mark.parametrize("cells, value", [
    (["26,000", "1,250,000", "7"], [26000.0, 1250000.0, 7.0]),
    (["$1,200.50", "$3.00", "-$4"], [1200.5, 3.0, -4.0]),
    (["12.5%", "100%", "0%"], [0.125, 1.0, 0.0]),
    (["1.234,5", "2,25", "3"], [1234.5, 2.25, 3.0]),
    (["1 234,5", "2,25", "3"], [1234.5, 2.25, 3.0]),
    (["12 EUR", "3 EUR", "4,5 EUR"], [12.0, 3.0, 4.5]),
])
def test_formatted_numbers_are_numbers(cells, value):
    t = text_table({"x": cells})
    s = infer_schema(t)
    assert s["x"].kind == "number"
    assert s.apply(t).values["x"].tolist() == value


def test_mixed_signs_in_one_column_are_not_a_consistent_format():
    c = infer_column("x", ["$5", "7%", "€3", "4 EUR"])
    assert c.kind != "number"


@pytest.mark.parametrize("cells, kind", [
    (["02139", "10001", "60601"], "category"),      # zip codes keep their zeros
    (["0.5", "0", "10"], "number"),                  # zero before a point is a number
    (["yes", "No", "TRUE", "false"], "yes/no"),
    (["2024-03-01", "2023-12-24", ""], "date"),
    (["01.03.2024", "24.12.2023"], "date"),
    (["3/1/2024", "12/24/2023"], "date"),
    (["1 Mar 2024", "24 Dec 2023"], "date"),
])
def test_kinds(cells, kind):
    assert infer_column("c", [c or None for c in cells]).kind == kind


def test_identifiers_and_free_text_are_left_out_with_a_note():
    n = 30
    t = text_table({
        "customer_id": [f"C{i:04d}" for i in range(n)],
        "row": [str(i + 1) for i in range(n)],
        "comment": [f"said thing number {i} today" for i in range(n)],
        "size": [str(i % 7) for i in range(n)],
        "colour": ["red", "blue", "green"] * 10,
    })
    s = infer_schema(t)
    kinds = {c.name: c.kind for c in s.columns}
    assert kinds == {"customer_id": "identifier", "row": "identifier", "comment": "text",
                     "size": "number", "colour": "category"}
    assert "left out" in s["customer_id"].note and "left out" in s["comment"].note
    assert s.feature_columns == ["size", "colour"]
    assert s.apply(t).columns == ["size", "colour"]


def test_a_target_is_never_left_out():
    t = text_table({"x": [str(i) for i in range(30)], "y": [f"id{i}" for i in range(30)]})
    assert infer_schema(t, target="y")["y"].kind == "category"


def test_dates_become_year_month_weekday_days():
    t = text_table({"when": ["1970-01-02", "2024-03-01", ""]})
    typed = infer_schema(t).apply(t)
    assert typed.columns == ["when year", "when month", "when weekday", "when days"]
    assert [typed.values[c][1] for c in typed.columns] == [2024.0, 3.0, 4.0, 19783.0]
    assert typed.values["when days"][0] == 1.0 and np.isnan(typed.values["when year"][2])


def test_categories_match_after_trimming_and_case_folding():
    t = text_table({"city": ["Boston", " boston", "BOSTON ", "New  York", "new york"]})
    s = infer_schema(t)
    assert s["city"].categories == ("Boston", "New York")
    assert s.apply(t).values["city"].tolist() == ["Boston"] * 3 + ["New York"] * 2


def test_overrides_win_and_unknown_names_are_listed_at_once():
    t = text_table({"zip": ["02139", "10001"], "n": ["1", "2"], "d": ["x", "y"]})
    s = infer_schema(t, kinds={"zip": "number", "n": "category", "d": "identifier"})
    assert [c.kind for c in s.columns] == ["number", "category", "identifier"]
    assert all(c.forced for c in s.columns)
    with pytest.raises(DataError, match=r"no column\(s\) 'zap', 'nn'"):
        infer_schema(t, kinds={"zap": "number", "nn": "category"})
    with pytest.raises(DataError, match="named as a date"):
        infer_schema(t, kinds={"d": "date"})


def test_every_failing_column_is_reported_at_once():
    t = text_table({"a": ["1", "2", "3", "oops"], "b": ["4", "x", "5", "6"]})
    s = infer_schema(t)
    with pytest.raises(DataError) as error:
        s.apply(t)
    message = str(error.value)
    assert "line 3, column 'a': 'oops' is not a number" in message
    assert "line 1, column 'b': 'x' is not a number" in message
    assert "kinds={'a': 'categorical'}" in message
    with command_line(), pytest.raises(DataError, match="--categorical a"):
        s.apply(t)


def test_schema_round_trips_through_json_and_rejects_bad_entries():
    path = FIXTURES / "customers.csv"
    header = read_csv_header(path)
    table = read_csv(path, kinds=dict.fromkeys(header, "categorical"), missing="keep")
    s = infer_schema(table, target="spend")
    back = Schema.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s
    assert np.array_equal(back.apply(table).values["income"], s.apply(table).values["income"],
                          equal_nan=True)
    bad = s.to_dict()
    bad["columns"][0]["kind"] = "mystery"
    with pytest.raises(DataError, match=r"columns\[0\]\.kind"):
        Schema.from_dict(bad)


def test_the_customer_fixture_is_read_as_a_person_would():
    path = FIXTURES / "customers.csv"
    header = read_csv_header(path)
    table = read_csv(path, kinds=dict.fromkeys(header, "categorical"), missing="keep")
    s = infer_schema(table, target="spend")
    assert {c.name: c.kind for c in s.columns} == {
        "customer_id": "identifier", "zip": "category", "city": "category",
        "income": "number", "discount": "number", "joined": "date", "member": "yes/no",
        "notes": "text", "spend": "number"}
    assert s["income"].missing > 0 and s["city"].missing > 0
    typed = s.apply(table)
    assert typed.values["spend"][0] == 3136.35 and typed.values["discount"][0] == 0.095


def test_semicolon_files_are_sniffed():
    path = FIXTURES / "churn_semicolon.csv"
    assert sniff_delimiter(path) == ";"
    header = read_csv_header(path, delimiter=";")
    table = read_csv(path, delimiter=";", kinds=dict.fromkeys(header, "categorical"),
                     missing="keep")
    s = infer_schema(table, target="churned")
    assert s["monthly_fee"].number_format == NumberFormat("", ",")
    assert s["signed_up"].kind == "date" and s["account"].kind == "identifier"
    assert s["plan"].categories == ("Basic", "Pro")
