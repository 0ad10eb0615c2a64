"""A crafted checkpoint never escapes as anything but ModelFileError from `fit(resume=...)`.

Every field of a real checkpoint's metadata, at every depth, is replaced by each of a set of
hostile values (wrong types, huge and non-finite numbers, empty containers), and every
tensor is dropped, retyped, reshaped or filled with NaN. Resuming from each must either
train (the value was harmless) or raise ModelFileError naming the file; a learning rate that
is valid but absurd may end in DivergenceError, which names the epoch and the rate.
(Model files get the same treatment in tests/io/test_fuzz.py.)
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import descent as ds
from descent.errors import DivergenceError, ModelFileError
from descent.io import encode_model_file, read_model_file
from tests.metadata_paths import leaf_paths, replaced

HOSTILE: list[Any] = [None, -1, 2**64, 10**400, 1e308, float("nan"), float("inf"), "x", [],
                      {}, True, [1, 2], {"a": 1}, 1.5]

X = np.random.default_rng(0).normal(size=(40, 3))
Y = X.sum(axis=1)


def _callbacks() -> list:
    return [ds.train.EarlyStopping(patience=3), ds.train.ReduceLROnPlateau(patience=2)]


def _fit(resume: str | None, checkpoint: Path | None = None) -> None:
    extra = [] if checkpoint is None else [ds.train.ModelCheckpoint(checkpoint)]
    net = ds.nn.Sequential(ds.nn.Linear(3, 4, seed=0), ds.nn.ReLU(), ds.nn.Dropout(0.2, seed=0),
                           ds.nn.Linear(4, 1, seed=1))  # a Dropout: its RNG state is saved
    ds.fit(net, X, Y, optimizer="adam", epochs=4, batch_size=8,
           validation_split=0.25, callbacks=_callbacks() + extra, seed=0, verbose=False,
           resume=resume)


def _crafted(tensors: dict, meta: dict) -> Iterator[tuple[str, dict, dict]]:
    for path in leaf_paths(meta, 3):
        for value in HOSTILE:
            yield f"{path} = {value!r:.30}", tensors, replaced(meta, path, value)
    for name, array in tensors.items():
        yield f"no {name}", {k: v for k, v in tensors.items() if k != name}, meta
        for label, changed in (("float32", array.astype(np.float32)),
                               ("int64", array.astype(np.int64)),
                               ("reshaped", np.zeros((7,) * max(array.ndim, 1))),
                               ("NaN", np.full_like(array, np.nan))):
            yield f"{name} {label}", {**tensors, name: changed}, meta
    yield "an extra tensor", {**tensors, "optimizer.extra": np.zeros(3)}, meta


@pytest.mark.slow
def test_crafted_checkpoints_raise_model_file_error(tmp_path):
    real = tmp_path / "real.safetensors"
    _fit(None, checkpoint=real)
    tensors, meta = read_model_file(real, kind="checkpoint")
    escaped: dict[str, str] = {}
    tried = 0
    crafted = tmp_path / "crafted.safetensors"
    for label, t, m in _crafted(tensors, meta):
        try:
            blob = encode_model_file(t, m, kind="checkpoint")
        except (TypeError, ValueError):
            continue  # not even writable as a model file
        crafted.write_bytes(blob)
        tried += 1
        try:
            _fit(str(crafted))
        except ModelFileError as error:
            assert str(crafted) in str(error)
        except DivergenceError:
            assert "lr" in label, label
        except Exception:  # noqa: BLE001 - the point: nothing else may escape
            escaped.setdefault(label, traceback.format_exc().splitlines()[-1])
    assert tried > 1000
    assert not escaped, escaped


def test_a_checkpoint_with_a_huge_step_count_is_refused(tmp_path):
    """One of the fuzzer's finds, kept as a fast regression test: Adam's step count 10**19
    passed the load and overflowed in the first step."""
    real = tmp_path / "real.safetensors"
    _fit(None, checkpoint=real)
    tensors, meta = read_model_file(real, kind="checkpoint")
    for path, value in (((("optimizer", "steps", 0)), 10**19), (("seed_entropy",), "-5"),
                        (("callbacks", 0, "state", "best"), "x"),
                        (("epochs_done",), float("inf")),
                        (("dropout_rngs", "2", "state", "state"), -1),
                        (("dropout_rngs", "2", "bit_generator"), "MT19937"),
                        (("dropout_rngs", "2"), [])):
        crafted = tmp_path / "crafted.safetensors"
        crafted.write_bytes(encode_model_file(tensors, replaced(meta, path, value),
                                              kind="checkpoint"))
        with pytest.raises(ModelFileError, match="crafted.safetensors"):
            _fit(str(crafted))
