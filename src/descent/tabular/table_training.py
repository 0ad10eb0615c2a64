"""Train a `TabularModel` on a table: read its columns, evaluate honestly, and (optionally)
refit on every row. This is what `descent train` runs.

First the schema step (`descent.data.schema`) decides what each column is. Then either one
split into training, validation (early stopping) and test parts, or K-fold
cross-validation (each fold trains with its own validation part and is scored on the rows
it left out), stratified by class for classification. The encoder and scalers are fitted
on each fit's training rows only, so every score is that of rows the model never saw in
any form. Next to the network, every evaluation scores a linear model (ridge or logistic
regression, on the same features) and a baseline that learns nothing. With `refit`, the
saved model is trained on every labelled row for the epochs validation chose. The set of
classes is read from the whole target column, and every class keeps a training row.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from typing import Any

import numpy as np

from descent.data import (
    Standardizer,
    Table,
    TableEncoder,
    TargetEncoder,
    kfold_indices,
    split_indices,
)
from descent.data.hints import hint
from descent.data.schema import Schema, infer_schema
from descent.errors import DataError
from descent.tabular.linear import fit_predict_linear
from descent.tabular.model import TabularModel
from descent.tabular.recipe import Recipe
from descent.tabular.report import (
    SplitScores,
    classification_scores,
    per_class_scores,
    regression_scores,
    score_split,
)
from descent.tabular.scaling import fit_target_scaler
from descent.tabular.training import train_network, validation_split
from descent.train import History, predict_array

#: The float type the networks of `train_table` compute in while they train (their
#: weights, saved and used to predict, stay float64). float32 about halves a training:
#: a step of 5 stacked 300-64-1 networks (a one-hot-encoded table) takes 0.44 ms against
#: 1.03 in float64, an 8-64-1 one 0.12 against 0.15; on the 13 tables of
#: bench/tabular_suite.py the scores moved by at most 0.002 (docs/tables.md). The
#: estimators keep float64, where a sample weight of k must equal k repeated rows to
#: float64 rounding (scikit-learn's check_sample_weight_equivalence).
COMPUTE_DTYPE: Any = np.float32


@dataclass
class TrainResult:
    """What `train_table` returns.

    `model`: the trained TabularModel; `history`: per-epoch losses; `splits`: row indices
    of "train", "validation", "test" (empty arrays for a part not asked for); `scores`: one
    SplitScores per non-empty part; `recipe`: the checked recipe; `seconds`: training time;
    `notes`: things worth telling the user (e.g. categories first seen in test rows);
    `data`: for each non-empty part, (standardized features (n, d), targets (n,) in the
    target's units or as class indices), for plots and further checks; `evaluation`: the
    network, a linear model and the baseline on rows they did not train on (None without
    a test part or folds); `schema`: how each column was read; `refit_epochs`: the epochs
    the saved model was trained for on every row (None: the evaluated model was kept);
    `evaluated_history`: the (first) evaluated fit's history; `chosen_epochs`: the training
    length validation chose (1-based best epoch, median over folds).
    """

    model: TabularModel
    history: History
    splits: dict[str, np.ndarray]
    scores: list[SplitScores]
    recipe: Recipe
    seconds: float
    notes: list[str] = field(default_factory=list)
    data: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    schema: Schema | None = None
    refit_epochs: int | None = None
    evaluated_history: History | None = None
    chosen_epochs: int | None = None


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


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-row weights n / (K · n_k) ("balanced"): every class weighs the same in the loss.

    >>> class_weights(np.array([0, 0, 0, 1]), 2).tolist()
    [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0]
    """
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    per_class = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
    return per_class[labels]


@dataclass
class Evaluation:
    """Scores of the network, a linear model and a baseline on rows none of them saw.

    `method` says how ("5-fold cross-validation", "the held-out test part"); `folds` holds,
    per fold, {"network": scores, "linear": scores, "baseline": scores}; `per_class`
    (classification) the network's precision, recall, F1 and support per class, over every
    evaluated row; `classes` the class labels; `n_rows` the rows evaluated.
    """

    method: str
    folds: list[dict[str, dict[str, float]]]
    per_class: list[dict[str, float]] | None = None
    classes: list | None = None
    n_rows: int = 0

    def summary(self, model: str) -> dict[str, tuple[float, float]]:
        """metric -> (mean, standard deviation over folds) for "network", "linear" or
        "baseline"."""
        metrics = self.folds[0][model]
        return {m: (float(np.mean([f[model][m] for f in self.folds])),
                    float(np.std([f[model][m] for f in self.folds])))
                for m in metrics}


@dataclass
class _Fit:
    model: TabularModel
    history: History
    seconds: float
    unseen: dict[str, int]
    weight_decay: float | None = None


#: Rows encoded at a time: `_matrix` fills one matrix block by block, so encoding costs
#: the matrix plus one block, never a copy of the table's rows or a second matrix.
ENCODE_ROWS = 65_536


def _matrix(encoder: TableEncoder, typed: Table, rows: np.ndarray | None = None,
             scaler: Standardizer | None = None, unknown: str = "ignore") -> np.ndarray:
    """(len(rows), d) float64 features of `rows` of a typed table (None: every row),
    standardized by `scaler` when given: `scaler.transform(encoder.transform(
    typed.take(rows), unknown=unknown))`, value for value (both work row by row), built
    `ENCODE_ROWS` rows at a time into one matrix.

    >>> from descent.data import load_windsor
    >>> from descent.data.schema import infer_schema
    >>> typed = infer_schema(load_windsor(), "price").apply(load_windsor())
    >>> enc = TableEncoder(target="price").fit(typed)
    >>> _matrix(enc, typed, np.array([0, 5])).shape
    (2, 11)
    """
    n = len(typed) if rows is None else len(rows)
    X = np.empty((n, encoder.n_features_))
    for start in range(0, n, ENCODE_ROWS):
        stop = min(start + ENCODE_ROWS, n)
        index = np.arange(start, stop) if rows is None else rows[start:stop]
        block = encoder.transform(typed.take(index), unknown=unknown)
        X[start:stop] = block if scaler is None else scaler.transform(block)
    return X


def standardize(scaler: Standardizer, X: np.ndarray) -> np.ndarray:
    """`scaler.transform(X)` written into float64 X itself (returned): the same
    operations, (x - mean) / scale, without a second matrix."""
    X -= scaler.mean_
    X /= scaler.scale_
    return X


def _rows_of(typed: Table, rows: np.ndarray) -> Table:
    """`typed.take(rows)`, or `typed` itself when `rows` is every row in order (no copy)."""
    if len(rows) == len(typed) and np.array_equal(rows, np.arange(len(typed))):
        return typed
    return typed.take(rows)


def _targets(encoder: TableEncoder, typed: Table, rows: np.ndarray) -> np.ndarray:
    """The encoded targets of `rows`, taking the target column only."""
    assert encoder.target is not None
    return encoder.transform_target(_rows_of(typed.select([encoder.target]), rows))


def _fit_rows(typed: Table, target: str, task: str, recipe: Recipe, fit_rows: np.ndarray,
              val_rows: np.ndarray | None, *, features: list[str], missing: str,
              unknown: str, class_weight: str | None, seed: int | None,
              verbose: bool | int, epochs: int | None = None,
              schema: Schema | None = None, classes: list | None = None,
              members: int | None = None) -> _Fit:
    """Fit the encoder and scalers on `fit_rows`, then train (early stopping on `val_rows`
    when given; exactly `epochs` epochs when `epochs` is given; `members`: at most that
    many networks of the recipe's ensemble, see `train_network`)."""
    encoder = TableEncoder(target=target, features=features, task=task,
                           missing=missing, unknown=unknown, indicators=missing != "error")
    fit_part = _rows_of(typed, fit_rows)
    encoder.fit(fit_part)
    if classes is not None and encoder.target_encoder_ is not None:
        encoder.target_encoder_.classes_ = list(classes)  # every class, even if rare here
    y_fit = encoder.transform_target(fit_part)
    del fit_part  # the matrix is built from `typed` block by block
    X_fit = _matrix(encoder, typed, fit_rows, unknown=encoder.unknown)
    x_scaler = Standardizer().fit(X_fit)
    X_fit = standardize(x_scaler, X_fit)
    y_scaler = (fit_target_scaler(y_fit, recipe.output_activation)
                if task == "regression" else None)
    n_out = 1 if task == "regression" else len(encoder.classes_ or [])
    weights = None
    if class_weight == "balanced" and task == "classification":
        weights = class_weights(y_fit, n_out)

    unseen: dict[str, int] = {}
    validation = None
    if val_rows is not None and len(val_rows):
        val_part = typed.take(val_rows)
        unseen = encoder.unseen_counts(val_part)
        y_val = encoder.transform_target(val_part)
        del val_part
        validation = (_matrix(encoder, typed, val_rows, x_scaler),
                      y_val if y_scaler is None else y_scaler.transform(y_val),
                      None if weights is None else class_weights(y_val, n_out))
    start = time.perf_counter()
    trained = train_network(X_fit, y_fit if y_scaler is None else y_scaler.transform(y_fit),
                            recipe, task=task, n_outputs=n_out,
                            validation_data=validation, sample_weight=weights, seed=seed,
                            verbose=verbose, epochs=epochs, stopping=epochs is None,
                            members=members, compute_dtype=COMPUTE_DTYPE)
    seconds = time.perf_counter() - start
    model = TabularModel(trained.model, encoder, x_scaler, y_scaler, task,
                         recipe.loss or "mse", schema)
    return _Fit(model, trained.history, seconds, unseen, trained.weight_decay)


def _predict_features(model: TabularModel, X: np.ndarray) -> np.ndarray:
    """(n,) values or (n, K) probabilities for standardized features X."""
    out = model.predict_outputs(predict_array(model.network, X))
    return out.values if model.task == "regression" else out.probabilities


def _linear_scores(model: TabularModel, typed: Table, train_rows: np.ndarray,
                   eval_rows: np.ndarray, task: str, n_classes: int,
                   class_weight: str | None, X_eval: np.ndarray | None = None
                   ) -> dict[str, float]:
    """Scores on `eval_rows` of the linear model fitted on `train_rows`' features
    (`X_eval`: the eval rows' standardized features, when already made)."""
    enc, scale = model.encoder, model.x_scaler
    X = _matrix(enc, typed, train_rows, scale)
    if X_eval is None:
        X_eval = _matrix(enc, typed, eval_rows, scale)
    y, y_eval = _targets(enc, typed, train_rows), _targets(enc, typed, eval_rows)
    weights = (class_weights(y, n_classes)
               if class_weight == "balanced" and task == "classification" else None)
    pred = fit_predict_linear(task, X, y, X_eval, n_classes, weights)
    if task == "regression":
        return regression_scores(y_eval, pred)
    return classification_scores(y_eval, pred)


def _epochs_used(history: History) -> int:
    """The training length a fit chose: its best epoch (1-based), or every epoch it ran."""
    return len(history) if history.best_epoch is None else history.best_epoch + 1


def _capped(history: History, recipe: Recipe) -> bool:
    """Stopped by the epoch cap while the validation loss was still improving: every epoch
    ran and early stopping never fired (the loss improved within the last `patience`)."""
    return (len(history) >= recipe.epochs and not history.interrupted
            and history.best_epoch is not None
            and not getattr(history, "stopped_early", False))


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
    missing: str = "median",
    unknown: str = "ignore",
    kinds: dict[str, str] | None = None,
    cv: int = 0,
    refit: bool = False,
    schema: Schema | None = None,
    class_weight: str | None = None,
    verbose: bool | int = True,
    fold_map: Callable[[Callable[[Any], Any], list[Any]], list[Any]] | None = None,
    applied: bool = False,
) -> TrainResult:
    """Train a network on `table` to predict column `target`; see the module doc.

    Args:
        table: the data, read as text (`read_csv(path, kinds=<every column
            "categorical">, missing="keep")`) so that the schema step reads every cell;
            a typed table (numbers already parsed) works too.
        target: the column to predict.
        features: the input columns (None: every other column the schema keeps).
        task: "auto" (by the target's values), "regression" or "classification".
        recipe: the network and optimizer settings (None: the defaults).
        val_fraction, test_fraction: shares of the rows held out for early stopping and
            for the final score (0 leaves a part out). With `cv`, the test part is not
            used: every row is scored once, by the fold that left it out.
        seed: makes the split, the initial weights and the shuffling repeatable.
        missing: "median" (default: numbers take the training rows' median, text the most
            frequent value, and each column with gaps gets a missing-indicator feature),
            "mean", "most_frequent", or "error".
        unknown: "ignore" (a category first seen in held-out rows gets the unseen
            encoding, all zeros, and is counted in `notes`) or "error".
        kinds: column -> kind ("number", "category", "date", "identifier" to leave out)
            to override the schema step.
        schema: the schema to use (from `infer_schema`, e.g. to show it first); None:
            inferred here with `kinds` and `features`.
        cv: K >= 2 for K-fold cross-validation (stratified for classification); 0 for one
            training / validation / test split.
        refit: after evaluating, train the saved model on every row for the number of
            epochs that validation chose (the median over the folds' best epochs).
        class_weight: "balanced" weighs each class equally in the loss (imbalanced data).
        verbose: show training progress.
        fold_map: with `cv`, a function `fold_map(f, plans)` returning `[f(p) for p in
            plans]`, computed however it likes (`descent train --cv 5 --cluster local:4`
            maps the folds over a Dask cluster); the folds' seeds and rows are fixed
            beforehand, so the result is the same as the folds run one after another.
        applied: `table` is already `schema.apply`'s output (the typed table of
            `descent.data.typed_csv.read_typed_csv`, which never holds the file as text);
            `schema` must then be given.

    Raises DataError for data that cannot be used (naming file, line, column; every
    failing column at once) and ValueError for bad settings (naming the setting).

    >>> from descent.data import load_windsor
    >>> r = train_table(load_windsor(), "price", recipe=Recipe(epochs=3), verbose=False)
    >>> [s.split for s in r.scores], r.model.task
    (['train', 'validation', 'test'], 'regression')
    """
    if missing not in ("error", "mean", "median", "most_frequent"):
        raise ValueError(f"missing must be 'error', 'mean', 'median' or 'most_frequent', "
                         f"got {missing!r}")
    if unknown not in ("error", "ignore"):
        raise ValueError(f"unknown must be 'error' or 'ignore', got {unknown!r}")
    if class_weight not in (None, "balanced"):
        raise ValueError(f"class_weight must be None or 'balanced', got {class_weight!r}")
    if isinstance(cv, bool) or not isinstance(cv, int) or cv == 1 or cv < 0:
        raise ValueError(f"cv must be 0 (one split) or a number of folds >= 2, got {cv!r}")
    check_target(table.columns, table.source, target)
    if applied:
        if schema is None:
            raise ValueError("applied=True needs the schema that typed the table")
        typed = table
    else:
        if schema is None:
            schema = infer_schema(table, target, kinds=kinds, features=features)
        typed = schema.apply(table)
    target_encoder = TargetEncoder(target, task).fit(typed)
    task = str(target_encoder.task_)
    classes = target_encoder.classes_
    recipe = (recipe or Recipe()).checked(task)
    labels = target_encoder.transform(typed) if task == "classification" else None
    n_classes = 0 if classes is None else len(classes)
    feature_names = schema.feature_columns
    if not feature_names:
        raise DataError(f"{table.source}: no input column is left to learn from (the schema "
                        "left out every column but the target)")
    options: dict[str, Any] = dict(features=feature_names, missing=missing, unknown=unknown,
                                   class_weight=class_weight, schema=schema, classes=classes)
    early = recipe.early_stopping and val_fraction > 0
    rng = np.random.default_rng(seed)
    # With a refit, an evaluated fit is kept only for its scores, its training length and
    # its weight decay, which all come from its first network (the one the decay was
    # chosen with): the other members of its ensemble would change none of what is saved,
    # so they are not trained. Without one, the evaluated model is saved: all of it.
    evaluated_members = 1 if refit else None

    fits: list[_Fit] = []
    scores: list[SplitScores] = []
    data: Mapping[str, tuple[np.ndarray, np.ndarray]] = {}
    evaluation_folds: list[dict[str, dict[str, float]]] = []
    pooled: tuple[list, list] = ([], [])
    if cv:
        if cv > len(table):
            raise DataError(f"{table.source}: {len(table)} rows are too few for {cv}-fold "
                            "cross-validation")
        stratify = labels if labels is not None and np.bincount(labels).min() >= cv else None
        folds = kfold_indices(len(table), cv, seed=seed, stratify=stratify)
        parts = {"train": np.arange(len(table)), "validation": np.zeros(0, np.int64),
                 "test": np.zeros(0, np.int64)}
        method = f"{cv}-fold cross-validation"
        planned = []
        for k, (train_rows, _) in enumerate(folds):
            fit_rows, val_rows = train_rows, None
            if early:
                sub = None if labels is None else labels[train_rows]
                fit_i, val_i = validation_split(len(train_rows), val_fraction, rng, sub)
                fit_rows, val_rows = train_rows[fit_i], train_rows[val_i]
            planned.append((k, fit_rows, val_rows))
        fitted: list[_Fit] | None = None
        if fold_map is not None:  # every fold at once (e.g. on a Dask cluster)
            def fit_fold(plan: tuple[int, np.ndarray, np.ndarray | None]) -> _Fit:
                k, fit_rows, val_rows = plan
                return _fit_rows(typed, target, task, recipe, fit_rows, val_rows,
                                 seed=None if seed is None else seed + k, verbose=False,
                                 members=evaluated_members, **options)

            fitted = list(fold_map(fit_fold, planned))
        for k, (train_rows, eval_rows) in enumerate(folds):
            _, fit_rows, val_rows = planned[k]
            if fitted is not None:
                fit = fitted[k]
            else:
                if verbose:
                    print(f"fold {k + 1} of {cv}", flush=True)
                fit = _fit_rows(typed, target, task, recipe, fit_rows, val_rows,
                                seed=None if seed is None else seed + k, verbose=verbose,
                                members=evaluated_members, **options)
            if fit.history.interrupted:  # Ctrl-C: stop here, not after every other fold
                raise KeyboardInterrupt(f"interrupted during fold {k + 1} of {cv} of the "
                                        "cross-validation: nothing saved")
            fits.append(fit)
            evaluation_folds.append(_fold_scores(fit.model, typed, train_rows, eval_rows,
                                                 task, n_classes, class_weight, pooled))
            _count_unseen(fit.model, typed.take(eval_rows), fit.unseen)
    else:
        parts = split_rows(len(table), val_fraction if early else 0.0, test_fraction, seed,
                           labels, table.source)
        method = "the held-out test part"
        fit = _fit_rows(typed, target, task, recipe, parts["train"],
                        parts["validation"] if early else None, seed=seed, verbose=verbose,
                        members=evaluated_members, **options)
        if fit.history.interrupted and not len(fit.history):
            raise KeyboardInterrupt("interrupted before the first epoch finished: nothing "
                                    "saved")
        fits.append(fit)
        model = fit.model
        y_train = _targets(model.encoder, typed, parts["train"])
        X_test = None
        for name in ("train", "validation", "test"):
            rows = parts[name]
            if not len(rows):
                continue
            if name == "test":
                _count_unseen(model, typed.take(rows), fit.unseen)
            X_part = _matrix(model.encoder, typed, rows, model.x_scaler)
            scores.append(score_split(name, task, _targets(model.encoder, typed, rows),
                                      y_train, _predict_features(model, X_part), n_classes))
            X_test = X_part if name == "test" else None
            del X_part
        folds = []
        if len(parts["test"]):
            train_rows = np.sort(np.concatenate([parts["train"], parts["validation"]]))
            folds = [(train_rows, parts["test"])]
            evaluation_folds.append(_fold_scores(model, typed, train_rows, parts["test"],
                                                 task, n_classes, class_weight, pooled,
                                                 X_test))
            scores[-1].linear = evaluation_folds[-1]["linear"]
        del X_test
        data = PartData(model, typed, {k: parts[k] for k in ("train", "validation", "test")
                                       if len(parts[k])})
    evaluation = None
    if evaluation_folds:
        per_class = None
        if task == "classification":
            y_all, p_all = np.concatenate(pooled[0]), np.concatenate(pooled[1])
            per_class = per_class_scores(y_all, p_all.argmax(axis=1), n_classes)
        evaluation = Evaluation(method, evaluation_folds, per_class, classes,
                                int(sum(len(e) for _, e in folds)))

    notes = _notes(fits, recipe, task, labels, classes, class_weight)
    if task == "classification" and not cv and labels is not None:
        notes.extend(_held_out_notes(parts, labels, classes or []))
    chosen = int(np.median([_epochs_used(f.history) for f in fits]))
    decays = [f.weight_decay for f in fits if f.weight_decay is not None]
    if recipe.weight_decay is None and decays:  # the decay validation chose most often
        recipe = replace(recipe, weight_decay=max(decays, key=decays.count))
    final = fits[0]
    refit_epochs = None
    if refit and not final.history.interrupted:  # after Ctrl-C, no second training
        refit_epochs = max(1, chosen)
        if verbose:
            print(f"refit on all {len(table)} rows for {refit_epochs} epochs", flush=True)
        final = _fit_rows(typed, target, task, recipe, np.arange(len(table)), None,
                          seed=seed, verbose=verbose, epochs=refit_epochs, **options)
        saved = recipe.members(len(table))
        if saved > 1 and (scores or evaluation_folds):
            notes.append(f"the scores above are those of one network{' per fold' if cv else ''}"
                         f" (the one the weight decay was chosen with); the saved model "
                         f"averages {saved} networks refit on every row, which usually "
                         "scores a little higher")
    if not data:
        data = PartData(final.model, typed, {"train": np.arange(len(typed))})
    seconds = sum(f.seconds for f in fits) + (final.seconds if refit else 0.0)
    notes.extend(n for n in final.history.notes if n not in notes)  # why it learned nothing
    return TrainResult(final.model, final.history, parts, scores, recipe, seconds, notes,
                       data, evaluation=evaluation, schema=schema, refit_epochs=refit_epochs,
                       evaluated_history=fits[0].history, chosen_epochs=chosen)


