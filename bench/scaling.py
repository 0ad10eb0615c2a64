"""Strong and weak scaling of `ds.distributed.fit` against the best single process (COST).

    python bench/scaling.py                 # about five minutes on 2 cores
    python bench/scaling.py --quick         # a smaller run, to check the script

Single process: `ds.fit` with one BLAS thread, and with its default threads. Distributed: a
LocalCluster of 1 and 2 worker processes, one thread (one BLAS thread) each; 8 shards.
Strong scaling keeps the rows fixed; weak scaling keeps the rows per worker fixed.
Per round, the time the workers compute (the gradient tasks, from Dask's task stream: the
slowest worker's sum) is set against the round's wall time on the driver; the rest is
communication and scheduling. Every figure is the median of `--repeats` runs; the machine
is shared, so say how loaded it was when quoting them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time

import numpy as np

import descent as ds


class EpochTimes(ds.train.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        self.times.append(time.perf_counter() - self._start)


def data(n: int, d: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.tanh(X @ rng.normal(size=d) / np.sqrt(d)) + 0.1 * rng.normal(size=n)
    return X, y


def network() -> ds.nn.Module:
    return ds.nn.MLP([32, 128, 128, 1], activation="tanh", seed=0, dtype=np.float64)


def single(n: int, batch: int, epochs: int, threads: int | None) -> float:
    """Median seconds per epoch of ds.fit (threads: BLAS threads, None = default)."""
    from threadpoolctl import threadpool_limits

    X, y = data(n)
    timer = EpochTimes()
    if threads is None:
        ds.fit(network(), X, y, optimizer="sgd", lr=0.05, epochs=epochs, batch_size=batch,
               seed=0, verbose=False, callbacks=[timer])
    else:
        with threadpool_limits(threads):
            ds.fit(network(), X, y, optimizer="sgd", lr=0.05, epochs=epochs, batch_size=batch,
                   seed=0, verbose=False, callbacks=[timer])
    return statistics.median(timer.times)


def distributed(client, n: int, batch: int, epochs: int) -> dict[str, float]:
    """Seconds per epoch, and per round: wall, worker compute, the rest."""
    import dask.array as da

    from distributed import get_task_stream

    X, y = data(n)
    Xd, yd = da.from_array(X, chunks=n // 8), da.from_array(y, chunks=n // 8)
    timer = EpochTimes()
    with get_task_stream(client) as stream:
        ds.distributed.fit(network(), Xd, yd, client=client, optimizer="sgd", lr=0.05,
                           epochs=epochs, batch_size=batch, seed=0, verbose=False, shards=8,
                           callbacks=[timer])
    rounds = -(-int(n) // batch)
    per_round: dict[tuple[str, str], dict[str, float]] = {}
    for task in stream.data:
        key = str(task["key"])
        if not key.startswith("descent-grad-"):
            continue
        _, _, _, epoch, r, _ = key.split("-")
        compute = sum(s["stop"] - s["start"] for s in task["startstops"]
                      if s["action"] == "compute")
        slot = per_round.setdefault((epoch, r), {})
        slot[task["worker"]] = slot.get(task["worker"], 0.0) + compute
    compute = statistics.median(max(w.values()) for w in per_round.values())
    epoch = statistics.median(timer.times[1:] or timer.times)  # the first warms caches
    wall = epoch / rounds
    return {"epoch_s": epoch, "round_s": wall, "compute_s": compute,
            "other_s": max(0.0, wall - compute), "rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=120_000, help="rows for strong scaling")
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.epochs, args.repeats = 20_000, 2, 1
    logging.getLogger("distributed").setLevel(logging.ERROR)
    from descent.distributed import close, connect

    def med(f, *a):
        runs = [f(*a) for _ in range(args.repeats)]
        if isinstance(runs[0], dict):
            return {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        return statistics.median(runs)

    out: dict[str, object] = {"rows": args.rows, "batch": args.batch, "cpus": os.cpu_count(),
                              "load_before": os.getloadavg()}
    n, b, e = args.rows, args.batch, args.epochs
    out["single_1_thread"] = med(single, n, b, e, 1)
    out["single_default_threads"] = med(single, n, b, e, None)
    out["weak_single_1_thread"] = med(single, n // 2, b // 2, e, 1)
    for workers in (1, 2):
        client = connect(f"local:{workers}")
        try:
            out[f"strong_{workers}"] = med(distributed, client, n, b, e)
            # weak: rows and batch grow with the workers (n/2 per worker)
            out[f"weak_{workers}"] = med(distributed, client, n // 2 * workers,
                                         b // 2 * workers, e)
            if workers == 2:
                out["batches_2"] = {str(bb): med(distributed, client, n, bb, 2)
                                    for bb in (1024, 8192, 32768)}
        finally:
            close(client)
    out["load_after"] = os.getloadavg()
    t1 = out["strong_1"]["epoch_s"]
    for workers in (1, 2):
        tn = out[f"strong_{workers}"]["epoch_s"]
        out[f"strong_efficiency_{workers}"] = t1 / (workers * tn)
        out[f"weak_efficiency_{workers}"] = out["weak_1"]["epoch_s"] / out[f"weak_{workers}"][
            "epoch_s"]
    out["cost_vs_best_single"] = min(out["single_1_thread"], out["single_default_threads"]) \
        / out["strong_2"]["epoch_s"]
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
