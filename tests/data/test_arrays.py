"""as_float_matrix / as_target / as_xy: what the Python API accepts and how it refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descent.data import as_float_matrix, as_target, as_xy
from descent.errors import DataError


def test_dtypes_kept_or_defaulted():
    assert as_float_matrix([[1, 2], [3, 4]]).dtype == np.float32
    assert as_float_matrix([[1.5, 2.0]]).dtype == np.float32  # lists default to float32
    assert as_float_matrix(np.ones((2, 2), np.float64)).dtype == np.float64
    assert as_float_matrix(np.ones((2, 2), np.float32)).dtype == np.float32
    assert as_float_matrix(np.ones((2, 2), np.int64)).dtype == np.float32
    assert as_float_matrix(np.ones((2, 2), np.float16)).dtype == np.float32
    assert as_float_matrix(np.array([[True, False]])).tolist() == [[1.0, 0.0]]
    assert as_float_matrix(np.ones((2, 2), np.float32), dtype=np.float64).dtype == np.float64
    assert as_float_matrix(np.array([[1, 2.5]], dtype=object)).tolist() == [[1.0, 2.5]]
    with pytest.raises(ValueError, match="dtype"):
        as_float_matrix([[1]], dtype=np.int32)


@pytest.mark.parametrize(
    "X, expected",
    [
        (np.array([1.0, 2.0, 3.0]), r"reshape\(-1, 1\)"),
        (5.0, "single value"),
        (np.zeros((2, 3, 4)), r"reshape\(len\(X\), -1\)"),
        (np.zeros((0, 3)), "no rows"),
        (np.zeros((3, 0)), "no features"),
        ([[1, 2], [3]], "row 0 has 2 values, row 1 has 1"),
        (np.array([[1 + 2j, 0]]), "complex"),
        (np.array([["1", "x"]]), r"text \('1' at row 0, column 0\)"),
        (np.array([[1.0, None]], dtype=object), "None.*row 0, column 1"),
        (np.array([[1.0, {}]], dtype=object), "dict at row 0, column 1"),
        (np.array([[1.0, 2.0], [3.0, np.nan]]), "NaN at row 1, column 1"),
        (np.array([[1.0, -np.inf]]), "infinite value at row 0, column 1"),
        ([[1.0], [1e300]], r"1e\+300, too large for float32 at row 1, column 0"),
        (np.array(["2020-01-01"], dtype="datetime64[D]").reshape(1, 1), "not numbers"),
    ],
)
def test_refusals_name_the_problem(X, expected):
    with pytest.raises(DataError, match=expected):
        as_float_matrix(X)


def test_float64_large_values_fine_in_float64():
    assert as_float_matrix(np.array([[1e300]]), dtype=np.float64)[0, 0] == 1e300


def test_n_features():
    with pytest.raises(DataError, match="X has 3 features, but the model was trained with 11"):
        as_float_matrix(np.zeros((2, 3)), n_features=11)


def test_pandas_inputs():
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": [True, False]})
    X = as_float_matrix(frame)
    assert X.dtype == np.float64 and X.tolist() == [[1, 0.5, 1], [2, 1.5, 0]]
    assert as_float_matrix(frame.astype(np.float32)).dtype == np.float32
    assert as_float_matrix(frame[["a", "c"]]).dtype == np.float32
    with pytest.raises(DataError, match="column 'color' has dtype .*, not numbers"):
        as_float_matrix(pd.DataFrame({"x": [1.0], "color": ["red"]}))
    with pytest.raises(DataError, match="NaN at row 1, column 0"):
        as_float_matrix(pd.DataFrame({"x": pd.array([1, None], dtype="Int64")}))
    with pytest.raises(DataError, match=r"Series.*to_frame\(\)"):
        as_float_matrix(pd.Series([1.0, 2.0]))
    y = as_target(pd.Series([1.0, 2.0], dtype=np.float64))
    assert y.dtype == np.float64 and y.tolist() == [1.0, 2.0]
    assert as_target(pd.DataFrame({"y": [1, 2]})).tolist() == [1.0, 2.0]
    labels = as_target(pd.Series(["a", "b"], dtype="category"), task="classification")
    assert labels.tolist() == ["a", "b"]
    with pytest.raises(DataError, match="one column"):
        as_target(pd.DataFrame({"y": [1], "z": [2]}))


def test_targets():
    assert as_target([1, 2, 3]).dtype == np.float32
    assert as_target(np.array([[1.0], [2.0]])).tolist() == [1.0, 2.0]
    assert as_target(["x", "y"], task="classification").tolist() == ["x", "y"]
    for y, expected in [
        (np.zeros((3, 2)), r"1-D \(n_samples,\)"),
        ([], "empty"),
        ([1.0, np.nan], "NaN at row 1"),
        (["a", "b"], "text"),
    ]:
        with pytest.raises(DataError, match=expected):
            as_target(y)
    with pytest.raises(DataError, match="row 1"):
        as_target(np.array(["a", None], dtype=object), task="classification")
    with pytest.raises(DataError, match="row 0"):
        as_target([np.nan, 1.0], task="classification")
    with pytest.raises(ValueError, match="task"):
        as_target([1.0], task="ranking")


def test_xy_lengths_must_match():
    X, y = as_xy(np.zeros((3, 2)), [1, 2, 3])
    assert X.dtype == y.dtype == np.float64
    with pytest.raises(DataError, match="X has 3 rows but y has 2"):
        as_xy(np.zeros((3, 2)), [1, 2])
