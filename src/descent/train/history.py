"""`History`: what happened in each epoch of `fit` (on by default, as in Keras)."""

from __future__ import annotations

from typing import Any

import numpy as np


class History:
    """Per-epoch logs: `history["loss"]`, `history["val_loss"]`, ... as lists.

    Also records why training ended: `stopped_early`, `interrupted` (Ctrl-C), and
    `best_epoch` when EarlyStopping restored weights; and `notes`, sentences on why the
    network may have learned little (saturated or dead layers, a vanishing gradient,
    predictions that ignore the inputs), added by `descent.explain.Diagnostics` and by
    the tabular recipe behind `descent train` and the estimators.

    >>> h = History()
    >>> h.record(0, {"loss": 0.5}); h.record(1, {"loss": 0.25})
    >>> h["loss"]
    [0.5, 0.25]
    """

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}
        self.stopped_early = False
        self.interrupted = False
        self.best_epoch: int | None = None
        self.notes: list[str] = []

    def record(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(int(epoch))
        for key, value in logs.items():
            self.history.setdefault(key, [float("nan")] * (len(self.epoch) - 1)).append(
                float(value))
        for values in self.history.values():  # keys missing this epoch get NaN
            if len(values) < len(self.epoch):
                values.append(float("nan"))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.history:
            raise KeyError(f"no {key!r} in history; recorded: {', '.join(self.history)}")
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def last(self) -> dict[str, float]:
        """The logs of the final epoch."""
        return {k: v[-1] for k, v in self.history.items()} if self.epoch else {}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe content (NaN as None) for checkpoints."""
        clean = {k: [None if not np.isfinite(x) else x for x in v]
                 for k, v in self.history.items()}
        return {"epoch": self.epoch, "history": clean, "stopped_early": self.stopped_early,
                "interrupted": self.interrupted, "best_epoch": self.best_epoch,
                "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        h = cls()
        try:
            h.epoch = [int(e) for e in data["epoch"]]
            h.history = {str(k): [float("nan") if x is None else float(x) for x in v]
                         for k, v in data["history"].items()}
            h.stopped_early = bool(data.get("stopped_early", False))
            h.interrupted = bool(data.get("interrupted", False))
            best = data.get("best_epoch")
            h.best_epoch = None if best is None else int(best)
            h.notes = [str(n) for n in data.get("notes", [])]
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
            raise ValueError(f"malformed history data: {error}") from None
        # A crafted file can hold lists of any length: every series has one entry per epoch.
        lengths = {len(h.epoch), *(len(v) for v in h.history.values())}
        if len(lengths) != 1:
            raise ValueError("malformed history data: the series and the epochs differ in "
                             "length")
        return h

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, keys={list(self.history)})"
