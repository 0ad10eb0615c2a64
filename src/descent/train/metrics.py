"""Metrics on NumPy arrays: accuracy, R², MAE, RMSE, the confusion matrix, precision, recall.

Each takes `(y_true, y_pred)` with matching lengths; `y_pred` for accuracy is class labels
(use `decide` to turn raw network outputs into labels first).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.size != p.size:
        raise ValueError(f"metric: {t.size} targets but {p.size} predictions")
    return t.reshape(-1), p.reshape(-1)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of labels predicted exactly.

    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p)) if t.size else float("nan")


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res/SS_tot (1 is perfect, 0 is the mean predictor).

    Multi-output targets are averaged uniformly over outputs, as scikit-learn does.

    >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    """
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64).reshape(t.shape) if np.size(y_pred) == t.size \
        else np.asarray(y_pred, dtype=np.float64)
    if t.ndim == 1:
        t, p = t[:, None], p[:, None]
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
    return float(scores.mean())


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error (in the target's units)."""
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """counts[i, j]: examples of true class i predicted as class j, int64 (K, K).

    >>> confusion_matrix([0, 1, 1, 1], [0, 1, 0, 1], 2).tolist()
    [[1, 0], [1, 2]]
    """
    t = np.asarray(y_true, dtype=np.int64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if t.size != p.size:
        raise ValueError(f"metric: {t.size} targets but {p.size} predictions")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes)


def precision_recall(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class (precision, recall) from a confusion matrix (rows true, columns predicted).

    Precision of class k: of the examples predicted k, the share that are k; recall: of
    the examples that are k, the share predicted k. NaN where nothing was predicted k (or
    nothing is k), as neither share exists.

    >>> precision, recall = precision_recall(np.array([[1, 0], [1, 2]]))
    >>> precision.tolist(), recall.round(3).tolist()
    ([0.5, 1.0], [1.0, 0.667])
    """
    counts = np.asarray(counts, dtype=np.float64)
    hits = np.diag(counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(counts.sum(axis=0) > 0, hits / counts.sum(axis=0), np.nan)
        recall = np.where(counts.sum(axis=1) > 0, hits / counts.sum(axis=1), np.nan)
    return precision, recall


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy, "r2": r2, "mae": mae, "rmse": rmse,
}

# Metrics that compare class labels rather than raw outputs.
LABEL_METRICS = {"accuracy"}


def get_metric(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    key = str(name).lower()
    if key not in METRICS:
        raise ValueError(f"unknown metric {name!r}; choose from: {', '.join(METRICS)}")
    return METRICS[key]


def decide(outputs: np.ndarray, loss_name: str) -> np.ndarray:
    """Class labels from raw network outputs, knowing which loss trained them.

    (N, K) outputs: argmax. (N, 1) outputs: logit > 0 for the with-logits loss,
    probability > 0.5 otherwise.
    """
    out = np.asarray(outputs)
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    threshold = 0.0 if loss_name == "binary_cross_entropy_with_logits" else 0.5
    return (out.reshape(-1) > threshold).astype(np.int64)
