"""Scores of a model next to a baseline that needs no learning, for each part of the data.

The baseline is what a model must beat to have learned anything: for regression the mean
of the training targets (R² 0 on the training rows by construction), for classification
the majority class of the training rows, with the training class frequencies as its
probabilities (for the log loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from descent.train.metrics import accuracy, mae, r2, rmse

# Probabilities are clipped here for the log loss (as scikit-learn does), so a confident
# wrong answer costs log(1e15) ≈ 34.5 rather than infinity.
EPS = 1e-15


def regression_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """R², MAE and RMSE of predictions `pred` (n,) for targets `y` (n,).

    >>> regression_scores(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))["MAE"]
    0.3333333333333333
    """
    return {"R²": r2(y, pred), "MAE": mae(y, pred), "RMSE": rmse(y, pred)}


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean of -log p[n, y[n]] for class indices y (n,) and probabilities (n, K).

    >>> round(log_loss(np.array([0, 1]), np.array([[0.5, 0.5], [0.2, 0.8]])), 4)
    0.4581
    """
    p = np.clip(proba[np.arange(len(y)), y], EPS, 1.0)
    return float(-np.mean(np.log(p)))


def classification_scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy and log loss for class indices y (n,) and class probabilities (n, K).

    >>> classification_scores(np.array([0, 1]), np.array([[0.9, 0.1], [0.6, 0.4]]))["accuracy"]
    0.5
    """
    return {"accuracy": accuracy(y, proba.argmax(axis=1)), "log loss": log_loss(y, proba)}


@dataclass
class SplitScores:
    """The scores on one part of the data ("train", "validation" or "test")."""

    split: str
    n_rows: int
    model: dict[str, float]
    baseline: dict[str, float]


def score_split(split: str, task: str, y: np.ndarray, y_train: np.ndarray,
                pred: np.ndarray, n_classes: int = 0) -> SplitScores:
    """Scores of the model and of the baseline on one split.

    Regression: y (n,) targets and pred (n,) predictions, both in the target's units.
    Classification: y (n,) class indices and pred (n, K) probabilities. `y_train` is what
    the baseline learns from (the training targets).

    >>> s = score_split("test", "regression", np.array([1.0, 3.0]), np.array([2.0, 2.0]),
    ...                 np.array([1.0, 3.0]))
    >>> s.model["R²"], s.baseline["R²"]
    (1.0, 0.0)
    """
    if task == "regression":
        baseline = np.full(len(y), float(np.mean(y_train)))
        return SplitScores(split, len(y), regression_scores(y, pred),
                           regression_scores(y, baseline))
    prior = np.bincount(y_train, minlength=n_classes) / len(y_train)
    baseline = np.tile(prior, (len(y), 1))
    return SplitScores(split, len(y), classification_scores(y, pred),
                       classification_scores(y, baseline))
