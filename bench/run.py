"""Train the same MLPs with descent, hand-written NumPy, PyTorch, JAX and scikit-learn.

    python3 dev.py bench                 # the full run (what docs/benchmarks.md reports)
    python3 dev.py bench --quick         # fewer rows and rounds, for iteration (~2 min)
    .venv/bin/python bench/run.py --scenarios B,C --contenders descent,numpy --rounds 5

Scenarios (float32 throughout, plain SGD, one epoch, shuffled):
  A128, A32  MNIST-shaped 784-256-128-10, ReLU, softmax cross-entropy, lr 0.1,
             60,000 rows, batch 128 / batch 32
  B          tabular 13-64-64-1, tanh, mean squared error, lr 0.01, 50,000 rows, batch 32
  C          prediction with B's network over 1,000,000 rows

How it measures. One run of this script times every contender of a scenario on the same
machine, interleaved: each contender is built and warmed up (one untimed epoch:
compilation, first-touch allocations), then every round times each contender once, the
order shuffled between rounds so that load from other processes falls on all alike; the
tables give medians, with the fastest and slowest round. Each contender lives in its own
worker process (started by this script, driven through a pipe, timing itself with
perf_counter around the call): in one shared process PyTorch's OpenMP runtime and XLA's
thread pool slow OpenBLAS's threads down for good once they have run (numpy's 2-thread
epoch of A128 went from 0.55 s to 1.04 s after one PyTorch epoch in the same process),
which no user training with one library sees. Peak memory of A128 is measured in fresh
processes too (see `memory_child`). See bench/contenders.py for what each contender runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if "--baseline-src" in sys.argv[:-1] and "--worker" in sys.argv:
    # A worker for "descent-baseline" imports descent from another checkout's src/.
    sys.path.insert(0, sys.argv[sys.argv.index("--baseline-src") + 1])
elif importlib.util.find_spec("descent") is None:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parent / "src"))

import numpy as np  # noqa: E402
from contenders import MAKERS, Scenario, load_kernels, make_data  # noqa: E402

SCENARIOS = {
    "A128": Scenario("A128", "A: MNIST-shaped 784-256-128-10, batch 128", (784, 256, 128, 10),
                     "relu", "cross_entropy", 0.1, 128, 60_000),
    "A32": Scenario("A32", "A: MNIST-shaped 784-256-128-10, batch 32", (784, 256, 128, 10),
                    "relu", "cross_entropy", 0.1, 32, 60_000),
    "B": Scenario("B", "B: tabular 13-64-64-1, batch 32", (13, 64, 64, 1), "tanh", "mse",
                  0.01, 32, 50_000),
    "C": Scenario("C", "C: prediction, B's network", (13, 64, 64, 1), "tanh", "mse", 0.01,
                  32, 1_000_000, predict=True),
}
QUICK_ROWS = {"A128": 15_000, "A32": 10_000, "B": 20_000, "C": 250_000}
DEFAULT_CONTENDERS = {
    "A128": ["descent", "numpy", "numpy-1t", "torch", "jax", "jax-scan", "sklearn"],
    "A32": ["descent", "numpy", "numpy-1t", "torch", "jax", "jax-scan", "sklearn"],
    "B": ["descent", "numpy", "torch", "jax", "jax-sync", "jax-scan", "sklearn"],
    "C": ["descent", "numpy", "torch", "jax", "sklearn"],
}
# Before each timed call. OpenBLAS's idle worker threads spin for about 0.1 s after a
# product before they sleep (measured: an idle worker burns 0.1 CPU-seconds, then none);
# a shorter pause lets the last contender's spinning thread take a core from the next.
PAUSE_S = 0.3


def machine() -> dict[str, Any]:
    """Cores, CPU and NumPy's BLAS with its thread pool."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
    }
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["cpu"] = names[0] if names else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        from threadpoolctl import threadpool_info

        info["numpy_blas"] = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                   "threading_layer")}
            for p in threadpool_info() if p.get("user_api") == "blas"]
    except ImportError:
        info["numpy_blas"] = "threadpoolctl missing"
    return info


# ---- worker processes ---------------------------------------------------------------------