def _notes(fits: list[_Fit], recipe: Recipe, task: str, labels: np.ndarray | None,
           classes: list | None, class_weight: str | None) -> list[str]:
    """What the user should hear about: unseen categories, the epoch cap, imbalance."""
    notes = []
    unseen: dict[str, int] = {}
    for fit in fits:
        for name, count in fit.unseen.items():
            unseen[name] = unseen.get(name, 0) + count
    if unseen:
        shown = ", ".join(f"{n!r} ({c} row{'s' if c != 1 else ''})" for n, c in unseen.items())
        notes.append(f"categories not seen in training appeared in held-out rows of {shown}; "
                     "they got the unseen encoding (all zeros), as `descent predict` gives "
                     "them by default")
    if any(_capped(f.history, recipe) for f in fits):
        notes.append(f"training stopped at the epoch cap ({recipe.epochs}) while the "
                     "validation loss was still improving; more epochs may help ("
                     + hint(f"Recipe(epochs={2 * recipe.epochs})",
                            f"--epochs {2 * recipe.epochs}") + ")")
    if task == "classification" and labels is not None and classes:
        shares = np.bincount(labels, minlength=len(classes)) / len(labels)
        if shares.min() < 0.2 and shares.max() >= 3 * shares.min() and class_weight is None:
            rare = classes[int(np.argmin(shares))]
            notes.append(f"the classes are imbalanced ({rare!r} is {shares.min():.1%} of the "
                         "rows): read balanced accuracy and per-class recall, and try "
                         + hint("class_weight='balanced'", "--class-weight balanced"))
    return notes


