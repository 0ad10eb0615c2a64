"""Optional: a small MLP's training epochs compiled whole by numba (the `jit` extra).

For a small network the NumPy plan (train/plan.py) spends most of a step calling NumPy:
about 25 calls of 1-2 µs each on 32x64 arrays, where the arithmetic takes a few µs. Here
numba compiles the same step, loops and BLAS products, and a whole run of batches goes
through one call (`jit_kernel.train_batches`), so nothing is paid per call. The NumPy
plan stays the reference: this path computes its formulas in another order (and float32
tanh as a rational function), equal to it and to the engine to float rounding, which
tests/train/test_jit.py checks over random networks.

When it is used (`for_fit`): numba is installed, `fit(compiled=True)` would use the plan
and the network is small (per step at most SMALL_WORK multiply-adds in its products;
larger products are BLAS time whatever calls them, and the plan spreads them over the
cores); the optimizer is SGD (plain, momentum, Nesterov, weight decay), Adam or AdamW;
no callback but the progress display has per-batch hooks. And loading it pays: the first use
in a process imports numba and loads the compiled kernel from numba's cache (about
0.5 s; the very first use on a machine compiles it, several seconds), so a cold process
takes the JIT only for fits of at least COLD_MIN_STEPS steps; once loaded (by such a
fit, or by `warm_up()`) every small fit uses it. `fit(..., compiled="numpy")` keeps the
plan.

>>> import numpy as np, descent as ds
>>> from descent.train import jit
>>> jit.warm_up(np.float32)      # load (or compile) the kernel now, not inside a fit
True
>>> X = np.random.default_rng(0).standard_normal((256, 3)).astype(np.float32)
>>> net = ds.nn.MLP([3, 8, 1], activation="tanh", seed=0, dtype=np.float32)
>>> h = ds.fit(net, X, X.sum(axis=1), optimizer="sgd", lr=0.05, epochs=5, verbose=False)
>>> h["loss"][-1] < h["loss"][0]
True
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import numpy as np

from descent.optim import SGD, Adam, Optimizer
from descent.train import halves
from descent.train.kernels import LazyKernel
from descent.train.plan import CompiledStep

# A step whose products do at most this many multiply-adds is small: its time is per-call
# overhead, which the kernel removes (13-64-64-1 at batch 32: 160 k; measured 17 µs a step
# against the plan's 45 on one core). Bigger networks keep the plan and its BLAS threads.
SMALL_WORK = 1 << 21
# A process that has not loaded the kernel yet uses it only for fits this long: about
# 25 µs saved a step against about 0.5 s to import numba and load the cached kernel.
COLD_MIN_STEPS = 100_000
# Batches per kernel call: between calls the fit loop sees Ctrl-C and the progress bar
# moves; each call does about CHUNK_WORK multiply-adds (a few ms).
CHUNK_WORK = 1 << 25

ACTIVATIONS = {"identity": 0, "tanh": 1, "relu": 2, "sigmoid": 3, "scaled_tanh": 4,
               "leaky_relu": 5}
LOSSES = {"mse": 0, "quadratic": 1, "cross_entropy": 2,
          "binary_cross_entropy_with_logits": 4}

# `available` looked up at each call, so that a test may stand in for it
_kernel = LazyKernel("descent.train.jit_kernel", lambda: available(),
                     lambda module, dtype: module.warm(dtype))


def available() -> bool:
    """Whether numba (and SciPy, whose BLAS numba's np.dot calls) can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("numba", "scipy"))


def warm_up(dtype: Any = np.float32) -> bool:
    """Import numba and load (or compile, once per machine) the kernel for `dtype`.

    After this, every `fit` of a small MLP in this process uses the compiled epochs.
    Returns False, doing nothing, when numba is not installed.
    """
    return _kernel.warm_up(dtype)


def _rule(opt: Optimizer) -> tuple[int, np.ndarray] | None:
    """(rule code, hyperparameters) for the kernel, or None for a rule it does not know."""
    if type(opt)._update is SGD._update:
        return 0, np.array([opt.lr, opt.momentum, float(opt.nesterov), opt.weight_decay, 0.0])
    if type(opt)._update is Adam._update:
        b1, b2 = opt.betas
        return (2 if opt._decoupled else 1), np.array([opt.lr, b1, b2, opt.eps,
                                                        opt.weight_decay])
    return None


class JitEpochs:
    """The plan's network, loss and optimizer, trained by the kernel a run of batches at a
    time. It trains the plan's flat weights (`plan.w`, copied in and out by the plan's
    `hold()` and `release()`) and leaves the last gradient in `plan.grad`."""

    def __init__(self, plan: CompiledStep, X: np.ndarray, y: np.ndarray,
                 batch_size: int, both: int = 0) -> None:
        """`both`: 0 for the small-network kernel; else the threads (1 or 2) BLAS allows,
        and the steps go through the halves kernel (train/halves.py) instead."""
        self.plan, self.batch_size, self.both = plan, batch_size, both
        dtype = plan.dtype
        layout, offset = [], 0
        for lin, act in plan.layers:
            layout.append([offset, lin.in_features, lin.out_features, ACTIVATIONS[act]])
            offset += (lin.in_features + 1) * lin.out_features
        self.layout = np.array(layout, np.int64)
        loss = LOSSES[plan.loss.name]
        if loss == 2 and y.ndim == 2:
            loss = 3  # cross-entropy against target rows (one-hot or probabilities)
        self.loss = loss
        self.X = X
        if loss == 2:
            self.y_labels, self.y_rows = y, np.zeros((1, 1), dtype)
        else:
            self.y_rows = np.ascontiguousarray(y.reshape(len(y), -1))
            self.y_labels = np.zeros(1, np.int64)
        widths = int(self.layout[:, 2].sum())
        n = min(batch_size, len(X))
        self.xb = np.empty(n * int(self.layout[0, 1]), dtype)
        self.acts = np.empty(n * widths, dtype)
        self.deltas = np.empty(n * widths, dtype)
        work = n * int((self.layout[:, 1] * self.layout[:, 2]).sum())
        self.chunk = max(1, CHUNK_WORK // max(work, 1))
        if both:
            self.chunk = max(1, halves.CHUNK_WORK // max(work, 1))
            self.cuts = halves.cuts(self.layout)
            self.min_rows = halves.MIN_ROWS
            self.fns = halves._functions()
            self.chooser = halves._chooser((self.layout.tobytes(), n, dtype), both)

    def rule(self) -> tuple[int, np.ndarray]:
        """The optimizer's rule code and hyperparameters, read now (a schedule may have
        changed lr since the last run)."""
        found = _rule(self.plan.optimizer)
        assert found is not None
        return found

    def run(self, order: np.ndarray, first: int, last: int,
            losses: np.ndarray) -> int:
        """Train batches first..last-1 of the epoch `order`; their losses into `losses`.

        Returns how many it trained: fewer when a loss was not finite (that batch's step
        is applied, and it is the last one trained, as in the plan's fit loop).
        """
        if self.both:
            return halves.run(self, order, first, last, losses)
        assert _kernel.module is not None
        plan, opt = self.plan, self.plan.optimizer
        rule, hyper = self.rule()
        state = opt._flat_state or []
        s1 = state[0] if state else plan.grad[:0]
        s2 = state[1] if len(state) > 1 else plan.grad[:0]
        t0 = opt._t[0]
        done = _kernel.module.train_batches(
            self.X, self.y_rows, self.y_labels, order, self.batch_size, first, last, plan.w,
            plan.grad, self.layout, self.loss, rule, hyper, s1, s2, t0, self.xb, self.acts,
            self.deltas, losses)
        opt._t[:] = [t0 + done] * len(opt._t)
        opt.step_count += done
        return int(done)

    def epoch(self, order: np.ndarray) -> Iterator[tuple[int, float, bool]]:
        """Train one epoch in runs of `chunk` batches; yield (rows, loss, last of its run)
        for every batch trained, after its run. Stops after a non-finite loss."""
        n = len(order)
        batches = -(-n // self.batch_size)
        losses = np.empty(batches, np.float64)
        self.plan.hold()
        for params, grad in zip(self.plan.params, self.plan._grad_views, strict=True):
            params.grad = grad
        first = 0
        while first < batches:
            last = min(batches, first + self.run_size())
            done = self.run(order, first, last, losses)
            for b in range(first, first + done):
                rows = min(self.batch_size, n - b * self.batch_size)
                yield rows, float(losses[b]), b == first + done - 1
            if done < last - first:
                return
            first = last

    def run_size(self) -> int:
        """Batches in the next run: `chunk`; one while the halves kernel tries two threads
        (halves.Chooser), so that a trial on a busy machine costs one slow step."""
        if self.both and self.chooser.state == "trial":
            return 1
        return self.chunk


def for_fit(plan: CompiledStep | None, X: np.ndarray, y: np.ndarray, batch_size: int,
            steps: int, hooks_ok: bool, mode: bool | str = True) -> JitEpochs | None:
    """The compiled epochs for this fit, or None where the plan (or engine) should run.

    `steps`: batches in the whole fit; `hooks_ok`: no callback but the progress display
    has per-batch hooks; `mode`: fit's `compiled` (True: decide here; "jit": use it
    wherever it can run; anything else: never).
    """
    if not isinstance(plan, CompiledStep) or mode not in (True, "jit") or not hooks_ok \
            or not available():
        return None
    if not _supported(plan, X, y):
        return None
    n = min(batch_size, len(X))
    work = n * sum(lin.in_features * lin.out_features for lin, _ in plan.layers)
    if work > SMALL_WORK and mode is True:
        return _halves_for_fit(plan, X, y, batch_size, 2.0 * work * steps)
    if mode is True:
        if not _kernel.loaded(plan.dtype) and steps < COLD_MIN_STEPS:
            return None
    if not warm_up(plan.dtype):
        return None
    return JitEpochs(plan, X, y, batch_size)


def _halves_for_fit(plan: CompiledStep, X: np.ndarray, y: np.ndarray, batch_size: int,
                    flops: float) -> JitEpochs | None:
    """The halves kernel's epochs for a big network (train/halves.py), or None: the plan."""
    plan.threads.resync()
    most = plan.threads.most if plan.threads.available else 1
    if most < halves.MIN_THREADS or not halves.available():
        return None
    if not halves.loaded(plan.dtype) and flops < halves.COLD_MIN_FLOPS:
        return None
    if not halves.warm_up(plan.dtype):
        return None
    return JitEpochs(plan, X, y, batch_size, both=halves.threads_allowed(most))


def _supported(plan: CompiledStep, X: np.ndarray, y: np.ndarray) -> bool:
    opt = plan.optimizer
    if plan.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        return False
    if not plan._flat or _rule(opt) is None or opt._t.count(opt._t[0]) != len(opt._t):
        return False
    if plan.loss.name not in LOSSES or any(act not in ACTIVATIONS for _, act in plan.layers):
        return False
    if not X.flags.c_contiguous or X.dtype != plan.dtype:
        return False  # (fit's input checks give a C-ordered X; the kernel reads only that)
    if len(y) != len(X):
        return False
    if plan.loss.name == "cross_entropy" and y.ndim == 1:
        return y.dtype == np.int64  # (fit has checked that they name outputs)
    # The kernel reads k targets a row; a y of another width is the plan's error to raise.
    k = plan.layers[-1][0].out_features
    return y.dtype == plan.dtype and y.size == len(y) * k

