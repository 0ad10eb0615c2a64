"""The scores `descent train` prints (descent.tabular.report), from sums that add up block
by block, so that a table larger than memory is scored without holding its predictions.

Regression keeps Σ(y - ŷ)², Σ|y - ŷ|, the same for the baseline c (the training mean), and
the moments of y (for R²'s total sum of squares); classification keeps the number of
correct labels and Σ -log p(y) for the model and the baseline (the training class shares).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from descent.distributed.table_stats import Moments
from descent.tabular.report import EPS, SplitScores


@dataclass
class ScoreSums:
    """Additive sums of one part's scores; `add` one block, `+` two sums."""

    task: str
    n: int = 0
    model: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
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
        for sums, p, label in ((self.model, pred[rows, y], pred.argmax(axis=1)),
                               (self.baseline, baseline[y], np.argmax(baseline))):
            sums["correct"] = sums.get("correct", 0.0) + float(np.sum(label == y))
            sums["nll"] = sums.get("nll", 0.0) - float(np.log(np.clip(p, EPS, 1.0)).sum())

    def __add__(self, other: ScoreSums) -> ScoreSums:
        def both(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            return {k: a.get(k, 0.0) + b.get(k, 0.0) for k in set(a) | set(b)}

        return ScoreSums(self.task, self.n + other.n, both(self.model, other.model),
                         both(self.baseline, other.baseline), self.y + other.y)

    def scores(self, split: str) -> SplitScores:
        """The part's SplitScores, as `descent.tabular.report.score_split` gives them."""
        return SplitScores(split, self.n, self._named(self.model), self._named(self.baseline))

    def _named(self, sums: dict[str, float]) -> dict[str, float]:
        n = self.n
        if self.task == "regression":
            ss_tot = self.y.m2
            ss_res = sums["se"]
            r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (0.0 if ss_res > 0 else 1.0)
            return {"R²": float(r2), "MAE": sums["ae"] / n, "RMSE": float(np.sqrt(ss_res / n))}
        return {"accuracy": sums["correct"] / n, "log loss": sums["nll"] / n}
