"""How descent's split products use the cores: one product of each A-network shape, timed
whole on one BLAS thread, as its blocks on the calling thread alone, with the Python
helper threads, and with the spinning helpers (descent.train.spin, numba); and where the
calling thread's time goes while a helper works.

    PYTHONPATH=src python bench/split_probe.py [--reps 300]

Prints microseconds per product (median of 5 runs of `--reps` products each). See
docs/benchmarks.md ("Why the split's helper thread gained nothing").
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from threadpoolctl import threadpool_limits  # noqa: E402

from descent.train import gemm, spin, split  # noqa: E402

# (m, k, n, axis) as the plan multiplies them: forward x·W by columns of z (column-major),
# gradient xᵀ·δ by rows of G (row-major); A at batch 128 and 32.
SHAPES = [(128, 784, 256, 1), (784, 128, 256, 0), (32, 784, 256, 1), (784, 32, 256, 0),
          (128, 257, 128, 1)]


def operands(m: int, k: int, n: int, axis: int, rng: np.random.Generator):
    if axis == 1:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        return a, b, np.empty((m, n), np.float32, order="F")
    a = rng.standard_normal((k, m)).astype(np.float32).T  # xᵀ of a row-major batch
    b = np.asfortranarray(rng.standard_normal((k, n)).astype(np.float32))
    return a, b, np.empty((m, n), np.float32)


def per_call(f, reps: int) -> float:
    f()
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            f()
        runs.append((time.perf_counter() - t) / reps * 1e6)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=300)
    args = ap.parse_args()
    threadpool_limits(1, user_api="blas")
    have_spin = spin.load_loops()
    rng = np.random.default_rng(0)
    print("shape            whole  blocks-alone  python-helpers  spin-helpers")
    for m, k, n, axis in SHAPES:
        print(f"{m}x{k}x{n} ax{axis}".ljust(16), probe(m, k, n, axis, rng, args.reps,
                                                   have_spin))


def probe(m: int, k: int, n: int, axis: int, rng: np.random.Generator, reps: int,
          have_spin: bool) -> str:
    """The four timings of one product, as a line of the table."""
    a, b, out = operands(m, k, n, axis, rng)
    cuts = split.bounds(out.shape[axis], split.BLOCKS)
    rows = np.empty((len(cuts) - 1, gemm.FIELDS), np.int64)
    split._describe(a, b, out, axis, list(itertools.pairwise(cuts)), rows)
    whole = per_call(lambda: np.matmul(a, b, out=out), reps)
    alone = per_call(lambda: [gemm.call(r) for r in rows], reps)
    pool = split.helpers(1)
    python = per_call(lambda: pool.run([lambda r=r: gemm.call(r) for r in rows]), reps)
    spun = float("nan")
    if have_spin:
        spun = per_call(lambda: split.matmul(a, b, out, axis, 2), reps)
    return f"{whole:5.0f}  {alone:12.0f}  {python:14.0f}  {spun:12.0f}"


if __name__ == "__main__":
    main()