def worker(name: str, key: str, rows: int) -> None:
    """Serve one contender on stdin/stdout: build it, then answer "run SEED" with seconds."""
    sc = Scenario(**{**SCENARIOS[key].__dict__, "rows": rows})
    X, y = make_data(sc)
    runner = (MAKERS.get(name) or MAKERS["descent-baseline"])(sc, X, y)  # (a --variant)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "about": library_about(name)}) + "\n")
    out.flush()
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        seed = int(cmd[1])
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = runner.predict() if sc.predict else runner.epoch(seed)
        seconds = time.perf_counter() - t0
        # CPU-seconds of all the worker's threads: on a busy machine, what the work costs
        # whatever share of the cores the scheduler gave it.
        cpu = time.process_time() - cpu0
        check = float(np.asarray(result, dtype=np.float64).ravel()[:1].sum()) if sc.predict \
            else float(result)
        out.write(json.dumps({"seconds": seconds, "cpu": cpu, "check": check}) + "\n")
        out.flush()


def library_about(name: str) -> str:
    """Version and threads of the library a worker runs (it has imported it by now)."""
    if name.startswith("torch"):
        import torch

        return f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    if name.startswith("jax"):
        import jax

        return f"jax {jax.__version__}, devices {jax.devices()}"
    if name.startswith("sklearn"):
        import sklearn

        return f"scikit-learn {sklearn.__version__}"
    if name.startswith("numpy") or name.startswith("descent"):
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        threads = blas[0]["num_threads"] if blas else "?"
        where = ""
        if name.startswith("descent"):
            import descent

            where = f", descent from {Path(descent.__file__).parent.parent}"
        return f"numpy {np.__version__}, BLAS threads {threads}{where}"
    return ""


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, name: str, key: str, rows: int, src: str | None = None) -> None:
        self.name = name
        extra = ["--baseline-src", src] if src else []
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", name, "--worker-scenario", key,
             "--worker-rows", str(rows), *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.about = ""

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} died (exit code {self.proc.wait()})")
        return json.loads(line)

    def ready(self) -> None:
        self.about = self._read()["about"]

    def run(self, seed: int) -> tuple[float, float]:
        """(wall seconds, CPU-seconds) of one timed call."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {seed}\n")
        self.proc.stdin.flush()
        reply = self._read()
        return float(reply["seconds"]), float(reply["cpu"])

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
        except BrokenPipeError:  # it died already; its error is on stderr
            pass
        self.proc.wait(timeout=60)


def bench_scenario(sc: Scenario, names: list[str], rounds: int,
                   sources: dict[str, str] | None = None) -> tuple[dict, dict, dict]:
    """Wall times and CPU times per contender (warm-up once each, then interleaved
    rounds) and what ran. `sources`: contender -> the src/ its descent is imported from
    (descent-baseline and the --variant contenders)."""
    sources = sources or {}
    workers = {name: Worker(name, sc.key, sc.rows, sources.get(name)) for name in names}
    try:
        for w in workers.values():
            w.ready()
        for w in workers.values():  # warm-up, one at a time
            time.sleep(PAUSE_S)
            w.run(1000)
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        shuffle = np.random.default_rng(len(names))
        for r in range(rounds):
            # A fresh order each round, so no contender always follows the same one.
            for name in shuffle.permutation(names):
                time.sleep(PAUSE_S)
                seconds, cpu_seconds = workers[name].run(r)
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
    finally:
        for w in workers.values():
            w.close()
    return times, cpu, {name: w.about for name, w in workers.items()}


def _busy_seconds() -> float | None:
    """CPU-seconds the whole machine has been busy since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # minus idle, iowait
    return busy / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU-seconds used by this process and its finished children (the workers)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# ---- peak memory ----------------------------------------------------------------------------

