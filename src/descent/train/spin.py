"""Optional (numba, the `jit` extra): helper threads that wait for blocks of a split
product by spinning in compiled code, without the GIL, and compute them with BLAS.

Why: descent's split (train/split.py) is worth only what the helper thread adds, and a
helper that sleeps between products adds nothing on this kind of machine. Measured on
2 vCPUs (the benchmark's VM), an A128 forward product (128x784 by 784x256) split in four
blocks took 0.76 ms with a Python helper sleeping on a condition variable against 0.61 ms
on one thread: woken, the helper is placed by the scheduler on the core of the thread
that woke it and the two share a core; and every hand-over of the GIL is another such
wake-up. Spinning helpers stay on their own cores and never take the GIL, so the same
product took 0.43 ms (1.8x); at batch 32, 1.3-1.7x. (OpenBLAS's own threads spin too,
which is why they paid on a quiet machine; but they cut a product in fixed halves and
wait for both, and their results differ in the last bits from one thread's.)

A helper spins only a short while after its last block (about SPINS pauses, a few
milliseconds), then sleeps until the next product, so an idle process burns no core;
the caller never waits for a helper to start: it takes blocks itself from the first, and
waits only for blocks a helper has already begun. Which thread computes a block changes
nothing in the result: each block is the same BLAS call (train/gemm.py).

Blocks are claimed with a compare-and-swap on one 64-bit ticket, (job number << 20) +
next block, so a helper still finishing the last job can never take a block of the next.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from descent.train import gemm

# ctl slots. What a spinning helper reads (the ticket, the stop flag, the block count: the
# caller writes them once a product) share one cache line; the count of blocks done, which
# both write, and the sleeping flag have lines of their own, 128 bytes apart (the
# adjacent-line prefetcher pairs lines). The block is aligned and away from Python's small
# objects: a line a helper polls must not be one the interpreter writes all the time.
TICKET, STOP, NPARTS, DONE, SLEEPING = 0, 1, 2, 16, 32
LINE = 128
SHIFT = 20
MASK = (1 << SHIFT) - 1
# Pauses a helper spins through without work before it sleeps (a pause is some tens of
# cycles: this is a few milliseconds, longer than the gaps between a step's products).
SPINS = 100_000
MAX_PARTS = 64

_compiled: dict[str, Any] | None = None
_lock = threading.Lock()


def _build() -> dict[str, Any]:
    """Compile (or load from numba's cache) the spinning loops. Imports numba."""
    from llvmlite import ir
    from numba import njit, types
    from numba.extending import intrinsic

    def _slot(context: Any, builder: Any, sig_arg: Any, arr: Any, idx: Any) -> Any:
        ary = context.make_array(sig_arg)(context, builder, arr)
        return builder.gep(ary.data, [idx])

    @intrinsic
    def load(typingctx: Any, arr: Any, idx: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            return builder.load_atomic(_slot(context, builder, sig.args[0], *args),
                                       "acquire", 8)
        return types.int64(arr, idx), codegen

    @intrinsic
    def store(typingctx: Any, arr: Any, idx: Any, val: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            builder.store_atomic(args[2], _slot(context, builder, sig.args[0], *args[:2]),
                                 "seq_cst", 8)
            return context.get_dummy_value()
        return types.void(arr, idx, val), codegen

    @intrinsic
    def add(typingctx: Any, arr: Any, idx: Any, val: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            return builder.atomic_rmw("add", _slot(context, builder, sig.args[0], *args[:2]),
                                      args[2], "seq_cst")
        return types.int64(arr, idx, val), codegen

    @intrinsic
    def cas(typingctx: Any, arr: Any, idx: Any, old: Any, new: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            pair = builder.cmpxchg(_slot(context, builder, sig.args[0], *args[:2]),
                                   args[2], args[3], "seq_cst", "seq_cst")
            return builder.extract_value(pair, 1)
        return types.boolean(arr, idx, old, new), codegen

    @intrinsic
    def pause(typingctx: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            # x86's spin-wait hint; elsewhere an empty call that keeps the loop a loop
            triple = str(builder.module.triple)
            if triple.startswith(("x86_64", "i686", "i386")):
                fn = ir.Function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                 name="llvm.x86.sse2.pause")
                builder.call(fn, [])
            else:
                builder.fence("seq_cst")
            return context.get_dummy_value()
        return types.void(), codegen

    def _gemm_intrinsic(double: bool, wide: bool) -> Any:
        @intrinsic
        def call(typingctx: Any, addr: Any, row: Any) -> Any:
            def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
                i32, i64 = ir.IntType(32), ir.IntType(64)
                n = i64 if wide else i32
                real = ir.DoubleType() if double else ir.FloatType()
                fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, n, n, n, real, i64,
                                                       n, i64, n, real, i64, n])
                fn = builder.inttoptr(args[0], fnty.as_pointer())
                ary = context.make_array(sig.args[1])(context, builder, args[1])
                f = [builder.load(builder.gep(ary.data, [ir.Constant(i64, j)]))
                     for j in range(12)]
                as_n = (lambda v: v) if wide else (lambda v: builder.trunc(v, i32))
                builder.call(fn, [builder.trunc(f[0], i32), builder.trunc(f[1], i32),
                                  builder.trunc(f[2], i32), as_n(f[3]), as_n(f[4]),
                                  as_n(f[5]), ir.Constant(real, 1.0), f[6], as_n(f[7]),
                                  f[8], as_n(f[9]), ir.Constant(real, 0.0), f[10],
                                  as_n(f[11])])
                return context.get_dummy_value()
            return types.void(types.int64, row), codegen
        return call

    _, _, wide = gemm.functions() or (0, 0, True)
    sgemm, dgemm = _gemm_intrinsic(False, wide), _gemm_intrinsic(True, wide)

    @njit(nogil=True, cache=True)
    def claim_and_work(ctl, parts, fns, job):  # type: ignore[no-untyped-def]
        n = load(ctl, NPARTS)
        while True:
            t = load(ctl, TICKET)
            i = t & MASK
            if (t >> SHIFT) != job or i >= n:
                return
            if cas(ctl, TICKET, t, t + 1):
                if parts[i, 12]:
                    dgemm(fns[1], parts[i])
                else:
                    sgemm(fns[0], parts[i])
                add(ctl, DONE, 1)

    @njit(nogil=True, cache=True)
    def lead(ctl, parts, fns, job, n):  # type: ignore[no-untyped-def]
        """The caller: publish job `job` of n blocks, work on it, wait for the rest."""
        store(ctl, DONE, 0)
        store(ctl, NPARTS, n)
        store(ctl, TICKET, job << SHIFT)
        claim_and_work(ctl, parts, fns, job)
        while load(ctl, DONE) < n:
            pause()
        return load(ctl, SLEEPING)

    @njit(nogil=True, cache=True)
    def serve(ctl, parts, fns, job, spins):  # type: ignore[no-untyped-def]
        """A helper: take blocks of each new job; return the last job seen once idle for
        `spins` pauses (having set SLEEPING) or when told to stop."""
        idle = 0
        while load(ctl, STOP) == 0:
            t = load(ctl, TICKET)
            if (t >> SHIFT) != job:
                job = t >> SHIFT
                claim_and_work(ctl, parts, fns, job)
                idle = 0
                continue
            idle += 1
            if idle > spins:
                store(ctl, SLEEPING, 1)
                if (load(ctl, TICKET) >> SHIFT) == job:  # (no job slipped in meanwhile)
                    return job
                store(ctl, SLEEPING, 0)
                idle = 0
            pause()
        return job

    return {"lead": lead, "serve": serve}


def loaded() -> bool:
    """Whether the compiled loops are loaded in this process."""
    return _compiled is not None


def available() -> bool:
    """Whether the spinning helpers can run here: numba installed, NumPy's gemm found."""
    import importlib.util
    return gemm.available() and importlib.util.find_spec("numba") is not None


def load_loops() -> bool:
    """Import numba and load (or compile, once per machine) the loops; False if it
    cannot run here."""
    global _compiled
    with _lock:
        if _compiled is None:
            if not available():
                return False
            loops = _build()
            pool = Pool(0, loops)  # run every loop once: numba compiles on first call
            a = np.ones((2, 2), np.float32)
            out = np.empty((2, 2), np.float32)
            gemm.describe(a, a, out, pool.parts[0])
            pool.run(1)
            pool.ctl[STOP] = 1
            loops["serve"](pool.ctl, pool.parts, pool.fns, 0, 0)
            _compiled = loops
    return True


def _aligned_slots(n: int) -> np.ndarray:
    """n int64 zeros starting on a LINE boundary, alone in their own lines of memory."""
    room = np.zeros(n + 3 * LINE // 8 + 1024, np.int64)  # > 512 bytes: not from pymalloc
    start = (-room.ctypes.data % LINE) // 8 + LINE // 8
    return room[start:start + n]


class Pool:
    """n spinning helper threads and the job slot they serve; `run` is for one caller at
    a time (the `lock` is for callers to take)."""

    def __init__(self, n: int, loops: dict[str, Any] | None = None) -> None:
        self.loops = loops if loops is not None else _compiled
        assert self.loops is not None, "load_loops() first"
        self.ctl = _aligned_slots(48)
        self.parts = np.zeros((MAX_PARTS, gemm.FIELDS), np.int64)
        s, d, _ = gemm.functions() or (0, 0, True)
        self.fns = np.array([s, d], np.int64)
        self.job = 0
        self.lock = threading.Lock()
        self._wake = [threading.Event() for _ in range(n)]
        self.threads = [threading.Thread(target=self._serve, args=(w,), daemon=True,
                                         name=f"descent-spin-{i}")
                        for i, w in enumerate(self._wake)]
        for t in self.threads:
            t.start()

    def _serve(self, wake: threading.Event) -> None:
        job, serve = 0, self.loops["serve"]
        while True:
            job = serve(self.ctl, self.parts, self.fns, job, SPINS)
            if self.ctl[STOP]:
                return
            wake.wait()
            wake.clear()

    def run(self, n: int) -> None:
        """Compute blocks parts[:n] (rows filled by gemm.describe), with the helpers."""
        self.job = (self.job + 1) & ((1 << 40) - 1)
        if self.ctl[SLEEPING]:  # a helper gave up spinning: wake it for this job
            self.ctl[SLEEPING] = 0
            for w in self._wake:
                w.set()
        self.loops["lead"](self.ctl, self.parts, self.fns, self.job, n)

    def alive(self) -> bool:
        return all(t.is_alive() for t in self.threads)
