"""Train a `TabularModel` on a table: split, fit the preprocessing on the training rows,
train, and score every part against a baseline. This is what `descent train` runs.

The rows are split once into training, validation (early stopping) and test (the honest
final score) parts, stratified by class for classification. The encoder and both scalers
are fitted on the training rows only, so the validation and test scores are those of data
the model has never seen in any form. The set of classes is read from the whole target
column, and every class keeps at least one training row.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from difflib import get_close_matches

import numpy as np

from descent.data import Standardizer, Table, TableEncoder, TargetEncoder, split_indices
from descent.errors import DataError
from descent.tabular.model import TabularModel
from descent.tabular.recipe import Recipe
from descent.tabular.report import SplitScores, score_split
from descent.tabular.training import train_network
from descent.train import History, predict_array


@dataclass
class TrainResult:
    """What `train_table` returns.

    `model`: the trained TabularModel; `history`: per-epoch losses; `splits`: row indices
    of "train", "validation", "test" (empty arrays for a part not asked for); `scores`: one
    SplitScores per non-empty part; `recipe`: the checked recipe; `seconds`: training time;
    `notes`: things worth telling the user (e.g. categories first seen in test rows);
    `data`: for each non-empty part, (standardized features (n, d), targets (n,) in the
    target's units or as class indices), for plots and further checks.
    """

    model: TabularModel
    history: History
    splits: dict[str, np.ndarray]
    scores: list[SplitScores]
    recipe: Recipe
    seconds: float
    notes: list[str] = field(default_factory=list)
    data: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def split_rows(n: int, val_fraction: float, test_fraction: float, seed: int | None,
               labels: np.ndarray | None = None,
               source: str = "the table") -> dict[str, np.ndarray]:
    """Row indices of the "train", "validation" and "test" parts (sorted; a part whose
    fraction is 0 is empty). Stratified by `labels` when given; every class keeps at least
    one training row. Raises DataError when a part would be empty.

    >>> parts = split_rows(10, 0.2, 0.2, seed=0)
    >>> [len(parts[k]) for k in ("train", "validation", "test")]
    [6, 2, 2]
    """
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not (isinstance(f, int | float) and math.isfinite(f) and 0 <= f < 1):
            raise ValueError(f"{name} must be a number in [0, 1), got {f!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be below 1 to leave training "
                         f"rows, got {val_fraction} + {test_fraction}")
    names = ["train"] + [k for k, f in (("validation", val_fraction), ("test", test_fraction))
                         if f > 0]
    fractions = [1 - val_fraction - test_fraction] + [f for f in (val_fraction, test_fraction)
                                                      if f > 0]
    if len(names) == 1:
        return {"train": np.arange(n), "validation": np.zeros(0, np.int64),
                "test": np.zeros(0, np.int64)}
    stratify = labels
    if labels is not None and np.bincount(labels).min() < len(names):
        stratify = None  # a class too rare to spread over every part: split plainly
    try:
        parts = dict(zip(names, split_indices(n, fractions, seed=seed, stratify=stratify),
                         strict=True))
    except ValueError as error:
        if "empty part" not in str(error):
            raise
        raise DataError(f"{source}: {n} rows are too few for a {val_fraction:g} validation "
                        f"and {test_fraction:g} test split; use more rows or other fractions"
                        ) from None
    if labels is not None:
        parts = _every_class_in_train(parts, labels)
    parts.setdefault("validation", np.zeros(0, np.int64))
    parts.setdefault("test", np.zeros(0, np.int64))
    return parts


def _every_class_in_train(parts: dict[str, np.ndarray],
                          labels: np.ndarray) -> dict[str, np.ndarray]:
    """Move one row of each class absent from the training part into it."""
    train = list(parts["train"])
    for c in np.setdiff1d(np.unique(labels), labels[parts["train"]]):
        for name in ("validation", "test"):
            rows = parts.get(name, np.zeros(0, np.int64))
            hits = rows[labels[rows] == c]
            if len(hits):
                train.append(int(hits[0]))
                parts[name] = rows[rows != hits[0]]
                break
    parts["train"] = np.sort(np.array(train, dtype=np.int64))
    return parts


def _encode_part(encoder: TableEncoder, part: Table, notes: list[str], name: str) -> np.ndarray:
    """A held-out part's features; categories it has that training lacked become zeros."""
    try:
        return encoder.transform(part)
    except DataError as error:
        if "not seen in training" not in str(error):
            raise
    notes.append(f"the {name} rows have categories the training rows lack; they are "
                 "encoded as all zeros (as `descent predict --unknown ignore` would)")
    return encoder.transform(part, unknown="ignore")


def train_table(
    table: Table,
    target: str,
    *,
    features: list[str] | None = None,
    task: str = "auto",
    recipe: Recipe | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int | None = 0,
    missing: str = "error",
    verbose: bool | int = True,
) -> TrainResult:
    """Train a network on `table` to predict column `target`; see the module doc.

    Args:
        table: the data (e.g. `descent.data.read_csv(path)`, read with missing="keep"
            when `missing` is a fill strategy).
        target: the column to predict.
        features: the input columns (None: every other column).
        task: "auto" (by the target's values), "regression" or "classification".
        recipe: the network and optimizer settings (None: the defaults).
        val_fraction, test_fraction: shares of the rows held out for early stopping and
            for the final score (0 leaves a part out).
        seed: makes the split, the initial weights and the shuffling repeatable.
        missing: "error", or "mean" / "median" / "most_frequent" to fill missing cells
            with values learned from the training rows.
        verbose: show training progress.

    Raises DataError for data that cannot be used (naming file, line, column) and
    ValueError for bad settings (naming the setting).

    >>> from descent.data import load_windsor
    >>> r = train_table(load_windsor(), "price", recipe=Recipe(epochs=3), verbose=False)
    >>> [s.split for s in r.scores], r.model.task
    (['train', 'validation', 'test'], 'regression')
    """
    _check_column(table, target)
    target_encoder = TargetEncoder(target, task).fit(table)
    task = str(target_encoder.task_)
    recipe = (recipe or Recipe()).checked(task)
    labels = target_encoder.transform(table) if task == "classification" else None
    parts = split_rows(len(table), val_fraction, test_fraction, seed, labels, table.source)

    encoder = TableEncoder(target=target, features=features, task=task, missing=missing)
    encoder.fit(table.take(parts["train"]))
    notes: list[str] = []
    X, y = {}, {}
    for name, rows in parts.items():
        if len(rows):
            part = table.take(rows)
            X[name] = (encoder.transform(part) if name == "train"
                       else _encode_part(encoder, part, notes, name))
            y[name] = encoder.transform_target(part)
    x_scaler = Standardizer().fit(X["train"])
    y_scaler = Standardizer().fit(y["train"]) if task == "regression" else None

    def scaled(name: str) -> tuple[np.ndarray, np.ndarray]:
        ys = y[name] if y_scaler is None else y_scaler.transform(y[name])
        return x_scaler.transform(X[name]), ys

    n_out = 1 if task == "regression" else len(encoder.classes_ or [])
    start = time.perf_counter()
    trained = train_network(*scaled("train"), recipe, task=task, n_outputs=n_out,
                            validation_data=scaled("validation") if "validation" in X else None,
                            seed=seed, verbose=verbose)
    seconds = time.perf_counter() - start
    model = TabularModel(trained.model, encoder, x_scaler, y_scaler, task, recipe.loss or "mse")

    scores, data = [], {}
    for name in ("train", "validation", "test"):
        if name in X:
            data[name] = (x_scaler.transform(X[name]), y[name])
            out = model.predict_outputs(predict_array(model.network, data[name][0]))
            pred = out.values if task == "regression" else out.probabilities
            scores.append(score_split(name, task, y[name], y["train"], pred, n_out))
    if task == "classification":
        notes.extend(_held_out_notes(y, encoder.classes_ or []))
    notes.extend(trained.history.notes)
    return TrainResult(model, trained.history, parts, scores, recipe, seconds, notes, data)


def _held_out_notes(y: dict[str, np.ndarray], classes: list) -> list[str]:
    """A classifier's held-out parts that cannot say how well it does: none at all, or
    parts that lack some classes."""
    if "test" not in y:
        return ["no rows were held out for testing (test fraction 0): every score above "
                "comes from rows the model was fitted on or tuned with"]
    notes = []
    for name in ("validation", "test"):
        if name in y:
            absent = [str(c) for i, c in enumerate(classes) if not np.any(y[name] == i)]
            if absent:
                shown = ", ".join(absent[:5]) + (" ..." if len(absent) > 5 else "")
                notes.append(f"the {name} part has {len(y[name])} row"
                             f"{'s' if len(y[name]) != 1 else ''} and none of class "
                             f"{shown} ({len(absent)} of {len(classes)}): its scores say "
                             f"nothing about those classes")
    return notes


def _check_column(table: Table, target: str) -> None:
    if target not in table.values:
        close = get_close_matches(target, table.columns, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(f"{table.source}: no target column {target!r}; the columns are "
                        f"{', '.join(map(repr, table.columns))}{hint}")
