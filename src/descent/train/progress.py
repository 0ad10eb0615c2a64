"""Progress display: a live bar on a terminal, one line per epoch in a log, or nothing."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from descent.train.callbacks import Callback


def _format(logs: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in logs.items())


class ProgressLog(Callback):
    """One line per epoch: `epoch 3/20  loss 0.1234  val_loss 0.2345  (0.41 s)`."""

    def __init__(self, epochs: int, stream: TextIO | None = None) -> None:
        self.epochs = epochs
        self.stream = stream or sys.stdout
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, float]) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        seconds = time.perf_counter() - self._start
        print(f"epoch {epoch + 1}/{self.epochs}  {_format(logs)}  ({seconds:.2f} s)",
              file=self.stream, flush=True)

    def on_train_end(self, logs: dict[str, float]) -> None:
        if self.run.history.interrupted:
            print("interrupted: stopped after the current batch; history kept",
                  file=self.stream, flush=True)


class ProgressBar(Callback):
    """A rich progress bar over all batches of all epochs, showing the latest logs."""

    def __init__(self, epochs: int, batches_per_epoch: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.epochs, self.batches = epochs, batches_per_epoch
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), TextColumn("{task.fields[logs]}"), transient=False,
        )
        self.task: Any = None

    def on_train_begin(self, logs: dict[str, float]) -> None:
        self.progress.start()
        self.task = self.progress.add_task("fit", total=self.epochs * self.batches,
                                           epoch=f"1/{self.epochs}", logs="")

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        self.progress.advance(self.task)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.progress.update(self.task, completed=(epoch + 1) * self.batches,
                             epoch=f"{epoch + 1}/{self.epochs}", logs=_format(logs))

    def on_train_end(self, logs: dict[str, float]) -> None:
        self.progress.stop()
        if self.run.history.interrupted:
            self.progress.console.print("interrupted: stopped after the current batch")


def progress_callback(epochs: int, batches_per_epoch: int, verbose: bool | int) -> Callback | None:
    """The right display for where output goes: bar on a terminal, lines otherwise."""
    if not verbose:
        return None
    if sys.stdout.isatty():
        try:
            return ProgressBar(epochs, batches_per_epoch)
        except ImportError:  # rich is an optional extra
            pass
    return ProgressLog(epochs)
