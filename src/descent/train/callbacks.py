"""Callbacks: no-op hooks that `fit` calls around training, epochs and batches (as Keras).

A callback sees the running fit through `self.run` (model, optimizer, history, epoch and
a `stop_training` flag it may set). Subclass `Callback` and override only what you need.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from descent.optim.schedules import ReduceLROnPlateau as _PlateauSchedule

if TYPE_CHECKING:
    from descent.train.fit import TrainingRun


class Callback:
    """Base class: every hook does nothing."""

    run: TrainingRun

    def on_train_begin(self, logs: dict[str, float]) -> None: ...
    def on_train_end(self, logs: dict[str, float]) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict[str, float]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...
    def on_batch_begin(self, batch: int, logs: dict[str, float]) -> None: ...
    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None: ...

    def state(self) -> dict[str, Any]:
        """JSON-safe state to carry across a checkpoint/resume (override if stateful)."""
        return {}

    def load_state(self, state: dict[str, Any]) -> None: ...


def _better(mode: str, value: float, best: float, min_delta: float) -> bool:
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta


def _mode(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(k in monitor for k in ("accuracy", "r2")) else "min"


def _monitored(logs: dict[str, float], monitor: str, who: str) -> float:
    if monitor not in logs:
        hint = (" (it needs validation data: pass validation_split or validation_data)"
                if monitor.startswith("val_") else "")
        raise ValueError(f"{who} monitors {monitor!r}, which fit does not log{hint}; "
                         f"logged: {', '.join(logs)}")
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs.

    With `restore_best_weights` (the default, as scikit-learn's MLP does) the model ends
    with the weights of its best epoch, not its last.

    >>> import descent as ds
    >>> stop = ds.train.EarlyStopping(monitor="val_loss", patience=5)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping patience must be an integer >= 0, got {patience!r}")
        if not math.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"EarlyStopping min_delta must be >= 0, got {min_delta!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.mode = _mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_weights: dict[str, np.ndarray] | None = None
        self.wait = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.run.model.state_dict()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.run.stop_training = True
            self.run.history.stopped_early = True

    def on_train_end(self, logs: dict[str, float]) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.run.model.load_state_dict(self.best_weights)
            self.run.history.best_epoch = self.best_epoch

    def state(self) -> dict[str, Any]:
        return {"best": self.best if math.isfinite(self.best) else None,
                "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state(self, state: dict[str, Any]) -> None:
        # Checked here, on load: a checkpoint may come from anywhere.
        best, best_epoch, wait = state.get("best"), state.get("best_epoch"), state.get("wait", 0)
        if best is not None and (isinstance(best, bool) or not isinstance(best, int | float)
                                 or not math.isfinite(float(best)) or abs(best) > 1e308):
            raise ValueError(f"EarlyStopping: best must be a finite number, got {best!r}")
        for name, value in (("best_epoch", best_epoch), ("wait", wait)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 0 <= value <= 2**53):
                raise ValueError(f"EarlyStopping: {name} must be a whole number >= 0, got "
                                 f"{value!r}")
        self.best = (math.inf if self.mode == "min" else -math.inf) if best is None \
            else float(best)
        self.best_epoch, self.wait = best_epoch, int(wait or 0)


class ReduceLROnPlateau(Callback):
    """Divide the learning rate by 1/`factor` when `monitor` stalls for `patience` epochs."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 mode: str = "auto") -> None:
        self.monitor = monitor
        self.options = dict(mode=_mode(monitor, mode), factor=factor, patience=patience,
                            threshold=min_delta, cooldown=cooldown, min_lr=min_lr)
        self.schedule: _PlateauSchedule | None = None
        self._pending: dict[str, Any] | None = None

    def on_train_begin(self, logs: dict[str, float]) -> None:
        self.schedule = _PlateauSchedule(self.run.optimizer, **self.options)
        if self._pending is not None:
            self.schedule.load_state_dict(self._pending)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        assert self.schedule is not None
        self.schedule.step(_monitored(logs, self.monitor, "ReduceLROnPlateau"))

    def state(self) -> dict[str, Any]:
        return self.schedule.state_dict() if self.schedule is not None else {}

    def load_state(self, state: dict[str, Any]) -> None:
        self._pending = state or None


class LearningRateSchedule(Callback):
    """Step a schedule from `descent.optim` (StepLR, CosineAnnealingLR, ...) once per epoch.

    Pass a function `optimizer -> schedule`, since the optimizer is made inside fit:

    >>> import descent as ds
    >>> cb = ds.train.LearningRateSchedule(lambda opt: ds.optim.StepLR(opt, step_size=10))
    """

    def __init__(self, make_schedule: Any) -> None:
        self.make_schedule = make_schedule
        self.schedule: Any = None
        self._pending: dict[str, Any] | None = None

    def on_train_begin(self, logs: dict[str, float]) -> None:
        self.schedule = self.make_schedule(self.run.optimizer)
        if self._pending is not None:
            self.schedule.load_state_dict(self._pending)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.schedule.step()

    def state(self) -> dict[str, Any]:
        return self.schedule.state_dict() if self.schedule is not None else {}

    def load_state(self, state: dict[str, Any]) -> None:
        self._pending = state or None


class ModelCheckpoint(Callback):
    """Save a resumable checkpoint (weights, optimizer state, epoch, RNG) after each epoch.

    With `save_best_only`, only when `monitor` improves. The write is atomic, so a crash
    mid-save leaves the previous checkpoint intact; resume with `fit(..., resume=path)`.
    """

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss",
                 save_best_only: bool = False, mode: str = "auto") -> None:
        self.path = os.fspath(path)
        self.monitor, self.save_best_only = monitor, save_best_only
        self.mode = _mode(monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.saved_epochs: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not _better(self.mode, value, self.best, 0.0):
                return
            self.best = value
        self.run.save_checkpoint(self.path)
        self.saved_epochs.append(epoch)


class CallbackList(Callback):
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks: list[Callback], run: TrainingRun) -> None:
        self.callbacks = callbacks
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback objects, got {type(cb).__name__}")
            cb.run = run

    def on_train_begin(self, logs):
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs):
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_batch_begin(self, batch, logs):
        for cb in self.callbacks:
            cb.on_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs):
        for cb in self.callbacks:
            cb.on_batch_end(batch, logs)
