"""infer_task, encode_labels and TargetEncoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from descent.data import TargetEncoder, encode_labels, infer_task, table_from_columns
from descent.errors import DataError, NotFittedError


@pytest.mark.parametrize(
    "values, task",
    [
        ([1.5, 2.0, 3.25, 4.0], "regression"),
        ([0, 1, 1, 0], "classification"),
        ([0.0, 1.0, 1.0, 0.0], "classification"),  # whole floats count as integers
        (["yes", "no", "yes"], "classification"),
        ([True, False, True, False], "classification"),
        (["1", "2", "1", "2"], "classification"),  # numeric text is read as numbers
        (["1.5", "2.5", "3.5"], "regression"),
        ([100, 250, 310, 420], "regression"),  # distinct > n/2: prices, not labels
        (list(range(11)) * 3, "regression"),  # more than 10 distinct whole numbers
        (list(range(10)) * 3, "classification"),
        ([1, 2, None, 1, 2, float("nan"), "NA"], "classification"),  # gaps ignored
        (np.array([3.0, 1.0, 3.0, 1.0]), "classification"),
    ],
)
def test_infer_task(values, task):
    assert infer_task(values) == task


def test_infer_task_needs_values():
    with pytest.raises(DataError, match="no values"):
        infer_task([None, "NA"])


def test_encode_labels():
    classes, y = encode_labels(np.array([3, 1, 3, 2]))
    assert classes == [1, 2, 3] and y.tolist() == [2, 0, 2, 1]
    assert all(type(c) is int for c in classes)
    classes, y = encode_labels([0.5, 1.5, 0.5])
    assert classes == [0.5, 1.5] and y.tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="row 1"):
        encode_labels(["a", None])
    with pytest.raises(DataError, match="mixes text and numeric"):
        encode_labels(["a", 1])


def test_target_encoder_regression_and_errors():
    table = table_from_columns({"y": [1.5, 2.5, 4.0], "c": ["a", "b", "c"]})
    enc = TargetEncoder("y").fit(table)
    assert enc.task_ == "regression"
    assert enc.transform(table).tolist() == [1.5, 2.5, 4.0]
    assert enc.inverse_transform(np.array([0.5])).tolist() == [0.5]
    with pytest.raises(DataError, match="no target column 'z'"):
        TargetEncoder("z").fit(table)
    with pytest.raises(DataError, match="row 0, target column 'c': 'a' is not a number"):
        TargetEncoder("c", task="regression").fit(table)


def test_unseen_class_names_its_row():
    train = table_from_columns({"y": ["a", "b", "a", "b"]})
    enc = TargetEncoder("y").fit(train)
    with pytest.raises(DataError, match="row 1, target column 'y': class 'c' was not seen"):
        enc.transform(table_from_columns({"y": ["a", "c"]}))


def test_inverse_transform_checks_indices():
    enc = TargetEncoder("y").fit(table_from_columns({"y": ["a", "b", "a", "b"]}))
    assert enc.inverse_transform(np.array([[1, 0]])).tolist() == [["b", "a"]]
    for bad in ([2], [-1], [0.5]):
        with pytest.raises(ValueError, match="class indices"):
            enc.inverse_transform(np.array(bad))


def test_round_trip_and_hostile():
    enc = TargetEncoder("y").fit(table_from_columns({"y": [2, 1, 2, 1]}))
    d = json.loads(json.dumps(enc.to_dict(), allow_nan=False))
    again = TargetEncoder.from_dict(d)
    assert again.classes_ == [1, 2] and again.task_ == "classification"
    for bad, expected in [
        ({**d, "classes": [2, 1]}, "sorted"),
        ({**d, "classes": [1, "a"]}, "mixes"),
        ({**d, "classes": [True, 2]}, r"classes\[0\]"),
        ({**d, "task": "regression"}, "null for regression"),
        ({**d, "column": 3}, "column"),
    ]:
        with pytest.raises(DataError, match=expected):
            TargetEncoder.from_dict(bad)
    with pytest.raises(NotFittedError):
        TargetEncoder("y").transform(None)
