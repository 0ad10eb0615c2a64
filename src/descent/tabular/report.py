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
    """Accuracy, balanced accuracy, macro F1, log loss, and ROC AUC for two classes, for
    class indices y (n,) and class probabilities (n, K).

    Balanced accuracy is the mean recall over the classes present in y: a model that always
    says "majority" scores 1/K however rare the other classes are.

    >>> s = classification_scores(np.array([0, 1]), np.array([[0.9, 0.1], [0.6, 0.4]]))
    >>> s["accuracy"], s["balanced accuracy"], s["ROC AUC"]
    (0.5, 0.5, 1.0)
    """
    pred = proba.argmax(axis=1)
    per_class = per_class_scores(y, pred, proba.shape[1])
    present = [c for c in per_class if c["support"] > 0]
    scores = {"accuracy": accuracy(y, pred),
              "balanced accuracy": float(np.mean([c["recall"] for c in present])),
              "macro F1": float(np.mean([c["F1"] for c in present]))}
    if proba.shape[1] == 2:
        scores["ROC AUC"] = roc_auc(y, proba[:, 1])
    scores["log loss"] = log_loss(y, proba)
    return scores


def per_class_scores(y: np.ndarray, pred: np.ndarray, n_classes: int) -> list[dict[str, float]]:
    """Precision, recall, F1 and support of each class, for class indices y and pred (n,).

    A class never predicted has precision 0 (and so F1 0), as scikit-learn reports it with
    zero_division=0.

    >>> per_class_scores(np.array([0, 0, 1]), np.array([0, 1, 1]), 2)[1]["precision"]
    0.5
    """
    out = []
    for k in range(n_classes):
        tp = float(np.sum((pred == k) & (y == k)))
        predicted, actual = float(np.sum(pred == k)), float(np.sum(y == k))
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out.append({"precision": precision, "recall": recall, "F1": f1, "support": actual})
    return out


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve for labels y in {0, 1} (n,) and scores (n,): the chance that
    a random positive scores above a random negative (ties count half). NaN with one class.

    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(y)
    n_pos, n_neg = int(np.sum(y == 1)), int(np.sum(y == 0))
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = np.asarray(score)[order]
    # average ranks over ties (1-based), so tied pairs count one half
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass
class SplitScores:
    """The scores on one part of the data ("train", "validation" or "test")."""

    split: str
    n_rows: int
    model: dict[str, float]
    baseline: dict[str, float]
    linear: dict[str, float] | None = None


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
