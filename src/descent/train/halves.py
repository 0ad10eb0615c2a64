"""Optional (numba, the `jit` extra): a big MLP's training steps on two cores, each batch
cut in two halves of rows that go through the forward and backward passes at once.

Why: on a machine with two cores, one core's BLAS is the floor of the NumPy plan
(train/plan.py), and splitting each product over the cores (train/split.py) cost more in
hand-overs than it gained (docs/benchmarks.md: about six joins a step, each with a
wake-up). Here a step has two joins (train/halves_kernel.py): the halves of the batch go
through the whole forward pass and the deltas of the backward pass side by side, then
each thread computes half of every layer's gradient over the whole batch and updates
those weights itself. Whole runs of batches go through one compiled call, as for small
networks (train/jit.py), so nothing is paid per NumPy call either.

What is computed is fixed by the shapes alone: a batch of at least MIN_ROWS rows is cut
at (n + 1) // 2, each layer's [W; b] at (in + 1) // 2 rows (`cuts`), and every part is
the same sequence of calls whichever thread runs it. So the weights of a run are the
same bits whether the second thread helps or the caller computes both halves alone.
Which of the two runs is chosen by timing (`Chooser`: the caller alone first, the two
threads tried early in a fit and again every so often), which changes no bit. The
results differ from the plan's by rounding only (the halves and the loops of the
compiled kernel add in another order); tests/train/test_fastpath_properties.py checks
them against the engine.

When it is used (`for_fit`): numba installed, NumPy's gemm found (train/gemm.py), BLAS
allowed MIN_THREADS threads or more, `fit(compiled=True)` taking the plan for a network
too big for the small-network kernel (train/jit.py), an optimizer that kernel knows,
and either the kernel already loaded in this process (`warm_up()`) or a fit long enough
to pay for loading it (COLD_MIN_FLOPS).

>>> import numpy as np, descent as ds
>>> from descent.train import halves
>>> halves.warm_up(np.float32)      # load (or compile) the kernel now, not inside a fit
True
>>> X = np.random.default_rng(0).standard_normal((512, 784)).astype(np.float32)
>>> net = ds.nn.MLP([784, 256, 1], activation="relu", seed=0, dtype=np.float32)
>>> h = ds.fit(net, X, X[:, 0], optimizer="sgd", lr=0.01, epochs=3, verbose=False)
>>> h["loss"][-1] < h["loss"][0]
True
"""

from __future__ import annotations

import importlib.util
import time
from types import ModuleType
from typing import Any

import numpy as np

from descent.train import gemm
from descent.train.kernels import LazyKernel

# Threads BLAS must be allowed (the count in force when the fit starts: the cores, or the
# user's limit) for the halves: with one, the plan runs on one thread as before.
MIN_THREADS = 2
# A batch of fewer rows is one part (its phase 2 is still in halves of the weights).
MIN_ROWS = 16
# A process that has not loaded the kernel takes it only for fits of at least this many
# floating-point operations in their products: loading numba and the cached kernel costs
# about 1 s of one core, and the halves save up to 40% of a fit's time.
COLD_MIN_FLOPS = 1e11
# Batches per kernel call: between calls the fit loop sees Ctrl-C, the progress bar moves
# and the chooser reads the clock; each call does about CHUNK_WORK multiply-adds.
CHUNK_WORK = 1 << 26

# `available` looked up at each call, so that a test may stand in for it
_kernel = LazyKernel("descent.train.halves_kernel", lambda: available(),
                     lambda module, dtype: _warm_run(module, dtype))


def available() -> bool:
    """Whether the kernel can run here: numba installed and NumPy's gemm found."""
    return importlib.util.find_spec("numba") is not None and gemm.available()


def loaded(dtype: Any = np.float32) -> bool:
    """Whether the kernel is loaded for `dtype` in this process."""
    return _kernel.loaded(dtype)


def warm_up(dtype: Any = np.float32) -> bool:
    """Import numba and load (or compile, once per machine) the kernel for `dtype`; after
    this every fit of a big MLP in this process may use it. False where it cannot run."""
    return _kernel.warm_up(dtype)


def _warm_run(kernel: ModuleType, dtype: np.dtype) -> None:
    """One tiny run of the kernel: numba loads (or compiles) its code for `dtype`."""
    X = np.zeros((2, 1), dtype)
    w = np.zeros(2, dtype)
    layout = np.array([[0, 1, 1, 0]], np.int64)
    kernel.train_batches(X, np.zeros((2, 1), dtype), np.zeros(2, np.int64), np.arange(2), 2,
                         0, 1, w, np.zeros_like(w), layout, cuts(layout), 1, 0, 0,
                         np.zeros(5), w[:0], w[:0], 0, np.zeros(2, dtype), np.zeros(2, dtype),
                         np.zeros(2, dtype), np.zeros(1), _functions())


def _functions() -> np.ndarray:
    s, d, _ = gemm.functions() or (0, 0, True)
    return np.array([s, d], np.int64)


