"""Checkpoints: everything a fit needs to continue exactly where it stopped.

Weights, optimizer state arrays, the epoch, the shuffling RNG state, each Dropout layer's
RNG state (the masks it would draw next), the seed, the history and the callbacks' state
go into one safetensors file (arrays) with JSON metadata (everything else), written
atomically. Resuming from it continues bit-identically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from descent.errors import ModelFileError
from descent.io import read_model_file, read_model_info, write_model_file
from descent.train.history import History

if TYPE_CHECKING:
    from descent.train.callbacks import Callback
    from descent.train.fit import TrainingRun


def save_checkpoint(path: str, run: TrainingRun) -> None:
    """Write `run`'s complete state to `path` (atomic: a crash keeps the old file)."""
    tensors = {f"model.{k}": v for k, v in run.model.state_dict().items()}
    tensors.update({f"optimizer.{k}": v for k, v in run.optimizer.state_arrays().items()})
    config = None
    try:
        config = run.model.config()
    except NotImplementedError:
        pass
    metadata = {
        "epochs_done": run.epoch + 1,
        "architecture": config,
        "optimizer": run.optimizer.state_scalars(),
        "rng": run.rng.bit_generator.state,
        "dropout_rngs": {name: m.rng.bit_generator.state for name, m in _dropouts(run.model)},
        "seed_entropy": str(run.seed_entropy),
        "history": run.history.to_dict(),
        "callbacks": [{"type": type(cb).__name__, "state": cb.state()} for cb in run.callbacks],
    }
    write_model_file(path, tensors, metadata, kind="checkpoint")


def load_checkpoint(path: str, run: TrainingRun, callbacks: list[Callback]) -> int:
    """Restore `run` (and the callbacks' state) from `path`; returns the first epoch to run."""
    tensors, meta = read_model_file(path, kind="checkpoint")
    for name, array in tensors.items():  # fit saves only finite states: this one is damaged
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ModelFileError(f"{path}: checkpoint tensor {name} holds NaN or infinity")
    epochs_done = _whole(meta.get("epochs_done"), path, "epochs_done")
    _whole(meta.get("seed_entropy"), path, "seed_entropy", text=True)
    try:
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        optim_arrays = {k[10:]: v for k, v in tensors.items() if k.startswith("optimizer.")}
        run.model.load_state_dict(model_state)
        run.optimizer.load_state_dict({"arrays": optim_arrays, "scalars": meta["optimizer"]})
        run.rng.bit_generator.state = meta["rng"]
        saved_rngs = meta.get("dropout_rngs", {})  # (none in checkpoints written before)
        for name, m in _dropouts(run.model):
            if name in saved_rngs:
                m.rng.bit_generator.state = saved_rngs[name]
        run.seed_entropy = int(meta["seed_entropy"])
        run.history.__dict__.update(History.from_dict(meta["history"]).__dict__)
        saved = [c for c in meta["callbacks"] if isinstance(c, dict)]
        for cb in callbacks:
            match = next((c for c in saved if c.get("type") == type(cb).__name__), None)
            if match is not None:
                saved.remove(match)
                cb.load_state(match.get("state") or {})
    except RESTORE_ERRORS as error:
        raise ModelFileError(f"{path}: checkpoint does not fit this run: {error}") from None
    return epochs_done


def _dropouts(model: Any) -> list[tuple[str, Any]]:
    """The model's Dropout layers by name (their generators advance with every mask)."""
    from descent.nn import Dropout

    return [(name, m) for name, m in model.named_modules() if isinstance(m, Dropout)]


#: What restoring a crafted state can raise anywhere below (int(1e400) is an
#: OverflowError, a list where a dict belongs an AttributeError): all mean a bad file.
RESTORE_ERRORS = (KeyError, TypeError, ValueError, OverflowError, AttributeError, IndexError,
                  RecursionError)

# SeedSequence takes entropy below 2**128 in practice; a bigger one is not descent's.
_MAX_SEED = 2**128


def _whole(value: Any, path: str, name: str, text: bool = False) -> int:
    """A checkpoint's whole-number field (a decimal string when `text`), checked."""
    if text and isinstance(value, str) and value.isdigit() and len(value) <= 40:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_SEED:
        raise ModelFileError(f"{path}: checkpoint field {name} must be a whole number >= 0, "
                             f"got {str(value)[:40]!r}")
    return value


def checkpoint_seed(path: str) -> int:
    """The seed entropy a checkpointed run used (its validation split depends on it)."""
    meta = read_model_info(path).metadata
    return _whole(meta.get("seed_entropy"), path, "seed_entropy", text=True)
