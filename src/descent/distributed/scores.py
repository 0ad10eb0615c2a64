"""The scores `descent train` prints (descent.tabular.report), from sums that add up block
by block, so that a table larger than memory is scored without holding its predictions.

Regression keeps Σ(y - ŷ)², Σ|y - ŷ|, the same for the baseline c (the training mean), and
the moments of y (for R²'s total sum of squares); classification keeps
the confusion matrix, Σ -log p(y) and (two classes) histograms of the positive class's
probability for ROC AUC, for the model and the baseline (the training class shares).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.distributed.table_stats import Moments
from descent.tabular.report import EPS, SplitScores

# ROC AUC (two classes) is counted in this many bins of the probability: exact unless two
# different probabilities fall within 1/AUC_BINS of each other, off by at most their share.
AUC_BINS = 1 << 16


@dataclass
class ScoreSums:
    """Additive sums of one part's scores; `add` one block, `+` two sums."""

    task: str
    n: int = 0
    model: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    y: Moments = field(default_factory=Moments)

    def add(self, y: np.ndarray, pred: np.ndarray, baseline: np.ndarray) -> None:
        """One block: y (n,) targets or class indices; pred (n,) predictions or (n, K)
        probabilities; baseline a scalar (regression) or (K,) class shares."""
        if len(y) == 0:
            return
        self.n += len(y)
        if self.task == "regression":
            self.y = self.y + Moments.of(np.asarray(y, np.float64))
            for sums, p in ((self.model, pred), (self.baseline, baseline)):
                e = y - p
                sums["se"] = sums.get("se", 0.0) + float(np.dot(e, e))
                sums["ae"] = sums.get("ae", 0.0) + float(np.abs(e).sum())
            return
        rows = np.arange(len(y))
        k = pred.shape[1]
        for sums, p, label, score in (
                (self.model, pred[rows, y], pred.argmax(axis=1), pred[:, -1]),
                (self.baseline, baseline[y], np.full(len(y), np.argmax(baseline)),
                 np.full(len(y), baseline[-1]))):
            confusion = np.zeros((k, k))
            np.add.at(confusion, (y, label), 1.0)
            sums["confusion"] = sums.get("confusion", 0.0) + confusion
            sums["nll"] = sums.get("nll", 0.0) - float(np.log(np.clip(p, EPS, 1.0)).sum())
            if k == 2:  # ROC AUC from histograms of the positive class's probability
                bins = np.minimum((score * AUC_BINS).astype(np.int64), AUC_BINS - 1)
                hist = np.zeros((2, AUC_BINS))
                np.add.at(hist, (y, bins), 1.0)
                sums["hist"] = sums.get("hist", 0.0) + hist

    def __add__(self, other: ScoreSums) -> ScoreSums:
        def both(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
            return {k: a.get(k, 0.0) + b.get(k, 0.0) for k in set(a) | set(b)}

        return ScoreSums(self.task, self.n + other.n, both(self.model, other.model),
                         both(self.baseline, other.baseline), self.y + other.y)

    def scores(self, split: str) -> SplitScores:
        """The part's SplitScores, as `descent.tabular.report.score_split` gives them."""
        return SplitScores(split, self.n, self._named(self.model), self._named(self.baseline))

    def _named(self, sums: dict[str, Any]) -> dict[str, float]:
        n = self.n
        if self.task == "regression":
            ss_tot = self.y.m2
            ss_res = sums["se"]
            r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (0.0 if ss_res > 0 else 1.0)
            return {"R²": float(r2), "MAE": sums["ae"] / n, "RMSE": float(np.sqrt(ss_res / n))}
        confusion = sums["confusion"]
        tp = np.diag(confusion)
        actual, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
        precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
        recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
        f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp),
                       where=precision + recall > 0)
        present = actual > 0
        scores = {"accuracy": float(tp.sum() / n),
                  "balanced accuracy": float(np.mean(recall[present])),
                  "macro F1": float(np.mean(f1[present]))}
        if "hist" in sums:
            scores["ROC AUC"] = _auc(sums["hist"])
        scores["log loss"] = sums["nll"] / n
        return scores


def _auc(hist: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties (same bin) counting half, from
    the (2, bins) counts of negatives and positives per score bin."""
    neg, pos = hist
    n_neg, n_pos = neg.sum(), pos.sum()
    if n_neg == 0 or n_pos == 0:
        return float("nan")
    below = np.cumsum(neg) - neg
    return float((pos * (below + neg / 2)).sum() / (n_pos * n_neg))