def cuts(layout: np.ndarray) -> np.ndarray:
    """cuts[l] = (0, c, in + 1): the rows of layer l's [W; b] that each part of phase 2
    computes and updates, a function of the shapes only."""
    return np.array([[0, (fan_in + 1) // 2, fan_in + 1] for _, fan_in, _, _ in layout],
                    np.int64)


class Chooser:
    """Whether a run of batches goes on two threads or the caller alone, chosen by timing
    (which changes no bit: see the module docstring), and chosen again as the load changes.

    Two threads pay only while the second core is free: on a busy machine a part whose
    thread is not running holds up the step for a scheduler time slice (measured on 2
    shared vCPUs: steps 1.3-3x slower than alone). So the caller alone is the first
    choice; the two threads are tried after `probe` runs alone (the first `settle` runs
    of a change are not counted: caches and sleeping threads), taken if the median of
    their `probe` runs is below `margin` times the median of the last `probe` runs alone,
    and tried again after a gap that doubles (up to `longest` runs) every time they lose.
    While they are taken, they are left as soon as the median of their last `probe` runs
    is no longer below the time alone, and the time alone is measured again every
    `every` runs. One run of two threads slower than `abandon` times the time alone ends
    a trial (or their use) at once: measured with one `yes` running beside an A32 fit,
    two threads took 12-38 ms a step against 0.5 alone (a part waits for a thread the
    scheduler has not run), where the noise of a quiet machine stays under 2x (a first
    step on two threads: 1.6x, the other thread waking and the caches filling).

    >>> c = Chooser(2, probe=3, settle=0)
    >>> for _ in range(12):  # the second core free: two threads halve a run
    ...     w = c.workers(); c.record(1.0 if w == 2 else 2.0)
    >>> c.workers()
    2
    """

    def __init__(self, most: int, probe: int = 3, settle: int = 1, margin: float = 0.85,
                 every: int = 256, first_gap: int = 8, longest: int = 256,
                 abandon: float = 4.0) -> None:
        self.most, self.probe, self.settle, self.margin = most, probe, settle, margin
        self.abandon = abandon
        self.every, self.first_gap, self.longest = every, first_gap, longest
        self.state = "alone"  # or "trial" (two threads on probation), "both", "recheck"
        self.gap = first_gap
        self._runs = 0  # runs since the state changed
        self._alone: list[float] = []
        self._both: list[float] = []
        self._since_check = 0

    @property
    def current(self) -> int:
        return self.workers()

    def workers(self) -> int:
        """Threads for the next run of batches."""
        if self.most < 2:
            return 1
        return 2 if self.state in ("trial", "both") else 1

    def _to(self, state: str) -> None:
        self.state, self._runs = state, 0

    def record(self, seconds: float) -> None:
        """The time per batch of the run just taken (with `workers()` threads)."""
        if self.most < 2:
            return
        self._runs += 1
        if self.state in ("trial", "both") and seconds > self.abandon * _median(self._alone):
            # A part waited for a thread that was not running: a busy machine. Alone at
            # once, settling run or not (each such run costs several runs alone).
            self.gap = min(2 * self.gap, self.longest)
            self._to("alone")
            return
        if self._runs <= self.settle and self.state != "alone":
            return
        if self.state in ("alone", "recheck"):
            self._alone = (self._alone + [seconds])[-self.probe:]
            if self.state == "recheck" and self._runs >= self.settle + self.probe:
                self._to("both" if _median(self._both) < self.margin * _median(
                    self._alone) else "alone")
                self._since_check = 0
            elif self.state == "alone" and self._runs >= self.gap \
                    and len(self._alone) == self.probe:
                self._both = []
                self._to("trial")
            return
        self._both = (self._both + [seconds])[-self.probe:]
        if len(self._both) < self.probe:
            return
        if self.state == "trial":
            if _median(self._both) < self.margin * _median(self._alone):
                self.gap = self.first_gap
                self._since_check = 0
                self._to("both")
            else:
                self.gap = min(2 * self.gap, self.longest)
                self._to("alone")
            return
        self._since_check += 1
        if _median(self._both) >= _median(self._alone):  # the load came back: alone now
            self.gap = min(2 * self.gap, self.longest)
            self._to("alone")
        elif self._since_check >= self.every:
            self._to("recheck")


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else float("inf")


# The alone-or-both choice of each network shape and batch size, kept across fits (it
# changes only how fast, never what is computed).
_CHOOSERS: dict[Any, Chooser] = {}


def _chooser(key: Any, most: int) -> Chooser:
    chooser = _CHOOSERS.get(key)
    if chooser is None or chooser.most != most:
        if len(_CHOOSERS) >= 64:
            _CHOOSERS.clear()
        chooser = _CHOOSERS[key] = Chooser(most)
    return chooser


def threads_allowed(blas_most: int) -> int:
    """Threads the kernel may run on: BLAS's count in force, numba's, and two at most."""
    import numba

    return max(1, min(blas_most, numba.config.NUMBA_NUM_THREADS, 2))


def run(epochs: Any, order: np.ndarray, first: int, last: int, losses: np.ndarray) -> int:
    """JitEpochs.run for the halves kernel (see train/jit.py): train batches first..last-1
    on one thread or two, as the chooser says; returns how many it trained."""
    import numba

    assert _kernel.module is not None
    plan, opt = epochs.plan, epochs.plan.optimizer
    rule, hyper = epochs.rule()
    state = opt._flat_state or []
    s1 = state[0] if state else plan.grad[:0]
    s2 = state[1] if len(state) > 1 else plan.grad[:0]
    t0 = opt._t[0]
    plan.threads.use(1)  # each half's products on one BLAS thread
    chooser = epochs.chooser
    workers = chooser.workers()
    before = numba.get_num_threads()
    numba.set_num_threads(workers)
    start = time.perf_counter()
    try:
        done = _kernel.module.train_batches(
            epochs.X, epochs.y_rows, epochs.y_labels, order, epochs.batch_size, first, last,
            plan.w, plan.grad, epochs.layout, epochs.cuts, epochs.min_rows, epochs.loss,
            rule, hyper, s1, s2, t0, epochs.xb, epochs.acts, epochs.deltas, losses,
            epochs.fns)
    finally:
        numba.set_num_threads(before)
    chooser.record((time.perf_counter() - start) / max(last - first, 1))
    opt._t[:] = [t0 + done] * len(opt._t)
    opt.step_count += done
    return int(done)
