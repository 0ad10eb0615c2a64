"""Big matrix products split into fixed blocks, computed over the cores by descent's own
threads, BLAS on one thread.

Why not BLAS's own threads: OpenBLAS cuts a product into one fixed part per thread and
waits for all of them. On a busy machine a part whose thread is not running waits a
scheduler time slice (milliseconds) for a product of a fraction of one: measured on 2
shared cores, an A128 epoch (784-256-128-10, batch 128) took 2.5 s on 2 BLAS threads
against 0.5 s when quiet. And its threaded results differ from one thread's in the last
bits. Here a product is cut into BLOCKS blocks of whole output rows or columns, a fixed
function of its shape, each one call of NumPy's own gemm (train/gemm.py); the calling
thread starts on them at once and helpers take the others when they get to run, so the
caller waits only for blocks a helper has actually begun.

The helpers are, fastest first: spinning threads in compiled code (train/spin.py, with
numba: the `jit` extra), which really run beside the caller; else Python threads that
sleep between products (on 2 vCPUs these add almost nothing: a woken thread shares the
core of the thread that woke it). Whichever runs them, and however many there are (none
when BLAS is limited to one thread), the blocks are the same calls, so the result is the
same bit for bit: a run is reproducible and a resumed run matches an uninterrupted one,
on any load and any number of cores.

>>> import numpy as np
>>> a, b = np.ones((64, 300), np.float32), np.ones((300, 256), np.float32)
>>> out = np.empty((64, 256), np.float32, order="F")
>>> matmul(a, b, out, axis=1, workers=2)
>>> bool((out == 300).all())
True
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import numpy as np

from descent.train import gemm, spin

# Output rows or columns per block, at least; and the bounds fall on multiples of it, which
# keeps each block on the same BLAS kernels as the whole product (measured bit for bit
# equal to the unsplit one-thread product for the shapes of bench/run.py's networks).
ALIGN = 16
# Blocks per split product, whatever the number of cores (so that the result does not
# depend on it): 2 a thread on 2 cores, so that a late helper costs half a block.
BLOCKS = 4


class _Job:
    """One split product: parts handed out in order to whichever thread asks next."""

    def __init__(self, parts: list[Callable[[], object]]) -> None:
        self.parts = parts
        self._next = itertools.count().__next__  # atomic under the GIL
        self._left = len(parts)
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.error: BaseException | None = None

    def work(self) -> None:
        while True:
            i = self._next()
            if i >= len(self.parts):
                return
            try:
                self.parts[i]()
            except BaseException as e:  # the caller re-raises it
                self.error = e
            with self._lock:
                self._left -= 1
                if not self._left:
                    self.done.set()


class Helpers:
    """Daemon threads that take parts of the current job when they get to run."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._cv = threading.Condition()
        self._job: _Job | None = None
        self._threads = [threading.Thread(target=self._serve, daemon=True,
                                          name=f"descent-split-{i}") for i in range(n)]
        for t in self._threads:
            t.start()

    def _serve(self) -> None:
        last = None
        while True:
            with self._cv:
                while self._job is None or self._job is last:
                    self._cv.wait()
                job = last = self._job
            job.work()

    def run(self, parts: list[Callable[[], object]]) -> None:
        """Run every part, on this thread and the helpers; return when all are done."""
        job = _Job(parts)
        with self._cv:
            self._job = job
            self._cv.notify_all()
        job.work()
        job.done.wait()
        with self._cv:
            if self._job is job:
                self._job = None
        if job.error is not None:
            raise job.error


_helpers: dict[int, Helpers] = {}
_helpers_lock = threading.Lock()


def helpers(n: int) -> Helpers:
    """The process's pool of n helper threads, started on first use."""
    with _helpers_lock:
        pool = _helpers.get(n)
        if pool is None or not all(t.is_alive() for t in pool._threads):
            pool = _helpers[n] = Helpers(n)  # (a forked child has none running)
        return pool


def bounds(size: int, parts: int) -> list[int]:
    """Cut 0..size into at most `parts` pieces whose inner bounds are multiples of ALIGN."""
    step = -(-size // parts)
    step = -(-step // ALIGN) * ALIGN
    cuts = list(range(0, size, step)) + [size]
    return cuts


def _spin_pool(workers: int) -> spin.Pool | None:
    """The process's spinning helpers (workers - 1 of them) if their loops are loaded."""
    if not spin.loaded():
        return None
    n = min(workers, BLOCKS) - 1
    with _helpers_lock:
        pool = _spin_pools.get(n)
        if pool is None or not pool.alive():
            pool = _spin_pools[n] = spin.Pool(n)  # (a forked child has none running)
        return pool


_spin_pools: dict[int, spin.Pool] = {}


def splittable(a: np.ndarray, b: np.ndarray, out: np.ndarray, axis: int) -> bool:
    """Whether `matmul` can split out = a @ b along `axis` into its blocks (NumPy's
    gemm found, float32 or float64, BLAS-shaped operands), else it is one np.matmul."""
    if not gemm.available() or not gemm.blasable(a, b, out):
        return False
    return axis in (0, 1) and len(bounds(out.shape[axis], BLOCKS)) > 2


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray, axis: int, workers: int) -> None:
    """out = a @ b, cut along `axis` of out (0: rows, 1: columns) into `bounds(size,
    BLOCKS)` blocks, computed by up to `workers` threads (this one and helpers). The
    blocks and so the result depend only on the shapes, never on `workers` or on which
    thread ran what; a product `splittable` refuses is one np.matmul. Each block's slice
    of out should be contiguous (rows of a C-ordered out, columns of a Fortran-ordered
    one) so that BLAS writes it in place."""
    if not splittable(a, b, out, axis):
        np.matmul(a, b, out=out)
        return
    cuts = bounds(out.shape[axis], BLOCKS)
    pairs = list(itertools.pairwise(cuts))
    pool = _spin_pool(workers) if workers > 1 else None
    if pool is not None and pool.lock.acquire(blocking=False):
        try:
            _describe(a, b, out, axis, pairs, pool.parts)
            pool.run(len(pairs))
        finally:
            pool.lock.release()
        return
    rows = np.empty((len(pairs), gemm.FIELDS), np.int64)
    _describe(a, b, out, axis, pairs, rows)
    if workers < 2:
        for row in rows:
            gemm.call(row)
        return
    helpers(min(workers, BLOCKS) - 1).run([lambda row=row: gemm.call(row) for row in rows])


def _describe(a: np.ndarray, b: np.ndarray, out: np.ndarray, axis: int,
              pairs: list[tuple[int, int]], rows: np.ndarray) -> None:
    for row, (lo, hi) in zip(rows, pairs, strict=False):
        if axis == 0:
            gemm.describe(a[lo:hi], b, out[lo:hi], row)
        else:
            gemm.describe(a, b[:, lo:hi], out[:, lo:hi], row)
