"""Cell meaning, the column-kind rule, category lookup and missing-value fills."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from descent.data.cells import (
    format_number,
    is_missing,
    looks_numeric,
    number_problem,
    parse_number,
    yes_no_value,
)
from descent.data.columns import infer_kind
from descent.data.lookup import CategoryLookup
from descent.data.missing import fill_value


@pytest.mark.parametrize(
    "cell, numeric",
    [("1", True), ("-2.5", True), ("+.5", True), ("3.", True), ("1e-7", True),
     ("1E+10", True), (" 4 ", True), ("inf", True), ("-Infinity", True),
     ("1_000", False), ("1,000", False), ("0x1f", False), ("1e", False), ("e5", False),
     ("nan", False), ("", False), ("12abc", False), ("--1", False)],
)
def test_looks_numeric(cell, numeric):
    assert looks_numeric(cell) is numeric


@pytest.mark.parametrize("cell", ["", " ", "NA", "n/a", "NaN", "nan", "NULL", "?", "#N/A"])
def test_missing_tokens(cell):
    assert is_missing(cell)


@pytest.mark.parametrize("cell", ["0", "none", "no", "-", "N"])
def test_not_missing(cell):
    assert not is_missing(cell)


def test_number_problems():
    assert "overflows" in number_problem("1e999", parse_number("1e999"))
    assert "infinite" in number_problem("-inf", parse_number("-inf"))
    assert "float32" in number_problem("3.5e38", 3.5e38)
    assert number_problem("3.4e38", 3.4e38) is None
    assert number_problem("-1e-300", -1e-300) is None


def test_yes_no_and_format():
    assert [yes_no_value(w) for w in ["YES", "y", "True", "no", "N", "false", "0"]] == [
        1.0, 1.0, 1.0, 0.0, 0.0, 0.0, None]
    assert [format_number(v) for v in [3.0, -2.0, 0.1, 1e20, 2.0**60]] == [
        "3", "-2", "0.1", "1e+20", "1.152921504606847e+18"]


@pytest.mark.parametrize(
    "cells, kind",
    [
        (["1", "2", "3"], "numeric"),
        (["1", "2", "3", "x"], "numeric"),  # 3 of 4 = the three-quarter threshold
        (["1", "2", "x", "y"], "categorical"),
        (["a", "b"], "categorical"),
        (["", "NA"], "numeric"),  # nothing to go on: numeric, so gaps are reported
        (["1", "NA", "NA", "x", "2", "3"], "numeric"),  # gaps do not count
    ],
)
def test_infer_kind(cells, kind):
    assert infer_kind(cells) == kind


def test_category_lookup_text_then_number():
    lookup = CategoryLookup(["01", "1.5", "L"])
    assert lookup.index("01") == 0
    assert lookup.index("1") == 0  # no exact text: the number 1 matches "01"
    assert lookup.index(1.5) == 1 and lookup.index("1.50") == 1
    assert lookup.index("l") is None and lookup.index(2.0) is None
    numeric = CategoryLookup([1, 2.5])
    assert numeric.index("1") == 0 and numeric.index(2.5) == 1 and numeric.index("2") is None


def test_fill_values_against_statistics():
    x = np.array([4.0, np.nan, 1.0, 4.0, 10.0])
    present = [4.0, 1.0, 4.0, 10.0]
    assert fill_value(x, "numeric", "mean") == statistics.mean(present)
    assert fill_value(x, "numeric", "median") == statistics.median(present)
    assert fill_value(x, "numeric", "most_frequent") == statistics.mode(present)
    words = np.array(["b", None, "a", "b", "a"], dtype=object)
    assert fill_value(words, "categorical", "mean") == "a"  # tie: the smallest
    assert fill_value(np.array([np.nan]), "numeric", "mean") is None
    with pytest.raises(ValueError, match="strategy"):
        fill_value(x, "numeric", "max")
