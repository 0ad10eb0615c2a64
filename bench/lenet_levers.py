"""What each lever of the compiled CNN step is worth, on bench/lenet.py's LeNet-5 step.

    .venv/bin/python bench/lenet_levers.py [--rounds 7] [--steps 10]

Times one training step (batch 128, 28x28, float32, SGD) of train/conv_plan.py with every
lever on, and with each lever switched off alone, plus the engine's step (the composed
primitives). All variants run in this one process, interleaved round by round (load from
other processes falls on all alike); the table gives the median CPU milliseconds per step
(all threads of the process) and the median wall milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import numpy as np  # noqa: E402
from lenet import Descent, make_pictures  # noqa: E402

import descent as ds  # noqa: E402
from descent.train import conv_plan  # noqa: E402
from descent.train.fit import _eager_step  # noqa: E402

VARIANTS = {
    "all levers (1 thread)": {},
    "input gradient of the first layer too": {"skip_first_input_gradient": False},
    "slabs instead of long runs (no wide rows)": {"wide_rows": False},
    "wide rows in both convolutions": {"waste": 10.0},
    "whole batch in cols (no cache-sized chunks)": {"chunk": 1 << 40},
    "relu before max-pool, no fused gradient": {"fuse": False},
    "2 BLAS threads per product": {"one_blas_thread": False},
    "2 parts on 2 threads": {"threads": 2},
}


def make_step(net: ds.nn.Module, opt: ds.optim.Optimizer, switches: dict) -> object:
    """A compiled step built with the given levers switched (then restored)."""
    saved = (conv_plan._Conv.skip_first_input_gradient, conv_plan._Conv.wide_rows,
             conv_plan._Pool.fuse, conv_plan.CHUNK_BYTES, conv_plan.MAX_WIDE_WASTE)
    conv_plan._Conv.skip_first_input_gradient = switches.get("skip_first_input_gradient", True)
    conv_plan._Conv.wide_rows = switches.get("wide_rows", True)
    conv_plan._Pool.fuse = switches.get("fuse", True)
    conv_plan.CHUNK_BYTES = switches.get("chunk", saved[3])
    conv_plan.MAX_WIDE_WASTE = switches.get("waste", saved[4])
    try:
        step = conv_plan.compile_conv_step(net, ds.nn.get_loss("cross_entropy"), opt)
        step.threads = switches.get("threads", 1)
        step.one_blas_thread = switches.get("one_blas_thread", True)
        xb = np.zeros((128, 1, 28, 28), np.float32)
        step(xb, np.zeros(128, np.int64))  # builds the plan and its buffers, with the switches
    finally:
        (conv_plan._Conv.skip_first_input_gradient, conv_plan._Conv.wide_rows,
         conv_plan._Pool.fuse, conv_plan.CHUNK_BYTES, conv_plan.MAX_WIDE_WASTE) = saved
    return step


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    X, y = make_pictures(128 * args.steps)
    runners = {}
    for name, switches in VARIANTS.items():
        d = Descent(X, y)
        runners[name] = make_step(d.net, d.opt, switches)
    d = Descent(X, y)
    runners["the engine (composed primitives)"] = _eager_step(
        d.net, ds.nn.get_loss("cross_entropy"), d.opt)
    cpu: dict[str, list[float]] = {n: [] for n in runners}
    wall: dict[str, list[float]] = {n: [] for n in runners}
    order = np.random.default_rng(0)
    batches = [(X[i:i + 128], y[i:i + 128]) for i in range(0, len(X), 128)]
    for _ in range(args.rounds):
        for name in order.permutation(list(runners)):
            step = runners[name]
            c0, w0 = time.process_time(), time.perf_counter()
            for xb, yb in batches:
                step(xb, yb, None)
            cpu[name].append((time.process_time() - c0) / len(batches) * 1000)
            wall[name].append((time.perf_counter() - w0) / len(batches) * 1000)
    base = statistics.median(cpu["all levers (1 thread)"])
    print("| variant | CPU ms/step | x all levers | wall ms/step |")
    print("|---|---:|---:|---:|")
    for name in runners:
        c = statistics.median(cpu[name])
        print(f"| {name} | {c:.1f} | {c / base:.2f} | {statistics.median(wall[name]):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