def _count_unseen(model: TabularModel, part: Table, into: dict[str, int]) -> None:
    for name, count in model.encoder.unseen_counts(part).items():
        into[name] = into.get(name, 0) + count


def _fold_scores(model: TabularModel, typed: Table, train_rows: np.ndarray,
                 eval_rows: np.ndarray, task: str, n_classes: int, class_weight: str | None,
                 pooled: tuple[list, list], X_eval: np.ndarray | None = None
                 ) -> dict[str, dict[str, float]]:
    """Network, linear and baseline scores on `eval_rows`; the network's targets and
    predictions are appended to `pooled` (for per-class scores over every fold).
    `X_eval`: the eval rows' standardized features, when already made."""
    if X_eval is None:
        X_eval = _matrix(model.encoder, typed, eval_rows, model.x_scaler)
    y = _targets(model.encoder, typed, eval_rows)
    y_train = _targets(model.encoder, typed, train_rows)
    pred = _predict_features(model, X_eval)
    pooled[0].append(y)
    pooled[1].append(pred)
    split = score_split("test", task, y, y_train, pred, n_classes)
    linear = _linear_scores(model, typed, train_rows, eval_rows, task, n_classes,
                            class_weight, X_eval)
    return {"network": split.model, "linear": linear, "baseline": split.baseline}


