"""Start-up cost of `descent train` and `descent predict`, run as processes the way
bench/tabular_suite.py runs them: medians of wall and user CPU time over interleaved rounds.

Each variant is a PYTHONPATH (a source tree, optionally with another typer in front), so
two trees or two typer versions are timed in one run under the same load:

    flock /tmp/descent-bench.lock python bench/cli_start.py --rounds 9 \\
        before=/tmp/before/src after=src

The table is small (the shipped Windsor houses unless --csv), so the time is mostly the
process start: the interpreter, the imports and the parsing of the options.
PYTHONDONTWRITEBYTECODE is removed from the children's environment (with it every start
compiles every source again).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WINDSOR = Path(__file__).resolve().parents[1] / "src" / "descent" / "datasets" / \
    "windsor_housing.csv"
START = "from descent.cli import main; main()"


def run_once(pythonpath: str, args: list[str]) -> tuple[float, float]:
    """(wall seconds, user CPU seconds) of one `descent ARGS...` process; it must succeed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=pythonpath, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", START, *args], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    error = child.stderr.read().decode()
    child.stderr.close()
    if status != 0:
        sys.exit(f"descent {' '.join(args)} failed: {error}")
    return wall, usage.ru_utime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", help="NAME=PYTHONPATH, timed in turn")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--csv", type=Path, default=WINDSOR)
    parser.add_argument("--target", default="price")
    opts = parser.parse_args()
    variants = dict(v.split("=", 1) for v in opts.variants)
    with tempfile.TemporaryDirectory(prefix="descent-cli-start-") as tmp:
        def commands(name: str) -> dict[str, list[str]]:
            model, out = f"{tmp}/{name}.safetensors", f"{tmp}/{name}.csv"
            return {"train": ["train", str(opts.csv), "--target", opts.target, "--cv", "0",
                              "--quiet", "--out", model],
                    "predict": ["predict", model, str(opts.csv), "--out", out],
                    "--help": ["--help"]}

        for name, path in variants.items():  # bytecode written, model file made
            for args in commands(name).values():
                run_once(path, args)
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(opts.rounds):
            for command in ("train", "predict", "--help"):
                for name, path in variants.items():
                    times.setdefault((command, name), []).append(
                        run_once(path, commands(name)[command]))
    print(f"{opts.rounds} rounds, load average {os.getloadavg()[0]:.2f}; medians")
    print(f"{'command':8} {'variant':24} {'wall s':>7} {'user s':>7}")
    for (command, name), runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        user = statistics.median(u for _, u in runs)
        print(f"{command:8} {name:24} {wall:7.3f} {user:7.3f}")


if __name__ == "__main__":
    main()
