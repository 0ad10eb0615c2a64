"""LeNet-5 on 28x28 pictures: descent against PyTorch eager, JAX jit and plain NumPy.

    python3 dev.py bench lenet                      # 12,000 rows, 5 interleaved rounds
    .venv/bin/python bench/lenet.py --rows 3000 --rounds 3 --contenders descent,torch

The network (float32, plain SGD lr 0.05, batch 128, one shuffled epoch, softmax
cross-entropy): conv 1->6 5x5 padding 2, ReLU, max-pool 2, conv 6->16 5x5, ReLU, max-pool 2,
dense 400-120-84-10. Contenders:
- descent: `ds.fit(net, X, y, ...)`, the whole public call, with the fast paths it picks.
- descent-engine: the same with `compiled=False`: every step through the autodiff engine
  (convolution and pooling composed from the `windows` primitive).
- numpy: a plain hand-written NumPy version: im2col by one sliding-window copy, the
  products, max-pool masks, col2im by strided adds, NCHW as the textbook writes it.
- torch: PyTorch eager on the CPU, its default threads (oneDNN convolutions).
- torch-1t: the same on one thread (`torch.set_num_threads(1)`): on a busy machine its
  default threads wait for each other and it runs several times slower.
- jax: the whole step under `jax.jit` (lax.conv_general_dilated, reduce_window), params
  donated, losses kept on the device until the epoch ends.

Measured as bench/run.py does: each contender in its own worker process, one untimed
warm-up epoch, then rounds in a shuffled order; medians with the fastest and slowest
round, and the CPU-seconds each epoch used (all its threads; on a loaded machine the
steadier figure for a one-thread contender). Peak memory: each contender trains one epoch
in a fresh process and reports its peak resident set (VmHWM) and, for NumPy-based ones,
tracemalloc's peak.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if importlib.util.find_spec("descent") is None:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parent / "src"))

import numpy as np  # noqa: E402
from run import PAUSE_S, _busy_seconds, _own_seconds, _vm_hwm, machine  # noqa: E402

F32 = np.float32
BATCH, LR, CLASSES = 128, 0.05, 10
CONTENDERS = ["descent", "descent-engine", "numpy", "torch", "torch-1t", "jax"]


def make_pictures(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows, 1, 28, 28) float32 pictures in [0, 1) with a learnable 10-class label."""
    rng = np.random.default_rng(seed)
    X = rng.random((rows, 1, 28, 28), dtype=F32)
    teacher = rng.standard_normal((28 * 28, CLASSES)).astype(F32)
    y = np.argmax(X.reshape(rows, -1) @ teacher - 0.5 * teacher.sum(axis=0), axis=1)
    return X, y.astype(np.int64)


def _lenet_weights(rng: np.random.Generator) -> list[np.ndarray]:
    """He-scaled weights in PyTorch's layouts (conv: out, in, kh, kw; dense: out, in)."""
    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(F32)

    return [he((6, 1, 5, 5), 25), np.zeros(6, F32), he((16, 6, 5, 5), 150), np.zeros(16, F32),
            he((120, 400), 400), np.zeros(120, F32), he((84, 120), 120), np.zeros(84, F32),
            he((10, 84), 84), np.zeros(10, F32)]


class Descent:
    def __init__(self, X: np.ndarray, y: np.ndarray, compiled: bool = True) -> None:
        import descent as ds

        nn = ds.nn
        self.ds, self.X, self.y, self.compiled = ds, X, y, compiled
        self.net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                 nn.Linear(84, 10))
        w = _lenet_weights(np.random.default_rng(0))
        for layer, (weight, bias) in zip([self.net[i] for i in (0, 3, 7, 9, 11)],
                                         zip(w[::2], w[1::2], strict=True), strict=True):
            layer.weight.data[...] = weight.T if weight.ndim == 2 else weight  # Linear: (in, out)
            layer.bias.data[...] = bias
        self.opt = ds.optim.SGD(self.net.parameters(), lr=LR)

    def epoch(self, seed: int) -> float:
        h = self.ds.fit(self.net, self.X, self.y, loss="cross_entropy", optimizer=self.opt,
                        epochs=1, batch_size=BATCH, seed=seed, verbose=False,
                        compiled=self.compiled)
        return h["loss"][-1]


