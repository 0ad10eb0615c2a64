"""table_from_columns / table_from_frame: in-memory data gets the CSV reader's checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descent.data import TableEncoder, table_from_columns, table_from_frame
from descent.errors import DataError


def test_columns_become_a_typed_table():
    t = table_from_columns(
        {"n": np.array([1, 2, 3]), "c": ["red", "blue", "red"], "s": ["1", "2.5", "4"]}
    )
    assert t.kinds == {"n": "numeric", "c": "categorical", "s": "numeric"}
    assert t.values["s"].tolist() == [1.0, 2.5, 4.0]
    assert t.line_numbers.tolist() == [0, 1, 2]
    assert t.location(2) == "row 2"


def test_frame_with_gaps_and_types():
    frame = pd.DataFrame(
        {
            "x": [1.0, np.nan, 3.0],
            "k": pd.array([1, None, 3], dtype="Int64"),
            "c": ["a", None, "b"],
            "flag": [True, False, True],
        }
    )
    with pytest.raises(DataError, match="row 1, column 'x': missing value"):
        table_from_frame(frame)
    t = table_from_frame(frame, missing="mean")
    assert t.values["x"].tolist() == [1.0, 2.0, 3.0]
    assert t.values["k"].tolist() == [1.0, 2.0, 3.0]
    assert t.values["c"].tolist() == ["a", "a", "b"]
    enc = TableEncoder().fit(t)
    assert enc.feature_names_ == ["x", "k", "c=a", "c=b", "flag"]
    assert enc.transform(t)[:, -1].tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize(
    "columns, expected",
    [
        ({"x": [1.0, float("inf")]}, "row 1, column 'x': value 'inf' is infinite"),
        ({"x": np.array([1.0, -np.inf])}, "row 1, column 'x': value -inf is infinite"),
        ({"x": np.array([1e39, 1.0])}, "row 0, column 'x'.*float32"),
        ({"x": [1, 2], "y": [1]}, "'x' has 2 rows, 'y' has 1"),
        ({"x": []}, "no rows"),
        ({}, "no columns"),
        ({"": [1]}, "non-empty"),
        ({"x": np.zeros((2, 2))}, "1-D"),
        ({"p": [1, 2, 3, "oops", 5]}, "row 3, column 'p': 'oops' is not a number"),
    ],
)
def test_errors(columns, expected):
    with pytest.raises(DataError, match=expected):
        table_from_columns(columns)


def test_frame_checks():
    with pytest.raises(DataError, match="'a' more than once"):
        table_from_frame(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(TypeError, match="DataFrame"):
        table_from_frame({"a": [1]})
