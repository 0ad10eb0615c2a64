"""Big matrix products split over the cores by descent's own threads, BLAS on one thread.

Why not BLAS's own threads: OpenBLAS cuts a product into one fixed part per thread and
waits for all of them. On a busy machine a part whose thread is not running waits a
scheduler time slice (milliseconds) for a product of a fraction of one: measured on 2
shared cores, an A128 epoch (784-256-128-10, batch 128) took 2.5 s on 2 BLAS threads
against 0.5 s when quiet. Here a product is cut into a few parts that whoever runs takes:
the calling thread starts on them at once, a helper thread takes one whenever it gets to
run, and the caller waits only for parts a helper has actually started. On a quiet
machine that is two cores at work; on a busy one it is never much worse than one.

The parts are a fixed function of the shapes, each an ordinary one-thread BLAS product on
contiguous rows or columns of the output, so the result does not depend on which thread
computed which part, nor on the load: a run is reproducible bit for bit.

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

# Output rows or columns per part, at least; and the bounds fall on multiples of it, which
# keeps each part on the same BLAS kernels as the whole product (measured bit for bit
# equal to the unsplit one-thread product for the shapes of bench/run.py's networks).
ALIGN = 16


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


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray, axis: int, workers: int) -> None:
    """out = a @ b, cut along `axis` of out (0: rows, 1: columns) into parts for `workers`
    threads (this one and workers - 1 helpers). Each part's slice of out must be
    contiguous (rows of a C-ordered out, columns of a Fortran-ordered one) so that BLAS
    writes it directly."""
    size = out.shape[axis]
    cuts = bounds(size, 2 * workers)  # 2 parts a thread: a late helper costs half a part
    if workers < 2 or len(cuts) < 3:
        np.matmul(a, b, out=out)
        return
    if axis == 0:
        parts = [lambda lo=lo, hi=hi: np.matmul(a[lo:hi], b, out=out[lo:hi])
                 for lo, hi in itertools.pairwise(cuts)]
    else:
        parts = [lambda lo=lo, hi=hi: np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])
                 for lo, hi in itertools.pairwise(cuts)]
    helpers(workers - 1).run(parts)
