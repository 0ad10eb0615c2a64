"""TableEncoder: encodings checked against matrices written out by hand, errors, round trips."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from descent.data import TableEncoder, read_csv
from descent.errors import DataError, NotFittedError

TRAIN = (
    "size,color,garden,Heated,price\n"
    "50,red,yes,TRUE,100\n"
    "70,blue,no,false,180\n"
    "65,red,Y,True,150\n"
    "80,green,n,FALSE,210\n"
)

# Written out by hand from TRAIN: size | color=blue color=green color=red | garden | Heated
EXPECTED_X = [
    [50, 0, 0, 1, 1, 1],
    [70, 1, 0, 0, 0, 0],
    [65, 0, 0, 1, 1, 1],
    [80, 0, 1, 0, 0, 0],
]


def _table(tmp_path: Path, text: str, name: str = "train.csv", **kw):
    path = tmp_path / name
    path.write_text(text)
    return read_csv(path, **kw)


def test_encodes_numeric_yes_no_and_one_hot(tmp_path: Path):
    table = _table(tmp_path, TRAIN)
    enc = TableEncoder(target="price")
    X, y = enc.fit_transform(table)
    assert enc.feature_names_ == [
        "size", "color=blue", "color=green", "color=red", "garden", "Heated"
    ]
    assert [c.encoding for c in enc.columns_] == ["numeric", "onehot", "binary", "binary"]
    assert X.dtype == np.float64
    assert X.tolist() == EXPECTED_X
    assert y.tolist() == [100.0, 180.0, 150.0, 210.0]
    assert enc.task_ == "regression" and enc.classes_ is None
    assert enc.transform(table, dtype=np.float32).dtype == np.float32


def test_classification_target_and_inverse(tmp_path: Path):
    table = _table(tmp_path, "x,kind\n1,cat\n2,dog\n3,cat\n4,bird\n")
    enc = TableEncoder(target="kind").fit(table)
    assert enc.task_ == "classification"
    assert enc.classes_ == ["bird", "cat", "dog"]
    y = enc.transform_target(table)
    assert y.tolist() == [1, 2, 1, 0]
    assert enc.inverse_transform_target(y).tolist() == ["cat", "dog", "cat", "bird"]


def test_numeric_classes_kept_as_numbers(tmp_path: Path):
    table = _table(tmp_path, "x,stars\n1,5\n2,3\n3,5\n4,1\n5,1\n6,3\n")
    enc = TableEncoder(target="stars").fit(table)
    assert enc.task_ == "classification"
    assert enc.classes_ == [1, 3, 5]
    assert all(type(c) is int for c in enc.classes_)
    assert enc.transform_target(table).tolist() == [2, 1, 2, 0, 0, 1]


def test_new_table_with_extra_and_reordered_columns(tmp_path: Path):
    enc = TableEncoder(target="price").fit(_table(tmp_path, TRAIN))
    new = _table(tmp_path, "id,Heated,garden,color,size\n7,no,yes,green,90\n", "new.csv")
    assert enc.transform(new).tolist() == [[90, 0, 1, 0, 1, 0]]


def test_unseen_category_raises_or_is_zero(tmp_path: Path):
    enc = TableEncoder(target="price").fit(_table(tmp_path, TRAIN))
    new = _table(tmp_path, "size,color,garden,Heated\n60,red,no,no\n61,purple,no,yes\n", "n.csv")
    with pytest.raises(DataError) as info:
        enc.transform(new)
    message = str(info.value)
    for part in ("n.csv, line 3", "column 'color'", "'purple'", "unknown='ignore'"):
        assert part in message
    X = enc.transform(new, unknown="ignore")
    assert X.tolist() == [[60, 0, 0, 1, 0, 0], [61, 0, 0, 0, 0, 1]]
    ignoring = TableEncoder(target="price", unknown="ignore").fit(_table(tmp_path, TRAIN))
    assert ignoring.transform(new).tolist() == X.tolist()


def test_yes_no_column_rejects_other_words_even_when_ignoring(tmp_path: Path):
    enc = TableEncoder(target="price", unknown="ignore").fit(_table(tmp_path, TRAIN))
    new = _table(tmp_path, "size,color,garden,Heated\n60,red,maybe,no\n", "n.csv")
    with pytest.raises(DataError, match="line 2, column 'garden': 'maybe' is not yes/no"):
        enc.transform(new)


def test_kind_mismatch_at_predict_time(tmp_path: Path):
    train = _table(tmp_path, "size,code,y\n1,10,1.5\n2,S,2.5\n3,M,3.5\n4,L,4.5\n")
    enc = TableEncoder(target="y").fit(train)
    assert enc.reader_kinds() == {"size": "numeric", "code": "categorical"}
    # Read without kinds, "code" looks numeric here; its numbers still find category "10".
    new = _table(tmp_path, "size,code\n5,10\n6,10.0\n", "n.csv")
    assert new.kinds["code"] == "numeric"
    assert enc.transform(new)[:, 1:].tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]
    # "size" read as text (kinds forced) is parsed back, with a located error for words.
    text = _table(tmp_path, "size,code\n5,S\nbig,M\n", "t.csv", kinds={"size": "categorical"})
    with pytest.raises(DataError, match="t.csv, line 3, column 'size': 'big' is not a number"):
        enc.transform(text)


def test_missing_columns_at_predict_time(tmp_path: Path):
    enc = TableEncoder(target="price").fit(_table(tmp_path, TRAIN))
    new = _table(tmp_path, "size,color\n1,red\n", "n.csv")
    with pytest.raises(DataError, match=r"n.csv: missing column\(s\) 'garden', 'Heated'"):
        enc.transform(new)


@pytest.mark.parametrize(
    "kwargs, text, expected",
    [
        ({"target": "prize"}, TRAIN, ["no target column 'prize'", "did you mean 'price'"]),
        ({"target": "price", "features": ["size", "colour"]}, TRAIN, ["unknown", "'colour'"]),
        ({"target": "price", "features": ["size", "price"]}, TRAIN, ["includes the target"]),
        ({"target": "y"}, "y\n1\n2\n", ["no feature columns"]),
        ({"target": "y"}, "x,y\n1,2\n", ["1 data row", "at least 2"]),
        ({"target": "y", "task": "classification"}, "x,y\n1,a\n2,a\n", ["only one class"]),
        ({"target": "y", "task": "regression"}, "x,y\n1,a\n2,b\n", ["line 2", "not a number"]),
        ({"target": "y", "max_categories": 2}, "c,y\na,1\nb,2\nc,3\n", ["'c'", "3 distinct"]),
    ],
)
def test_fit_errors(tmp_path: Path, kwargs: dict, text: str, expected: list[str]):
    with pytest.raises(DataError) as info:
        TableEncoder(**kwargs).fit(_table(tmp_path, text))
    for part in expected:
        assert part in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"task": "ranking"},
        {"unknown": "skip"},
        {"missing": "zero"},
        {"features": "size"},
        {"features": ["a", "a"]},
        {"max_categories": 0},
        {"target": ""},
    ],
)
def test_bad_parameters_name_themselves(kwargs: dict):
    (name,) = kwargs
    with pytest.raises(ValueError, match=name):
        TableEncoder(**kwargs)


def test_target_missing_value_is_an_error(tmp_path: Path):
    table = _table(tmp_path, "x,y\n1,2\n2,\n3,4\n", missing="keep")
    with pytest.raises(DataError, match="line 3, target column 'y': missing value"):
        TableEncoder(target="y", missing="mean").fit(table)


def test_missing_values_filled_from_training_only(tmp_path: Path):
    train = _table(tmp_path, "x,c,b,y\n1,red,yes,0\n,red,no,1\n5,blue,yes,0\n", missing="keep")
    with pytest.raises(DataError, match="line 3, column 'x': missing value"):
        TableEncoder(target="y").fit(train)
    enc = TableEncoder(target="y", missing="mean").fit(train)
    new = _table(tmp_path, "x,c,b\n,,\n100,blue,no\n", "n.csv", missing="keep")
    # Fills from training: x mean (1+5)/2 = 3; c and b most frequent: "red", "yes" (1).
    assert enc.transform(new).tolist() == [[3, 0, 1, 1], [100, 1, 0, 0]]
    strict = TableEncoder(target="y").fit(_table(tmp_path, "x,y\n1,0\n2,1\n", "s.csv"))
    with pytest.raises(DataError, match="n.csv, line 2, column 'x': missing value"):
        strict.transform(new)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        TableEncoder().transform(None)
    with pytest.raises(NotFittedError):
        TableEncoder().to_dict()


def test_dict_round_trip_through_json(tmp_path: Path):
    table = _table(tmp_path, TRAIN)
    for kwargs in ({"target": "price"}, {"target": "color"}, {}, {"missing": "median"}):
        enc = TableEncoder(**kwargs).fit(table)
        text = json.dumps(enc.to_dict(), allow_nan=False)
        again = TableEncoder.from_dict(json.loads(text))
        assert again.to_dict() == enc.to_dict()
        assert again.transform(table).tolist() == enc.transform(table).tolist()
        if "target" in kwargs:
            assert again.transform_target(table).tolist() == enc.transform_target(table).tolist()


def _valid_dict(tmp_path: Path) -> dict:
    return TableEncoder(target="color").fit(_table(tmp_path, TRAIN)).to_dict()


def _mutations():
    def set_(path, value):
        def apply(d):
            node = d
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        return apply

    def delete(key):
        def apply(d):
            del d[key]
        return apply

    return [
        ("not a dict", lambda d: ["list"], "JSON object"),
        ("wrong format", set_(["format"], "descent.Other"), "format"),
        ("newer version", set_(["version"], 99), "newer"),
        ("bool version", set_(["version"], True), "version"),
        ("missing key", delete("columns"), "missing key"),
        ("extra key", set_(["evil"], 1), "unexpected key"),
        ("columns not list", set_(["columns"], "abc"), "columns"),
        ("no columns", set_(["columns"], []), "at least 1"),
        ("bad encoding", set_(["columns", 0, "encoding"], "exec"), "columns[0].encoding"),
        ("empty name", set_(["columns", 1, "name"], ""), "columns[1].name"),
        ("int category", set_(["columns", 0, "categories"], [1]), "columns[0].categories"),
        ("unsorted categories", lambda d: d["columns"][0].__setitem__(
            "encoding", "onehot") or d["columns"][0].__setitem__("categories", ["b", "a"]),
         "sorted"),
        ("dup categories", lambda d: d["columns"][0].__setitem__(
            "encoding", "onehot") or d["columns"][0].__setitem__("categories", ["a", "a"]),
         "distinct"),
        ("fill with missing=error", set_(["columns", 0, "fill"], 1.0), "fill"),
        ("nan fill", lambda d: d.__setitem__("missing", "mean")
         or d["columns"][0].__setitem__("fill", float("nan")), "finite"),
        ("duplicate column", lambda d: d["columns"].append(copy.deepcopy(d["columns"][0])),
         "distinct"),
        ("feature names", set_(["feature_names"], ["x"]), "feature_names"),
        ("target encoder", set_(["target_encoder"], None), "target_encoder"),
        ("classes one", set_(["target_encoder", "classes"], ["a"]), "classes"),
        ("classes inf", set_(["target_encoder", "classes"], [1, float("inf")]), "classes[1]"),
        ("unknown option", set_(["unknown"], "maybe"), "unknown"),
        ("huge string shown short", set_(["unknown"], "x" * 10_000), "..."),
    ]


@pytest.mark.parametrize("mutate, expected", [m[1:] for m in _mutations()],
                         ids=[m[0] for m in _mutations()])
def test_hostile_dicts_are_rejected(tmp_path: Path, mutate, expected: str):
    d = _valid_dict(tmp_path)
    result = mutate(d)
    if result is not None:
        d = result
    with pytest.raises(DataError) as info:
        TableEncoder.from_dict(d)
    assert expected in str(info.value)
    assert len(str(info.value)) < 400


def test_predict_flow_streams_like_the_cli(tmp_path: Path):
    """Train on one file, store the encoder as JSON, encode a new file in chunks."""
    from descent.data import iter_csv_chunks

    train = _table(tmp_path, TRAIN)
    stored = json.dumps(TableEncoder(target="price", missing="median").fit(train).to_dict())
    enc = TableEncoder.from_dict(json.loads(stored))
    rows = ["notes,Heated,size,color,garden"]
    for i in range(25):
        size = "" if i % 7 == 3 else str(40 + i)
        heated, color = ("yes" if i % 2 else "no"), ("red" if i % 3 else "blue")
        rows.append(f"free text {i},{heated},{size},{color},n")
    path = tmp_path / "new.csv"
    path.write_text("\n".join(rows) + "\n")
    options = enc.read_options()
    assert options == {"expected_columns": ["size", "color", "garden", "Heated"],
                       "kinds": {"size": "numeric", "color": "categorical",
                                 "garden": "categorical", "Heated": "categorical"},
                       "missing": "keep"}
    whole = enc.transform(read_csv(path, **options))
    streamed = np.concatenate([enc.transform(c) for c in iter_csv_chunks(path, 4, **options)])
    assert streamed.tolist() == whole.tolist()
    median_size = 67.5  # training sizes 50, 65, 70, 80
    for i in range(25):
        expected_size = median_size if i % 7 == 3 else 40 + i
        color = [0, 0, 1] if i % 3 else [1, 0, 0]
        assert whole[i].tolist() == [expected_size, *color, 0, i % 2]
