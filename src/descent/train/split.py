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
on any load. (Whether the plan splits a product at all is decided by its shape and the
thread count, train/plan.py; whether helpers take part, by timing, `Chooser`.)

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
# depend on it). Two: computed one after the other they cost 3-20% more than the whole
# product (measured, one thread: 128x784 by 784x256 in 2 column blocks 0.62 ms against
# 0.56, in 4 blocks 0.77; 32x784 by 784x256 0.18 against 0.16 and 0.21), which is what
# the caller pays when the helpers do not help (see `Chooser`).
BLOCKS = 2


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


class Chooser:
    """Whether the helpers compute blocks beside the caller, or the caller alone: chosen by
    timing the steps both ways, and chosen again every so often as the load changes.

    This choice may follow the clock because it changes no bit of any result (the blocks
    are fixed by the shapes, each the same gemm call whoever computes it). On 2 vCPUs the
    helpers paid only when the other core was free: with other work on the machine a
    helper's block arrived late, and the data it touched moved between the cores' caches
    (measured: A32 steps 0.49 ms on one thread, 0.83-1.1 ms with a spinning helper at
    load 7-9). The caller alone is the first choice, the safe one: a wrong choice of
    helpers on a busy machine cost up to 2x, a wrong choice of the caller alone on a quiet
    one 1.3-1.8x on the split products. Early in a fit, and again at the end of every
    `every` steps, the other way is tried: `settle` steps not counted (they pay for moving
    data between the caches), then `probe` steps timed. Helpers are taken if the median
    of their timed steps is below `margin` times the median of the last `probe` steps
    alone, and left as soon as the caller alone is faster.

    >>> c = Chooser(2, every=10, probe=3, settle=0)
    >>> for _ in range(6):  # alone first; on this machine now the helpers halve a step
    ...     w = c.workers(); c.record(1.0 if w == 2 else 2.0)
    >>> c.current
    2
    """

    def __init__(self, most: int, every: int = 120, probe: int = 6, settle: int = 2,
                 margin: float = 0.85) -> None:
        self.most, self.every, self.probe, self.margin = most, every, probe, margin
        self.settle = settle
        self.current = 1
        self._since, self._was_trying = 0, False
        self._step = 0
        self._recent: list[float] = []  # the last `probe` step times the current way
        self._trial: list[float] = []

    def _trying(self, step: int) -> bool:
        """Whether step `step` tries the other way: steps span..2·span-1 (a first choice,
        early in the fit), then the last `span` steps of every `every`, where a span is
        `settle` steps to let the caches settle and `probe` steps timed."""
        span = self.settle + self.probe
        if step < 2 * span:
            return step >= span
        return (step - 2 * span) % self.every >= self.every - span

    def workers(self) -> int:
        """Threads for this step's split products."""
        if self.most < 2:
            return 1
        other = 1 if self.current > 1 else self.most
        return other if self._trying(self._step) else self.current

    def record(self, seconds: float) -> None:
        """The time the step just taken (with `workers()` threads) took."""
        if self.most < 2:
            return
        trying = self._trying(self._step)
        self._step += 1
        # The first steps after a change of way pay for moving the data between the
        # cores' caches: they are not counted, neither way.
        self._since = self._since + 1 if trying == self._was_trying else 1
        self._was_trying = trying
        if self._since <= self.settle:
            return
        if not trying:
            self._recent = (self._recent + [seconds])[-self.probe:]
            return
        self._trial.append(seconds)
        if len(self._trial) == self.probe:
            trial, self._trial = sorted(self._trial), []
            recent = sorted(self._recent)
            bar = self.margin if self.current == 1 else 1.0  # to helpers: clearly faster
            if recent and trial[len(trial) // 2] < bar * recent[len(recent) // 2]:
                self.current = 1 if self.current > 1 else self.most
                self._recent = trial