def _vm_hwm() -> int:
    """Peak resident set size of this process in bytes (VmHWM; unlike ru_maxrss it starts
    afresh at exec, so it does not count the parent that forked us)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def memory_child(name: str, rows: int) -> None:
    """Run in a fresh process: one A128 epoch; print its peak memory as JSON.

    Two measures: tracemalloc's peak of Python-tracked allocations (NumPy reports its
    array buffers to tracemalloc) from just before the model is built to the end of the
    epoch, i.e. what training allocates beyond the data; and the process's peak resident
    set (VmHWM), everything: interpreter, libraries and the 188 MB of data. The
    contender's library is imported before tracing starts, as NumPy is for hand NumPy:
    importing descent's modules alone peaks at about 6 MiB of Python objects, which is
    not memory that training uses (it was most of the 2.05x reported before). Likewise
    numba and the compiled kernels fit would load (`contenders.load_kernels`): inside the
    window, loading the two-core kernel alone peaked at 44 MiB of Python objects.
    """
    import tracemalloc

    sc = Scenario(**{**SCENARIOS["A128"].__dict__, "rows": rows})
    X, y = make_data(sc)
    if name.startswith("descent"):
        import descent.train  # noqa: F401
        if name != "descent-engine":  # numba and the compiled kernels: library code
            load_kernels(sc)
    tracemalloc.start()
    runner = (MAKERS.get(name) or MAKERS["descent-baseline"])(sc, X, y)  # (a --variant)
    runner.epoch(0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"tracemalloc_peak": peak, "vm_hwm": _vm_hwm()}))


def measure_memory(names: list[str], rows: int) -> dict[str, dict[str, int]]:
    out = {}
    for name in names:
        proc = subprocess.run([sys.executable, __file__, "--memory-child", name,
                               "--worker-rows", str(rows)], capture_output=True, text=True,
                              check=True)
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# ---- report ---------------------------------------------------------------------------------

def report(results: dict[str, Any]) -> str:
    """The tables as Markdown."""
    lines = []
    for key, res in results["scenarios"].items():
        sc = SCENARIOS[key]
        rows = res["rows"]
        unit = "rows/s" if sc.predict else "steps/s"
        load, others = res["load_1min"], res.get("other_cores")
        busy = "" if others is None else f"; other processes used {others:.2f} cores"
        lines += [f"### {sc.title} ({rows:,} rows; median of {res['rounds']} rounds; "
                  f"load average {load[0]:.2f} -> {load[1]:.2f}{busy})", "",
                  f"| contender | seconds (fastest-slowest) | {unit} | descent is N x faster "
                  "| CPU-seconds (all threads) |",
                  "|---|---:|---:|---:|---:|"]
        base = res["median"].get("descent")
        for name, t in res["median"].items():
            count = rows if sc.predict else -(-rows // sc.batch_size)
            ratio = "" if base is None else f"{t / base:.2f}"
            spread = f" ({min(res['times'][name]):.3f}-{max(res['times'][name]):.3f})"
            cpu = res.get("cpu_median", {}).get(name)
            cpu_text = "" if cpu is None else f"{cpu:.3f}"
            lines.append(f"| {name} | {t:.3f}{spread} | {count / t:,.0f} | {ratio} | "
                         f"{cpu_text} |")
        lines.append("")
    if results.get("memory"):
        lines += ["### Peak memory, A128 (one epoch, a fresh process each)", "",
                  "| contender | tracemalloc peak (training, data excluded) | "
                  "VmHWM (whole process) |", "|---|---:|---:|"]
        for name, m in results["memory"].items():
            lines.append(f"| {name} | {m['tracemalloc_peak'] / 2**20:.1f} MiB | "
                         f"{m['vm_hwm'] / 2**20:.0f} MiB |")
        lines.append("")
    lines += goals(results)
    return "\n".join(lines)


def goals(results: dict[str, Any]) -> list[str]:
    """The issue's goals, checked against this run's medians."""
    med = {k: v["median"] for k, v in results["scenarios"].items()}
    out = ["### Goals (this run)", ""]

    def check(text: str, ok: bool) -> None:
        out.append(f"- [{'x' if ok else ' '}] {text}")

    def ratio(key: str, other: str) -> float | None:
        m = med.get(key, {})
        return m[other] / m["descent"] if other in m and "descent" in m else None

    r = ratio("A128", "numpy")
    if r is not None:
        check(f"A128: descent within 1.10x of hand NumPy (descent/numpy = {1 / r:.3f})",
              1 / r <= 1.10)
    for key in ("A128", "A32"):
        for other in ("torch", "jax", "jax-scan"):
            r = ratio(key, other)
            if r is not None:
                check(f"{key}: faster than {other} ({r:.2f}x)", r > 1)
    for other, need in (("torch", 3.0), ("jax", 1.5), ("jax-scan", 1.0), ("numpy", 0.7)):
        r = ratio("B", other)
        if r is not None:
            check(f"B: steps/s >= {need}x {other}'s ({r:.2f}x)", r >= need)
    r = ratio("C", "torch")
    if r is not None:
        check(f"C: rows/s >= torch's ({r:.2f}x)", r >= 1)
    mem = results.get("memory") or {}
    if "descent" in mem and "numpy" in mem:
        for what in ("tracemalloc_peak", "vm_hwm"):
            q = mem["descent"][what] / mem["numpy"][what]
            check(f"A128 peak memory ({what}) within 1.5x of hand NumPy ({q:.2f}x)", q <= 1.5)
    out.append("")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rows and 2 rounds")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5, quick 2)")
    ap.add_argument("--scenarios", default="A128,A32,B,C")
    ap.add_argument("--contenders", default=None,
                    help=f"comma-separated subset of {', '.join(MAKERS)}")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--baseline-src", default=None,
                    help="adds the contender descent-baseline: descent imported from this "
                         "src/ directory (e.g. an older checkout), to measure a change")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=SRC",
                    help="adds the contender descent-NAME: descent imported from the src/ "
                         "directory SRC (repeatable: several versions side by side)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--worker-scenario", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--worker-rows", type=int, default=60_000, help=argparse.SUPPRESS)
    ap.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.worker_scenario, args.worker_rows)
        return 0
    if args.memory_child:
        memory_child(args.memory_child, args.worker_rows)
        return 0
    rounds = args.rounds or (2 if args.quick else 5)
    keys = [k.strip() for k in args.scenarios.split(",") if k.strip()]
    wanted = None if args.contenders is None else args.contenders.split(",")
    sources = {f"descent-{v.split('=', 1)[0]}": v.split("=", 1)[1] for v in args.variant
               if "=" in v}
    if len(sources) != len(args.variant):
        ap.error("--variant takes NAME=SRC, e.g. --variant before=/tmp/old/src")
    variants = list(sources)
    if args.baseline_src:
        sources["descent-baseline"] = args.baseline_src
    results: dict[str, Any] = {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                               "machine": machine(), "libraries": {}, "scenarios": {},
                               "load_before": os.getloadavg()}
    print(json.dumps(results["machine"], indent=1), flush=True)
    for key in keys:
        sc = SCENARIOS[key]
        if args.quick:
            sc = SCENARIOS[key] = Scenario(**{**sc.__dict__, "rows": QUICK_ROWS[key]})
        names = [n for n in (wanted or DEFAULT_CONTENDERS[key])
                 if not (sc.predict and n in ("jax-sync", "jax-scan", "numpy-1t",
                                                 "descent-engine"))]
        if args.baseline_src and "descent-baseline" not in names:
            names.insert(1, "descent-baseline")
        for variant in variants:
            if variant not in names:
                names.insert(1, variant)
        load = os.getloadavg()[0]
        busy0, own0, wall0 = _busy_seconds(), _own_seconds(), time.perf_counter()
        times, cpu, about = bench_scenario(sc, names, rounds, sources)
        busy1, own1, wall1 = _busy_seconds(), _own_seconds(), time.perf_counter()
        # How many cores other processes kept busy meanwhile: the machine's busy time
        # less this benchmark's own (the workers have exited, so their time is counted).
        others = None if busy0 is None or busy1 is None else max(
            0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
        results["libraries"].update(about)
        med = {n: statistics.median(ts) for n, ts in times.items()}
        results["scenarios"][key] = {"rows": sc.rows, "rounds": rounds, "times": times,
                                     "median": med, "cpu": cpu,
                                     "cpu_median": {n: statistics.median(c)
                                                    for n, c in cpu.items()},
                                     "load_1min": [load, os.getloadavg()[0]],
                                     "other_cores": others}
        print(f"{key}: " + ", ".join(f"{n} {t:.3f}s (CPU {statistics.median(cpu[n]):.3f}s)"
                                     for n, t in med.items())
              + f"  (load {load:.2f} -> {os.getloadavg()[0]:.2f}, other processes "
              f"{'?' if others is None else f'{others:.2f}'} cores)", flush=True)
    if not args.no_memory and "A128" in keys:
        rows = QUICK_ROWS["A128"] if args.quick else 60_000
        results["memory"] = measure_memory(["descent", "numpy"], rows)
    results["load_after"] = os.getloadavg()
    print()
    print("libraries: " + json.dumps(results["libraries"], indent=1))
    print()
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
