"""kill -9 at random moments while a model file is being saved: the file is always whole.

A child process saves a few-MB model file over and over, each version with its own number;
the test kills it with SIGKILL at a random moment, then loads the file. It must load, and
be exactly one of the complete versions. On Linux the file being written is anonymous
(O_TMPFILE), so a kill mid-write leaves nothing; a stray temporary file (elsewhere, or a
kill in the instant between naming the finished file and renaming it) must be
recognisable and invisible to ``*.safetensors``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import descent.io
from descent.io import TEMP_PREFIX, read_model_file, write_model_file

REPETITIONS = 20
MAX_REPETITIONS = 60  # more only if, by chance, none of the first 20 kills hit mid-write
SHAPE = (768, 1024)  # float32: 3 MiB per version

CHILD = """
import sys
import numpy as np
from descent.io import write_model_file

def version(v):
    return {"w": np.full(%(shape)r, v, np.float32), "v": np.array([v] * 7, np.int64)}

path, v = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
while True:
    write_model_file(path, version(v), {"version": v})
    print("saved", v, flush=True)
    v += 1
"""


def version(v: int) -> dict[str, np.ndarray]:
    return {"w": np.full(SHAPE, v, np.float32), "v": np.array([v] * 7, np.int64)}


@pytest.mark.slow
def test_kill_9_during_save_never_leaves_a_broken_file(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    write_model_file(target, version(0), {"version": 0})
    env = {**os.environ, "PYTHONPATH": _pythonpath()}
    rng = random.Random(20240607)
    seen_versions = {0}
    kills_mid_write = 0
    rep = 0
    while rep < REPETITIONS or (kills_mid_write == 0 and rep < MAX_REPETITIONS):
        rep += 1
        first = rep * 1_000_000
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD % {"shape": SHAPE}, str(target), str(first)],
            stdout=subprocess.PIPE, env=env,
        )
        try:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
            started = time.perf_counter()
            assert child.stdout.readline() == f"saved {first}\n".encode()
            # Kill at a random point of a save cycle, timed on this machine, so the spread
            # of kill points does not depend on how fast or busy the machine is.
            cycle = time.perf_counter() - started
            time.sleep(rng.uniform(0.0, 1.5 * cycle))
            writing = _writing_anonymous(child.pid)
            child.kill()  # SIGKILL on POSIX: no handler, no clean-up, no flush
        finally:
            child.kill()
            child.wait(timeout=60)
            if child.stdout is not None:
                child.stdout.close()
        assert child.returncode == -getattr(signal, "SIGKILL", -child.returncode)

        tensors, meta = read_model_file(target)
        v = meta["version"]
        assert first <= v < first + 1_000_000, v  # this child's, and a complete one
        assert tensors["w"].shape == SHAPE
        np.testing.assert_array_equal(tensors["w"], version(v)["w"])
        np.testing.assert_array_equal(tensors["v"], version(v)["v"])
        seen_versions.add(v)

        strays = [p.name for p in tmp_path.iterdir() if p != target]
        assert all(name.startswith(TEMP_PREFIX) for name in strays), strays
        assert sorted(tmp_path.glob("*.safetensors")) == [target]
        kills_mid_write += bool(strays) or writing
        for name in strays:
            (tmp_path / name).unlink()
    print(f"{rep} kills: {kills_mid_write} mid-write, {len(seen_versions)} versions seen")
    # The test proves something only if some kills landed between creating the temporary
    # file and renaming it (a third to a half do, depending on the machine).
    assert kills_mid_write > 0


HALF_WRITE_CHILD = """
import sys, time
from descent.io import atomic_write

def write(f):
    f.write(b"N" * 1_000_000)
    f.flush()
    print("half", flush=True)
    time.sleep(60)
    f.write(b"N" * 1_000_000)

atomic_write(sys.argv[1], write)
"""


def test_kill_9_exactly_mid_write_leaves_the_old_file_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    write_model_file(target, version(5), {"version": 5})
    before = target.read_bytes()
    env = {**os.environ, "PYTHONPATH": _pythonpath()}
    child = subprocess.Popen([sys.executable, "-c", HALF_WRITE_CHILD, str(target)],
                             stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"half\n"
        strays = [p for p in tmp_path.iterdir() if p != target]
        assert _writing_anonymous(child.pid)
        child.kill()
    finally:
        child.kill()
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()
    assert strays == []  # the half-written version has no name, so nothing is left of it
    assert sorted(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == before
    assert read_model_file(target)[1] == {"version": 5}
    assert sorted(tmp_path.glob("*.safetensors")) == [target]


def _writing_anonymous(pid: int) -> bool:
    """Whether process `pid` holds an open O_TMPFILE file (Linux shows it as deleted)."""
    folder = Path(f"/proc/{pid}/fd")
    try:
        links = [os.readlink(fd) for fd in folder.iterdir()]
    except OSError:
        return False
    return any(link.endswith("(deleted)") for link in links)


def _pythonpath() -> str:
    src = str(Path(descent.io.__file__).resolve().parents[2])  # .../src/descent/io/__init__.py
    return os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)
