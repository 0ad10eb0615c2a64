#!/usr/bin/env python3
"""Set up descent in a local virtual environment and run it: the README's two commands.

    python3 dev.py train      # train on the embedded house-price data, print metrics
    python3 dev.py test       # the whole test suite (what CI runs)
    python3 dev.py bench      # the speed benchmark (installs the `bench` extra)
    python3 dev.py bench lenet  # the LeNet-5 picture benchmark (bench/lenet.py)
    python3 dev.py fuzz N     # the long fuzz run over model files

Needs only python3 (3.11+). The first run creates `.venv/` and installs descent with its
extras; later runs reinstall only when pyproject.toml changes, so every command is
idempotent. Extra arguments are passed through to the tool that runs.

`test` also needs a browser for the playground's tests: headless Chromium and its driver.
When they are missing, it installs Debian's `chromium` and `chromium-driver` if it runs as
root (apt-get), and otherwise says what to install; those tests fail without them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".descent-installed"


def _ensure_env(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under any python3
        sys.exit(f"descent needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"dev.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    # Reinstall when pyproject.toml or the wanted extras change, never otherwise.
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    have = STAMP.read_text().split() if STAMP.exists() else []
    if want in have:
        return
    print(f"dev.py: installing descent[{extras}] into {VENV} (first run only)", flush=True)
    subprocess.run(
        [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", f"{ROOT}[{extras}]"],
        check=True,
    )
    STAMP.write_text(" ".join([*have, want]))


BROWSER_PACKAGES = ["chromium", "chromium-driver"]


def _have_browser() -> bool:
    return bool(shutil.which("chromedriver")) and any(
        shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))


def _ensure_browser() -> None:
    """Headless Chromium + chromedriver for the playground's browser tests."""
    if _have_browser():
        return
    install = ["apt-get", "install", "-y", "--no-install-recommends", *BROWSER_PACKAGES]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"dev.py: installing {' '.join(BROWSER_PACKAGES)} for the browser tests", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=False, env=env)
        subprocess.run(install, check=False, env=env)
    if not _have_browser():
        print("dev.py: the playground's browser tests need Chromium and chromedriver, which are "
              "missing; they will FAIL.\n  Debian/Ubuntu: sudo apt-get update && sudo "
              f"{' '.join(install)}\n  elsewhere: install Chromium (or Chrome) and the matching "
              "chromedriver on PATH", file=sys.stderr, flush=True)


def _run(argv: list[str]) -> int:
    return subprocess.call(argv, cwd=ROOT)


def main(args: list[str]) -> int:
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = args[0], args[1:]
    if command == "train":
        _ensure_env("all")
        return _run([str(BIN / "descent"), "train", *rest])
    if command == "test":
        _ensure_env("all,test")
        _ensure_browser()
        workers = ["-n", "2"] if os.cpu_count() and os.cpu_count() > 1 else []
        return _run([str(PY), "-m", "pytest", "-q", *workers, *rest])
    if command == "bench":
        _ensure_env("all,bench")
        if rest[:1] == ["lenet"]:
            return _run([str(PY), str(ROOT / "bench" / "lenet.py"), *rest[1:]])
        return _run([str(PY), str(ROOT / "bench" / "run.py"), *rest])
    if command == "fuzz":
        _ensure_env("all,test")
        return _run([str(PY), str(ROOT / "bench" / "fuzz_model_files.py"), *rest])
    print(f"dev.py: unknown command {command!r}; try: train, test, bench, fuzz", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
