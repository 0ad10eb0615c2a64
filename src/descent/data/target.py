"""The target column: which task it poses, and its encoding as numbers.

`infer_task` rule, applied to the non-missing target values:
  1. any value that is not a number (text such as "yes" or "cat", or a bool) ->
     "classification";
  2. every value a whole number, at most `MAX_AUTO_CLASSES` (10) distinct values, and each
     value seen twice on average (distinct values <= n / 2) -> "classification" (labels
     such as 0/1 or 1..5 stars; the last condition keeps four integer prices a regression);
  3. otherwise -> "regression".
Pass the task explicitly when the rule guesses wrong (e.g. a count with few values that
should be regressed).

Classification targets become class indices 0..n_classes-1 into `classes_`, the sorted
distinct labels kept as they appear: strings stay strings; numbers become ints when whole
("3" -> 3) and floats otherwise.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from descent.data import metadata as meta
from descent.data.cells import is_missing, looks_numeric, number_problem, parse_number
from descent.data.hints import hint
from descent.data.lookup import CategoryLookup
from descent.data.table import NUMERIC, Table
from descent.errors import DataError, NotFittedError

MAX_AUTO_CLASSES = 10
#: The most classes a classification target may have, in training and in a model file: a
#: network's output layer, its predictions and a prediction file all grow with it, and a
#: target with more distinct values is an identifier or a number, not a set of classes.
MAX_CLASSES = 10_000
TASKS = ("regression", "classification")

Label = str | int | float


def _present_values(values: Any) -> list[Any]:
    out = []
    for v in np.asarray(values, dtype=object).ravel():
        if v is None or (isinstance(v, float | np.floating) and math.isnan(v)):
            continue
        if isinstance(v, str) and is_missing(v):
            continue
        out.append(v)
    return out


def _as_number(v: Any) -> float | None:
    """The number a label stands for, or None for text and bools."""
    if isinstance(v, bool | np.bool_):
        return None
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    if isinstance(v, str) and looks_numeric(v):
        return parse_number(v)
    return None


def infer_task(values: Sequence[Any] | np.ndarray) -> str:
    """ "regression" or "classification" for target values (rule in the module doc).

    Args:
        values: (n,) numbers, strings or bools; missing entries (None, NaN, "NA") ignored.

    >>> infer_task([1.5, 2.0, 3.25]), infer_task([0, 1, 1, 0]), infer_task(["cat", "dog"])
    ('regression', 'classification', 'classification')
    """
    cells = np.asarray(values, dtype=object).ravel().tolist()
    if set(map(type, cells)) <= {str, float, type(None)}:
        # Text and floats (a column as read): each distinct cell asked once, weighed by
        # its count (equal keys are then equal labels; a bool, equal to 1, is not let in)
        counts = Counter(cells)
        present = _present_values(list(counts))
        n_present = sum(counts[v] for v in present)
    else:
        present = _present_values(cells)
        n_present = len(present)
    if not present:
        raise DataError("cannot infer the task: the target has no values")
    numbers = [_as_number(v) for v in present]
    if any(x is None for x in numbers):
        return "classification"
    whole = all(math.isfinite(x) and x == int(x) for x in numbers)
    distinct = len(set(numbers))
    if whole and distinct <= MAX_AUTO_CLASSES and 2 * distinct <= n_present:
        return "classification"
    return "regression"


def _json_label(v: Any) -> Label:
    """A label as JSON can hold it: str, int for whole numbers, else float."""
    x = _as_number(v)
    if x is None or not math.isfinite(x):  # "inf" as a class is a word: JSON has no inf
        return str(v)
    if x == int(x) and abs(x) < 2**53:
        return int(x)
    return x


def encode_labels(y: Sequence[Any] | np.ndarray) -> tuple[list[Label], np.ndarray]:
    """Sorted distinct labels and each entry's index into them (for array targets).

    Labels are kept as they appear (see the module doc); a mix of text and numbers is an
    error, since "3" and 3 would otherwise be two classes or one by accident.

    Returns (classes, indices) with indices int64 of shape (n,).

    >>> encode_labels(["b", "a", "b"])
    (['a', 'b'], array([1, 0, 1]))
    """
    items = list(np.asarray(y, dtype=object).ravel())
    labels = []
    for i, v in enumerate(items):
        if v is None or (isinstance(v, float | np.floating) and math.isnan(v)):
            raise DataError(f"y has a missing label at row {i}")
        if isinstance(v, float | np.floating) and not math.isfinite(v):
            raise DataError(f"y has an infinite label at row {i}")
        is_text = isinstance(v, str | np.str_)
        labels.append(str(v) if is_text else _json_label(v))
    kinds = {isinstance(v, str) for v in labels}
    if len(kinds) > 1:
        raise DataError("y mixes text and numeric labels; give all labels the same type")
    classes = sorted(set(labels))
    position = {c: k for k, c in enumerate(classes)}
    return classes, np.array([position[v] for v in labels], dtype=np.int64)


class TargetEncoder:
    """Encode one target column of a `Table`: floats for regression, class indices otherwise.

    Fitted attributes: `task_` ("regression" or "classification"), `classes_` (sorted labels,
    classification only, else None).

    >>> from descent.data.columns import build_table
    >>> t = build_table(["y"], [["no"], ["yes"], ["no"]], np.array([2, 3, 4]), path="f.csv")
    >>> enc = TargetEncoder("y").fit(t)
    >>> enc.task_, enc.classes_, enc.transform(t).tolist()
    ('classification', ['no', 'yes'], [0, 1, 0])
    """

    def __init__(self, column: str, task: str = "auto") -> None:
        if not isinstance(column, str) or not column:
            raise ValueError(f"column must be a non-empty string, got {column!r}")
        if task not in ("auto", *TASKS):
            raise ValueError(f"task must be 'auto', 'regression' or 'classification', got {task!r}")
        self.column = column
        self.task = task
        self.task_: str | None = None
        self.classes_: list[Label] | None = None

    def _values(self, table: Table) -> np.ndarray:
        if self.column not in table.values:
            raise DataError(
                f"{table.source}: no target column {self.column!r}; the columns are "
                f"{', '.join(repr(c) for c in table.columns)}"
            )
        gaps = np.flatnonzero(table.missing_mask(self.column))
        if gaps.size:
            raise DataError(
                f"{table.location(gaps[0])}, target column {self.column!r}: missing value; "
                "rows without a target cannot be used (remove them)"
            )
        return table.values[self.column]

    def fit(self, table: Table) -> TargetEncoder:
        """Learn the task and, for classification, the classes, from the training table."""
        values = self._values(table)
        task = infer_task(values) if self.task == "auto" else self.task
        if task == "classification":
            classes = sorted({_json_label(v) for v in values}, key=_label_key)
            if len({isinstance(c, str) for c in classes}) > 1:
                # Text and numbers in one categorical column: keep them all as text.
                classes = sorted({str(v) for v in values})
            if len(classes) < 2:
                raise DataError(
                    f"{table.source}, target column {self.column!r}: only one class "
                    f"({classes[0]!r}); classification needs at least 2"
                )
            if len(classes) > MAX_CLASSES:
                raise DataError(
                    f"{table.source}, target column {self.column!r}: {len(classes):,} "
                    f"distinct values, more than the {MAX_CLASSES:,} classes descent trains "
                    "on (an identifier? for numbers use --task regression)"
                )
            self.classes_ = classes
        else:
            self.classes_ = None
        self.task_ = task
        if task == "regression":
            self.transform(table)  # reports text in a regression target now, with its line
        return self

    def _check_fitted(self) -> None:
        if self.task_ is None:
            raise NotFittedError("TargetEncoder is not fitted; call fit(table) first")

    def transform(self, table: Table) -> np.ndarray:
        """(n_rows,) float64 targets for regression, int64 class indices for classification.

        Raises DataError naming the line of a label not seen in training or of text in a
        regression target.
        """
        self._check_fitted()
        values = self._values(table)
        numeric = table.kinds[self.column] == NUMERIC
        if self.task_ == "regression":
            if numeric:
                return values.astype(np.float64)
            y = np.empty(len(values))
            for i, cell in enumerate(values):
                why = None
                if looks_numeric(cell):
                    y[i] = parse_number(cell)
                    why = number_problem(cell, y[i])
                else:
                    why = f"{cell!r} is not a number"
                if why is not None:
                    raise DataError(
                        f"{table.location(i)}, target column {self.column!r}: {why}; a "
                        "regression target must be numeric (use "
                        + hint("task='classification'", "--task classification")
                        + " for labels)"
                    )
            return y
        lookup = CategoryLookup(self.classes_ or [])
        # each distinct label looked up once (a target holds few), then spread over rows
        cells = values.tolist()
        distinct = list(dict.fromkeys(cells))
        index = {v: k for k, v in enumerate(distinct)}
        codes = np.fromiter(map(index.__getitem__, cells), dtype=np.intp, count=len(cells))
        found = np.array([-1 if (k := lookup.index(cell)) is None else k for cell in distinct],
                         dtype=np.int64)
        y = found[codes] if len(distinct) else np.empty(0, dtype=np.int64)
        if np.any(y < 0):
            i = int(np.argmax(y < 0))
            cell = values[i]
            shown = cell if isinstance(cell, str) else _json_label(cell)
            raise DataError(
                f"{table.location(i)}, target column {self.column!r}: class {shown!r} was "
                f"not seen in training (classes: {_short(self.classes_ or [])})"
            )
        return y

    def inverse_transform(self, y: np.ndarray | Sequence[int]) -> np.ndarray:
        """Class labels for class indices (classification), or the floats unchanged.

        >>> enc = TargetEncoder.from_dict({"format": "descent.TargetEncoder", "version": 1,
        ...     "column": "y", "task": "classification", "classes": ["no", "yes"]})
        >>> enc.inverse_transform([1, 0]).tolist()
        ['yes', 'no']
        """
        self._check_fitted()
        if self.task_ == "regression":
            return np.asarray(y, dtype=np.float64)
        index = np.asarray(y)
        n = len(self.classes_ or [])
        if index.dtype.kind not in "iu" or (index.size and (index.min() < 0 or index.max() >= n)):
            raise ValueError(f"class indices must be integers in [0, {n}), got {index!r}")
        labels = np.empty(index.shape, dtype=object)
        for pos, k in np.ndenumerate(index):
            labels[pos] = (self.classes_ or [])[k]
        return labels

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fitted state (see `from_dict`)."""
        self._check_fitted()
        return {
            "format": "descent.TargetEncoder",
            "version": 1,
            "column": self.column,
            "task": self.task_,
            "classes": None if self.classes_ is None else list(self.classes_),
        }

    @classmethod
    def from_dict(cls, d: Any, where: str = "TargetEncoder metadata") -> TargetEncoder:
        """Rebuild a fitted encoder from `to_dict()` output; DataError if malformed."""
        d = meta.mapping(d, where, ["format", "version", "column", "task", "classes"])
        meta.header(d, where, "descent.TargetEncoder", 1)
        column = meta.string(d["column"], f"{where}: column")
        task = meta.choice(d["task"], f"{where}: task", TASKS)
        classes = None
        if task == "classification":
            raw = meta.array(d["classes"], f"{where}: classes", min_length=2)
            if len(raw) > MAX_CLASSES:
                raise meta.fail(f"{where}: classes", f"{len(raw):,} classes, more than the "
                                f"{MAX_CLASSES:,} descent allows")
            classes = []
            for i, c in enumerate(raw):
                if isinstance(c, str):
                    classes.append(meta.string(c, f"{where}: classes[{i}]"))
                else:
                    number = meta.number(c, f"{where}: classes[{i}]")
                    classes.append(int(c) if isinstance(c, int) else number)
            if len({isinstance(c, str) for c in classes}) > 1:
                raise meta.fail(f"{where}: classes", "mixes strings and numbers")
            if classes != sorted(set(classes), key=_label_key):
                raise meta.fail(f"{where}: classes", "must be distinct and sorted")
        elif d["classes"] is not None:
            raise meta.fail(f"{where}: classes", "must be null for regression")
        enc = cls(column, task)
        enc.task_, enc.classes_ = task, classes
        return enc


def _label_key(label: Label) -> tuple[int, Any]:
    # Numbers before text, so sorting never compares a str with a number.
    return (1, label) if isinstance(label, str) else (0, label)


def _short(labels: Sequence[Label], limit: int = 10) -> str:
    shown = ", ".join(repr(c) for c in labels[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")
