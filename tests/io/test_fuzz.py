"""A short fuzz run in the suite: mutated model files load or raise ModelFileError, nothing else.

The mutation engine is bench/fuzz_model_files.py's (the long run uses it too); hypothesis
drives it through a seeded Random so failures shrink and replay.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descent.errors import ModelFileError
from descent.io import decode_model_file

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_model_files.py"


@cache
def fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_model_files", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@cache
def seeds() -> list[bytes]:
    return fuzz().seed_files()


def test_seed_files_are_valid() -> None:
    for blob in seeds():
        assert fuzz().check_one(blob) is True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 3), rng=st.randoms(use_true_random=False))
def test_mutated_files_load_or_raise_model_file_error(index: int, rng: random.Random) -> None:
    data = fuzz().mutate(seeds()[index], rng)
    try:
        tensors, metadata = decode_model_file(data)
    except ModelFileError as exc:
        assert str(exc)  # a reason, never an empty message
        return
    assert isinstance(metadata, dict)
    assert all(array.flags.writeable for array in tensors.values())


@pytest.mark.parametrize("mutator", [m.__name__ for m in fuzz().MUTATORS])
def test_every_mutator_changes_its_input(mutator: str) -> None:
    mutate = getattr(fuzz(), mutator)
    rng = random.Random(1)
    changed = sum(mutate(blob, rng) != blob for blob in seeds() for _ in range(10))
    assert changed > 0


def test_the_engine_reaches_the_deep_checks() -> None:
    # A mutation engine that only ever broke the length field would pass the test above
    # without testing much: make sure refusals come from many different rules.
    rng = random.Random(0)
    reasons = set()
    loaded = 0
    for _ in range(3000):
        try:
            decode_model_file(fuzz().mutate(rng.choice(seeds()), rng))
            loaded += 1
        except ModelFileError as exc:
            reasons.add(str(exc).split(": ", 1)[1][:25])
    assert loaded > 0
    for needle in ("overlap", "written by a newer", "dtype", "shape", "data_offsets",
                   "not valid JSON", "not UTF-8", "truncated", "pickle", "zip"):
        assert any(needle in r for r in reasons) or _reached(needle, rng), needle


def _reached(needle: str, rng: random.Random) -> bool:
    for _ in range(20000):
        try:
            decode_model_file(fuzz().mutate(rng.choice(seeds()), rng))
        except ModelFileError as exc:
            if needle in str(exc):
                return True
    return False


def test_bench_script_counts_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert fuzz().main(["300", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "total 300" in out and "unexpected 0" in out


def test_bench_script_reports_unexpected_exceptions(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    def broken(data: bytes) -> bool:
        raise KeyError("a reader bug")

    monkeypatch.setattr(fuzz(), "check_one", broken)
    assert fuzz().main(["5"]) == 1
    out = capsys.readouterr().out
    assert "unexpected 5" in out and "KeyError: 'a reader bug'" in out
    assert out.count("Traceback") == 3
