"""Checkpoints: everything a fit needs to continue exactly where it stopped.

Weights, optimizer state arrays, the epoch, the shuffling RNG state, the seed, the history
and the callbacks' state go into one safetensors file (arrays) with JSON metadata
(everything else), written atomically. Resuming from it continues bit-identically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        "seed_entropy": str(run.seed_entropy),
        "history": run.history.to_dict(),
        "callbacks": [{"type": type(cb).__name__, "state": cb.state()} for cb in run.callbacks],
    }
    write_model_file(path, tensors, metadata, kind="checkpoint")


def load_checkpoint(path: str, run: TrainingRun, callbacks: list[Callback]) -> int:
    """Restore `run` (and the callbacks' state) from `path`; returns the first epoch to run."""
    tensors, meta = read_model_file(path, kind="checkpoint")
    try:
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        optim_arrays = {k[10:]: v for k, v in tensors.items() if k.startswith("optimizer.")}
        run.model.load_state_dict(model_state)
        run.optimizer.load_state_dict({"arrays": optim_arrays, "scalars": meta["optimizer"]})
        run.rng.bit_generator.state = meta["rng"]
        run.seed_entropy = int(meta["seed_entropy"])
        run.history.__dict__.update(History.from_dict(meta["history"]).__dict__)
        saved = [c for c in meta["callbacks"] if isinstance(c, dict)]
        for cb in callbacks:
            match = next((c for c in saved if c.get("type") == type(cb).__name__), None)
            if match is not None:
                saved.remove(match)
                cb.load_state(match.get("state") or {})
        epochs_done = int(meta["epochs_done"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: checkpoint does not fit this run: {error}") from None
    if epochs_done < 0:
        raise ModelFileError(f"{path}: checkpoint has a negative epoch count")
    return epochs_done


def checkpoint_seed(path: str) -> int:
    """The seed entropy a checkpointed run used (its validation split depends on it)."""
    meta = read_model_info(path).metadata
    try:
        return int(meta["seed_entropy"])
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"{path}: checkpoint lacks a valid seed_entropy") from None
