"""`save` and `load`: a trained network and its preprocessing in one safetensors file.

The weights are safetensors tensors; the architecture (`Module.config()`) and any
preprocessing (the CSV encoder, the scalers) are JSON metadata in the same file. Loading
checks the architecture against the tensors before building anything and never runs code
from the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.errors import ModelFileError
from descent.io.model_file import read_model_file, write_model_file
from descent.nn import Module, from_config, parameter_shapes


@dataclass
class SavedModel:
    """What `load_model` returns: the model, its preprocessing and any extra metadata."""

    model: Module
    preprocessing: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def save(model: Module, path: str | os.PathLike, *, preprocessing: dict[str, Any] | None = None,
         extra: dict[str, Any] | None = None) -> None:
    """Save `model` (weights + architecture) and optional JSON-safe preprocessing to `path`.

    The write is atomic: an interrupted save leaves any previous file intact.

    >>> import descent as ds, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
    >>> ds.save(ds.nn.MLP([2, 3, 1], seed=0), path)
    >>> ds.load(path).sizes
    [2, 3, 1]

    A fitted scikit-learn estimator from `descent.sklearn` saves itself (`est.save(path)`,
    read back with `NeuralNetRegressor.load(path)` / `NeuralNetClassifier.load(path)`).
    """
    if not isinstance(model, Module):
        if callable(getattr(model, "save", None)) and hasattr(model, "get_params"):
            if preprocessing is not None or extra is not None:
                raise TypeError("an estimator stores its own preprocessing; call "
                                "est.save(path) without preprocessing or extra")
            model.save(path)  # the estimator's own format: weights, scalers, parameters
            return
        raise TypeError(f"descent.save takes a network (a descent.nn.Module) or a fitted "
                        f"descent.sklearn estimator, got {type(model).__name__}; a model "
                        f"trained on a table saves with model.save(path)")
    metadata = {"architecture": model.config(), "preprocessing": preprocessing,
                "extra": extra or {}}
    write_model_file(path, model.state_dict(), metadata, kind="model")


def load_model(path: str | os.PathLike) -> SavedModel:
    """Load a model file (or the weights of a checkpoint) with its preprocessing.

    Raises ModelFileError naming the path and the reason when the file is malformed, or
    its architecture does not match its tensors.
    """
    tensors, meta = read_model_file(path)
    source = os.fspath(path)
    arch = meta.get("architecture")
    if "epochs_done" in meta:  # a checkpoint: weights are stored under "model."
        tensors = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    if arch is None:
        raise ModelFileError(f"{source}: the file has no architecture metadata")
    try:
        expected = parameter_shapes(arch)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{source}: bad architecture: {error}") from None
    except RecursionError:
        raise ModelFileError(f"{source}: bad architecture: nested too deeply") from None
    got = {k: tuple(v.shape) for k, v in tensors.items()}
    if got != expected:
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        wrong = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
        raise ModelFileError(
            f"{source}: the architecture does not match the tensors (missing "
            f"{missing or 'none'}, unexpected {extra or 'none'}, wrong shape {wrong or 'none'})")
    for name, array in tensors.items():
        if array.dtype not in (np.float32, np.float64):
            raise ModelFileError(f"{source}: tensor {name} has dtype {array.dtype}; "
                                 f"weights must be float32 or float64")
    try:
        model = from_config(arch)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{source}: bad architecture: {error}") from None
    for name, array in model.state_arrays().items():  # parameters and buffers
        if tensors[name].dtype != array.dtype:
            raise ModelFileError(f"{source}: tensor {name} is {tensors[name].dtype} but the "
                                 f"architecture says {array.dtype}")
    model.load_state_dict(tensors)
    model.eval()
    preprocessing = meta.get("preprocessing")
    if preprocessing is not None and not isinstance(preprocessing, dict):
        raise ModelFileError(f"{source}: preprocessing metadata must be an object")
    extra = meta.get("extra") or {}
    if not isinstance(extra, dict):
        raise ModelFileError(f"{source}: extra metadata must be an object")
    return SavedModel(model, preprocessing, extra)


def load(path: str | os.PathLike) -> Module:
    """Load the model saved at `path` (see `save`); `load_model` also gives preprocessing."""
    return load_model(path).model