class PartData(Mapping):
    """`TrainResult.data`: part name -> (standardized features (n, d), targets (n,)),
    made from the typed table each time a part is asked for, so that training never
    holds every part's matrix (the plots ask for one part, once).

    >>> from descent.data import load_windsor
    >>> r = train_table(load_windsor(), "price", recipe=Recipe(epochs=1), verbose=False)
    >>> X, y = r.data["test"]
    >>> sorted(r.data), X.shape[0] == len(y) == len(r.splits["test"])
    (['test', 'train', 'validation'], True)
    """

    def __init__(self, model: TabularModel, typed: Table, parts: dict[str, np.ndarray]
                 ) -> None:
        self._model, self._typed, self._parts = model, typed, parts

    def __getitem__(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        rows = self._parts[name]
        enc = self._model.encoder
        return (_matrix(enc, self._typed, rows, self._model.x_scaler),
                _targets(enc, self._typed, rows))

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)


def _held_out_notes(parts: dict[str, np.ndarray], labels: np.ndarray,
                    classes: list) -> list[str]:
    """A classifier's held-out parts that cannot say how well it does: no test part at
    all, or parts that lack some classes. `labels`: every row's class index."""
    if not len(parts["test"]):
        return ["no rows were held out for testing (test fraction 0): every score above "
                "comes from rows the model was fitted on or tuned with"]
    notes = []
    for name in ("validation", "test"):
        y = labels[parts[name]]
        if len(y):
            absent = [str(c) for i, c in enumerate(classes) if not np.any(y == i)]
            if absent:
                shown = ", ".join(absent[:5]) + (" ..." if len(absent) > 5 else "")
                notes.append(f"the {name} part has {len(y)} row"
                             f"{'s' if len(y) != 1 else ''} and none of class "
                             f"{shown} ({len(absent)} of {len(classes)}): its scores say "
                             f"nothing about those classes")
    return notes


def check_target(columns: list[str], source: str, target: str) -> None:
    """DataError naming the columns (and a close match) when `target` is not among them.

    >>> try:
    ...     check_target(["area", "price"], "h.csv", "Price")
    ... except DataError as e:
    ...     print(e)
    h.csv: no target column 'Price'; the columns are 'area', 'price'; did you mean 'price'?
    """
    if target not in columns:
        close = get_close_matches(target, columns, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(f"{source}: no target column {target!r}; the columns are "
                        f"{', '.join(map(repr, columns))}{hint}")