class HandNumpy:
    """The textbook im2col LeNet in NCHW: what a first NumPy implementation looks like."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = X, y
        self.w = _lenet_weights(np.random.default_rng(0))

    @staticmethod
    def _im2col(x: np.ndarray, k: int) -> np.ndarray:
        """(N, C, H, W) -> (N*OH*OW, C*k*k) patches."""
        n, c, h, w = x.shape
        v = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
        return v.transpose(0, 2, 3, 1, 4, 5).reshape(n * (h - k + 1) * (w - k + 1), c * k * k)

    @staticmethod
    def _col2im(d: np.ndarray, shape: tuple[int, ...], k: int) -> np.ndarray:
        n, c, h, w = shape
        oh, ow = h - k + 1, w - k + 1
        d = d.reshape(n, oh, ow, c, k, k)
        out = np.zeros(shape, d.dtype)
        for i in range(k):
            for j in range(k):
                out[:, :, i:i + oh, j:j + ow] += d[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        return out

    @staticmethod
    def _pool(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, c, h, w = a.shape
        blocks = a.reshape(n, c, h // 2, 2, w // 2, 2)
        m = blocks.max(axis=(3, 5))
        mask = blocks == m[:, :, :, None, :, None]
        return m, mask

    def epoch(self, seed: int) -> float:
        X, y, (W1, b1, W2, b2, W3, b3, W4, b4, W5, b5) = self.X, self.y, self.w
        lr, n, total = F32(LR), len(X), 0.0
        perm = np.random.default_rng(seed).permutation(n)
        for start in range(0, n, BATCH):
            idx = perm[start:start + BATCH]
            x, t, m = X[idx], y[idx], len(idx)
            xp = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
            c1 = self._im2col(xp, 5)
            z1 = (c1 @ W1.reshape(6, -1).T + b1).reshape(m, 28, 28, 6).transpose(0, 3, 1, 2)
            a1 = np.maximum(z1, 0)
            p1, mask1 = self._pool(a1)
            c2 = self._im2col(p1, 5)
            z2 = (c2 @ W2.reshape(16, -1).T + b2).reshape(m, 10, 10, 16).transpose(0, 3, 1, 2)
            a2 = np.maximum(z2, 0)
            p2, mask2 = self._pool(a2)
            f = p2.reshape(m, 400)
            a3 = np.maximum(f @ W3.T + b3, 0)
            a4 = np.maximum(a3 @ W4.T + b4, 0)
            z5 = a4 @ W5.T + b5
            z5 = z5 - z5.max(axis=1, keepdims=True)
            logp = z5 - np.log(np.exp(z5).sum(axis=1, keepdims=True))
            total -= float(logp[np.arange(m), t].sum())
            d5 = np.exp(logp)
            d5[np.arange(m), t] -= 1
            d5 /= m
            d4 = (d5 @ W5) * (a4 > 0)
            d3 = (d4 @ W4) * (a3 > 0)
            df = (d3 @ W3).reshape(m, 16, 5, 5)
            da2 = (mask2 * df[:, :, :, None, :, None]).reshape(m, 16, 10, 10)
            dz2 = da2 * (z2 > 0)
            dz2r = dz2.transpose(0, 2, 3, 1).reshape(-1, 16)
            gW2 = (c2.T @ dz2r).T.reshape(W2.shape)
            gb2 = dz2r.sum(axis=0)
            dp1 = self._col2im(dz2r @ W2.reshape(16, -1), p1.shape, 5)
            da1 = (mask1 * dp1[:, :, :, None, :, None]).reshape(m, 6, 28, 28)
            dz1 = (da1 * (z1 > 0)).transpose(0, 2, 3, 1).reshape(-1, 6)
            gW1 = (c1.T @ dz1).T.reshape(W1.shape)
            gb1 = dz1.sum(axis=0)
            grads = [gW1, gb1, gW2, gb2, d3.T @ f, d3.sum(0), d4.T @ a3, d4.sum(0),
                     d5.T @ a4, d5.sum(0)]
            for p, g in zip(self.w, grads, strict=True):
                p -= lr * g
        return total / n


class Torch:
    def __init__(self, X: np.ndarray, y: np.ndarray, threads: int | None = None) -> None:
        import torch

        nn = torch.nn
        self.torch = torch
        if threads is not None:
            torch.set_num_threads(threads)
        self.model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                                   nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        with torch.no_grad():
            for p, w in zip(self.model.parameters(), _lenet_weights(np.random.default_rng(0)),
                            strict=True):
                p.copy_(torch.from_numpy(w))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=0.0)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)
        self.lossf = nn.CrossEntropyLoss()

    def epoch(self, seed: int) -> float:
        torch, model, opt = self.torch, self.model, self.opt
        n, total = len(self.X), 0.0
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        for start in range(0, n, BATCH):
            idx = perm[start:start + BATCH]
            loss = self.lossf(model(self.X[idx]), self.y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        return total / n


class Jax:
    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        import jax.numpy as jnp
        from jax import lax

        self.jax, self.X, self.y = jax, X, y

        def conv(x: Any, w: Any, b: Any, pad: int) -> Any:
            z = lax.conv_general_dilated(x, w, (1, 1), [(pad, pad), (pad, pad)],
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
            return z + b[None, :, None, None]

        def pool(a: Any) -> Any:
            return lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

        def loss_fn(p: list, x: Any, t: Any) -> Any:
            a = pool(jax.nn.relu(conv(x, p[0], p[1], 2)))
            a = pool(jax.nn.relu(conv(a, p[2], p[3], 0))).reshape(x.shape[0], 400)
            a = jax.nn.relu(a @ p[4].T + p[5])
            a = jax.nn.relu(a @ p[6].T + p[7])
            logp = jax.nn.log_softmax(a @ p[8].T + p[9])
            return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=1))

        def step(p: list, x: Any, t: Any) -> tuple[list, Any]:
            loss, grads = jax.value_and_grad(loss_fn)(p, x, t)
            return [w - F32(LR) * g for w, g in zip(p, grads, strict=True)], loss

        self._step = jax.jit(step, donate_argnums=0)
        self.params = [jnp.asarray(w) for w in _lenet_weights(np.random.default_rng(0))]

    def epoch(self, seed: int) -> float:
        n, params, losses = len(self.X), self.params, []
        perm = np.random.default_rng(seed).permutation(n)
        for start in range(0, n, BATCH):
            idx = perm[start:start + BATCH]
            params, loss = self._step(params, self.X[idx], self.y[idx])
            losses.append(loss)
        self.params = self.jax.block_until_ready(params)
        return float(np.mean([float(v) for v in losses]))


MAKERS = {"descent": Descent, "descent-engine": lambda X, y: Descent(X, y, compiled=False),
          "numpy": HandNumpy, "torch": Torch, "torch-1t": lambda X, y: Torch(X, y, threads=1),
          "jax": Jax}


# ---- workers, rounds, memory -------------------------------------------------------------------

def worker(name: str, rows: int) -> None:
    """Serve one contender on stdin/stdout: "run SEED" -> {"seconds", "check"}."""
    X, y = make_pictures(rows)
    runner = MAKERS[name](X, y)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        t0, c0 = time.perf_counter(), time.process_time()
        loss = runner.epoch(int(cmd[1]))
        print(json.dumps({"seconds": time.perf_counter() - t0, "loss": float(loss),
                          "cpu": time.process_time() - c0}), flush=True)


def memory_child(name: str, rows: int) -> None:
    """One epoch in a fresh process; prints tracemalloc's peak and the process's VmHWM."""
    import tracemalloc

    X, y = make_pictures(rows)
    tracemalloc.start()
    runner = MAKERS[name](X, y)
    runner.epoch(0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"tracemalloc_peak": peak, "vm_hwm": _vm_hwm()}))


def _spawn(name: str, rows: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--worker", name, "--rows", str(rows)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)


def _ask(proc: subprocess.Popen, seed: int) -> dict[str, float]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"run {seed}\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"a worker died (exit code {proc.wait()})")
    return json.loads(line)


def bench(names: list[str], rows: int, rounds: int) -> tuple[dict, dict, dict]:
    procs = {name: _spawn(name, rows) for name in names}
    try:
        for p in procs.values():
            assert p.stdout is not None
            json.loads(p.stdout.readline())  # ready
        losses = {}
        for name, p in procs.items():  # warm-up, one at a time
            time.sleep(PAUSE_S)
            losses[name] = _ask(p, 1000)["loss"]
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        order = np.random.default_rng(len(names))
        for r in range(rounds):
            for name in order.permutation(names):
                time.sleep(PAUSE_S)
                answer = _ask(procs[name], r)
                times[name].append(answer["seconds"])
                cpu[name].append(answer["cpu"])
    finally:
        for p in procs.values():
            if p.stdin is not None:
                p.stdin.write("quit\n")
                p.stdin.close()
            p.wait(timeout=60)
    return times, cpu, losses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=12_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.rows)
        return 0
    if args.memory_child:
        memory_child(args.memory_child, args.rows)
        return 0
    names = [n.strip() for n in args.contenders.split(",") if n.strip()]
    load0, busy0, own0, wall0 = os.getloadavg()[0], _busy_seconds(), _own_seconds(), \
        time.perf_counter()
    times, cpu, losses = bench(names, args.rows, args.rounds)
    busy1, own1, wall1 = _busy_seconds(), _own_seconds(), time.perf_counter()
    others = None if busy0 is None or busy1 is None else max(
        0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
    med = {n: statistics.median(t) for n, t in times.items()}
    med_cpu = {n: statistics.median(t) for n, t in cpu.items()}
    memory = {}
    if not args.no_memory:
        for name in names:
            out = subprocess.run([sys.executable, __file__, "--memory-child", name, "--rows",
                                  str(args.rows)], capture_output=True, text=True, check=True)
            memory[name] = json.loads(out.stdout.strip().splitlines()[-1])
    steps = -(-args.rows // BATCH)
    print(f"### LeNet-5, 28x28, batch {BATCH} ({args.rows:,} rows, {steps} steps; median of "
          f"{args.rounds} rounds; load average {load0:.2f} -> {os.getloadavg()[0]:.2f}"
          + ("" if others is None else f"; other processes used {others:.2f} cores") + ")\n")
    print("| contender | seconds (fastest-slowest) | steps/s | x descent's time | "
          "CPU-seconds (all threads) | VmHWM | tracemalloc peak | warm-up loss |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    base = med.get("descent")
    for name, t in med.items():
        mem = memory.get(name, {})
        hwm = f"{mem['vm_hwm'] / 2**20:.0f} MiB" if mem else ""
        traced = f"{mem['tracemalloc_peak'] / 2**20:.1f} MiB" \
            if mem and not name.startswith(("torch", "jax")) else ""
        ratio = "" if base is None else f"{t / base:.2f}"
        print(f"| {name} | {t:.3f} ({min(times[name]):.3f}-{max(times[name]):.3f}) | "
              f"{steps / t:.1f} | {ratio} | {med_cpu[name]:.3f} | {hwm} | {traced} | "
              f"{losses[name]:.4f} |")
    if base is not None:
        print()
        for other, goal in (("torch", 1 / 1.25), ("torch-1t", 1 / 1.25), ("jax", 1.0)):
            if other in med:
                r = med[other] / base
                mark = "x" if r >= goal else " "
                print(f"- [{mark}] descent/{other} time = {1 / r:.2f} (goal <= {1 / goal:.2f})")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": args.rows,
                                         "times": times, "median": med, "cpu": cpu,
                                         "memory": memory, "other_cores": others}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
