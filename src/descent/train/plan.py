"""A compiled training step for plain MLPs: backpropagation as a fixed plan of NumPy calls.

The engine builds a graph node per op on every batch; for a network whose shape never
changes that bookkeeping is pure overhead. `compile_step` reads the model once (a stack of
Linear layers, each optionally followed by an activation) and returns a step that replays
the same forward and backward pass as the engine, written as the textbook formulas with
preallocated buffers:

    forward   z_l = a_{l-1} W_l + b_l,     a_l = f_l(z_l)
    output    δ_L = ∂C/∂z_L                (fused: softmax + cross-entropy gives (p - y)/N)
    backward  ∂C/∂W_l = a_{l-1}ᵀ δ_l,  ∂C/∂b_l = Σ_n δ_l,  δ_{l-1} = (δ_l W_lᵀ) ⊙ f'(a_{l-1})

Activation derivatives are taken from the outputs a (tanh: 1 - a², sigmoid: a(1 - a)),
so z need not be kept. Anything else (other layers, losses, sample weights, odd dtypes)
returns None and `fit` uses the engine. tests/train/test_plan.py checks that both give
the same weights after many steps.

What makes it fast (each lever measured with bench/run.py; docs/benchmarks.md has the
numbers):

- every array is allocated once per batch size and every NumPy call writes into one
  (`out=`), so a step allocates next to nothing;
- the plan trains a flat copy of the weights, layer by layer [W; b] end to end (copied in
  by `hold()`, back by `release()`), and the gradients alike, so the optimizer updates all
  of them in one call (`Optimizer.step_flat`) instead of two or more per parameter; for
  plain SGD the learning rate rides along the backward pass (δ_L is scaled by it) and the
  update is a single `w -= lr·g`;
- hidden activations carry a column of ones, so [a | 1][W; b] adds the bias inside the
  matrix product and [a | 1]ᵀ δ gives ∂C/∂W and ∂C/∂b together; for the first layer
  Σ_n δ is a product with a vector of ones, cheaper than a reduction;
- activations and deltas are column-major, the layout in which OpenBLAS multiplies δ Wᵀ
  fastest (see `_Buffers`);
- BLAS runs on one thread (OpenBLAS's own threads stall on a busy machine and change
  the last bits); with 3 or more threads allowed, a big product is split into blocks
  fixed by its shape, computed beside the caller by spinning helper threads when timing
  shows they pay (train/split.py, train/spin.py): which products are split is chosen
  per batch size from their shapes and the thread count (`splits`, `_Buffers`), never
  from the clock, so the rounding never depends on the load.

Where numba is installed (the `jit` extra) and BLAS may use 2 threads or more, `fit`
trains a big MLP through train/halves.py instead: each batch cut in two halves of rows
that go through the step side by side, two joins a step (docs/benchmarks.md: the
per-product split above had about six, and lost to one thread on 2 vCPUs). This plan
stays the reference, and the path of `fit(compiled="numpy")`, of callbacks that look at
the weights between batches, and of machines without numba.

`compile_forward` is the forward pass alone, for prediction in chunks spread over the
cores (`CompiledForward`), used by `descent.train.predict_array`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from descent.nn import Activation, Linear, Loss, Module, Sequential
from descent.optim import Optimizer
from descent.train import spin, split

SCALED_TANH_A, SCALED_TANH_B = 1.7159, 2.0 / 3.0

# A product is split into blocks over the cores (train/split.py: BLAS on one thread per
# block, spinning helpers beside the caller) only when it has at least this many
# floating-point operations and every side at least PARALLEL_MIN_SIDE. The shape alone
# decides, because the blocks decide the rounding. Measured on 2 vCPUs (bench/run.py,
# docs/benchmarks.md): the two 51 MFLOP products of a 784-256-128 network at batch 128
# take 1.0 ms a step split against 1.8 ms whole when the second core is free; a split
# product computed by the caller alone costs 3-20% more than the whole one, and at batch
# 32 (the 12.8 MFLOP products) the epoch was faster whole in every run (10,000 rows: 0.16
# against 0.18-0.20 s). Below 32 rows a block is too short.
PARALLEL_MIN_FLOPS = 2e7
PARALLEL_MIN_SIDE = 32
# ... and only where BLAS may use at least this many threads (the count in force when the
# plan is made: the cores, or the user's limit). On 2 vCPUs, the machine measured, every
# full-size A128 run was fastest with nothing split, on one thread (docs/benchmarks.md:
# 0.77-0.80 s an epoch against 0.85-0.95 s split with the helpers chosen by timing and
# 1.13-1.20 s for the split before): the second core is where everything else on the
# machine runs, and a split product computed by the caller alone costs 10-20% more.
# With more cores a helper has a free one more often; that was not measured. The second
# core is used on 2 vCPUs by the step in halves of rows instead (train/halves.py, which
# `fit` takes for big MLPs where numba is installed: 1.1-1.5x this plan's speed on A,
# docs/benchmarks.md, December 1); this split is for the plan's other users.
SPLIT_MIN_THREADS = 3
# A fit whose split products add up to this many floating-point operations loads the
# spinning helpers (train/spin.py: imports numba, about 1 s) if they are installed: about
# 0.5 s of one core's BLAS time, which they halve on 2 free cores. Once loaded, every fit
# in the process uses them. (Either way the results are the same bits.)
SPIN_MIN_FLOPS = 2e10


# ---- BLAS threads ---------------------------------------------------------------------------

class BlasThreads:
    """The thread count of NumPy's BLAS, set per matrix product and restored afterwards.

    Uses threadpoolctl when it is installed (it is imported only here, on first use);
    without it every call is a no-op and BLAS keeps its own choice. `most` is the count
    in force when the object was made, so a user's limit (OMP_NUM_THREADS,
    `threadpool_limits`) is never exceeded. The count is process-wide: `restore()` puts
    it back before any code outside the plan runs.
    """

    _controllers: list[Any] | None = None  # found once per process: the search is slow

    def __init__(self) -> None:
        self._libs = self._numpy_blas()
        self.most = self.current = self.original = self._get()

    @classmethod
    def _numpy_blas(cls) -> list[Any]:
        if cls._controllers is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                cls._controllers = []
                return cls._controllers
            try:
                libs = ThreadpoolController().select(user_api="blas").lib_controllers
            except Exception:  # an odd loader or BLAS: work without control
                libs = []
            # Other packages (scipy, torch) may bring their own BLAS; only NumPy's counts.
            numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
            own = [lib for lib in libs if str(getattr(lib, "filepath", "")).startswith(
                numpy_dir) and "numpy" in str(lib.filepath)]
            cls._controllers = own or libs
        return cls._controllers

    def _get(self) -> int:
        counts = [lib.get_num_threads() for lib in self._libs]
        return max([c for c in counts if c] or [1])

    @property
    def available(self) -> bool:
        return bool(self._libs)

    def use(self, n: int) -> None:
        """Run the following products on n threads (no call when it is already so)."""
        if n != self.current:
            for lib in self._libs:
                lib.set_num_threads(n)
            self.current = n

    def restore(self) -> None:
        """Back to the count found at creation; other threads may set it again."""
        self.use(self.original)
        for lib in self._libs:
            clear = getattr(type(lib), "clear_controlling_thread", None)
            if clear is not None:
                clear()

    def resync(self) -> None:
        """Read the count again: code outside the plan may have changed it."""
        self.current = self._get()

    def for_product(self, m: int, k: int, n: int) -> int:
        """Threads for an (m×k)(k×n) product: all of them only when it is big enough."""
        return self.most if self.splitting and splits(m, k, n) else 1

    @property
    def splitting(self) -> bool:
        """Whether big products are split at all with this many threads."""
        return self.most >= SPLIT_MIN_THREADS


def splits(m: int, k: int, n: int) -> bool:
    """Whether an (m×k)(k×n) product is big enough to be split into blocks (train/split.py)
    where the threads allow it (`BlasThreads.splitting`). A function of the shape: the
    blocks decide the rounding, so the weights a run ends with depend on the shapes and the
    thread count in force, never on the load or on which thread computed what."""
    return 2.0 * m * k * n >= PARALLEL_MIN_FLOPS and min(m, k, n) >= PARALLEL_MIN_SIDE


# ---- activations in place, and their derivatives from the output -----------------------------

def _exp_minus_abs(z: np.ndarray, tmp: np.ndarray) -> None:
    """tmp = e^{-|z|}. Not `np.negative(tmp, out=tmp)`: NumPy 2.4.6 negates a one-column
    strided view in place wrongly (tests/train/test_numpy_inplace.py), so the sign goes
    through a binary ufunc, which it gets right."""
    np.abs(z, out=tmp)
    np.multiply(tmp, -1, out=tmp)
    np.exp(tmp, out=tmp)


def _sigmoid_(z: np.ndarray, tmp: np.ndarray) -> None:
    # Stable: e^{-|z|} never overflows; sigmoid = 1/(1+e) for z >= 0, e/(1+e) otherwise.
    _exp_minus_abs(z, tmp)
    positive = z >= 0
    np.add(tmp, 1, out=z)
    np.divide(np.where(positive, 1, tmp), z, out=z)


def _scaled_tanh_(z: np.ndarray, tmp: np.ndarray) -> None:
    z *= SCALED_TANH_B
    np.tanh(z, out=z)
    z *= SCALED_TANH_A


def _leaky_relu_(z: np.ndarray, tmp: np.ndarray) -> None:
    np.multiply(z, 0.01, out=tmp)
    np.maximum(z, tmp, out=z)  # for slope < 1, max(z, 0.01 z) is leaky_relu


FORWARD: dict[str, Callable[[np.ndarray, np.ndarray], None]] = {
    "tanh": lambda z, tmp: np.tanh(z, out=z),
    "relu": lambda z, tmp: np.maximum(z, 0, out=z),
    "sigmoid": _sigmoid_,
    "scaled_tanh": _scaled_tanh_,
    "leaky_relu": _leaky_relu_,
}


def _softmax_(z: np.ndarray, tmp: np.ndarray) -> None:
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)


# Prediction may end in a softmax; training never needs it (cross-entropy takes logits).
PREDICT_FORWARD = {**FORWARD, "softmax": _softmax_}


def _times_tanh_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    np.multiply(a, a, out=tmp)  # f' = 1 - a²
    np.subtract(1, tmp, out=tmp)
    delta *= tmp


def _times_sigmoid_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    np.subtract(1, a, out=tmp)  # f' = a(1 - a)
    tmp *= a
    delta *= tmp


def _times_relu_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    # f' = 1 where z > 0, i.e. where a > 0; 0 at 0 as in the engine. The 0/1 factor goes
    # through tmp (float) rather than a fresh boolean array.
    np.greater(a, 0, out=tmp)
    delta *= tmp


def _times_leaky_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    delta *= np.where(a > 0, 1.0, 0.01).astype(delta.dtype, copy=False)


def _times_scaled_tanh_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    # f = A tanh(Bz) => f' = A B (1 - tanh²) = B (A - a²/A)
    np.multiply(a, a, out=tmp)
    tmp *= -1.0 / SCALED_TANH_A
    tmp += SCALED_TANH_A
    tmp *= SCALED_TANH_B
    delta *= tmp


TIMES_DERIVATIVE: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], None]] = {
    "tanh": _times_tanh_prime,
    "relu": _times_relu_prime,
    "sigmoid": _times_sigmoid_prime,
    "scaled_tanh": _times_scaled_tanh_prime,
    "leaky_relu": _times_leaky_prime,
}

# Losses the plan fuses with the output layer: name -> which output activations it allows.
LOSSES = {"mse": {"identity"}, "quadratic": {"identity", *FORWARD},
          "cross_entropy": {"identity"}, "binary_cross_entropy_with_logits": {"identity"}}
LOSSES["mse"] |= set(FORWARD)


def _layers(model: Module, table: dict[str, Any] = FORWARD) -> list[tuple[Linear, str]] | None:
    """[(linear, activation name)] for a plain Linear/Activation stack, else None."""
    if not isinstance(model, Sequential):
        return None
    out: list[tuple[Linear, str]] = []
    for layer in model:
        if isinstance(layer, Linear):
            if layer.bias is None:
                return None
            out.append((layer, "identity"))
        elif isinstance(layer, Activation) and out and out[-1][1] == "identity" \
                and layer.name in table:
            out[-1] = (out[-1][0], layer.name)
        else:
            return None
    return out or None


class _Arena:
    """Flat storage for the buffers of every batch size up to `capacity` rows.

    The step runs one batch at a time, so the buffers of the usual batch size and of the
    smaller last batch of an epoch can share memory: each is a view of the first rows'
    worth of these arrays.
    """

    def __init__(self, widths: list[int], capacity: int, dtype: np.dtype) -> None:
        self.capacity = capacity
        self.aug = [np.empty(capacity * (w + 1), dtype) for w in widths[:-1]]
        self.out = np.empty(capacity * widths[-1], dtype)
        self.delta = [np.empty(capacity * w, dtype) for w in widths]
        self.tmp = np.empty(capacity * max(widths), dtype)  # scratch, one layer at a time


def _columns(flat: np.ndarray, n: int, w: int) -> np.ndarray:
    """An (n, w) column-major array viewing the first n·w elements of `flat`."""
    return flat[: n * w].reshape(w, n).T


# The helper-or-alone choice of each network shape and batch size (split.Chooser), kept
# across fits: what one fit learnt about the machine the next starts from. (It changes
# only how fast, never what is computed.)
_CHOOSERS: dict[Any, split.Chooser] = {}


def _chooser(key: Any, most: int) -> split.Chooser:
    chooser = _CHOOSERS.get(key)
    if chooser is None or chooser.most != most:
        if len(_CHOOSERS) >= 64:
            _CHOOSERS.clear()
        chooser = _CHOOSERS[key] = split.Chooser(most)
    return chooser


class _Buffers:
    """Every array one step needs, for one batch size (views of an `_Arena`); and the
    number of BLAS threads of its products.

    Activations and deltas are column-major (Fortran order, feature by feature): then
    δ_l W_lᵀ multiplies two column-major operands, which OpenBLAS does at full speed,
    where the row-major layout makes Wᵀ a transposed operand it handles up to 1.7x slower
    for small batches. Each hidden activation buffer has one more column, of ones, that
    the next layer's product multiplies with its bias row: [a | 1] [W; b] = a W + b, and
    [a | 1]ᵀ δ gives ∂C/∂W and ∂C/∂b in one product.
    """

    def __init__(self, layers: list[tuple[Linear, str]], n: int, dtype: np.dtype,
                 threads: BlasThreads, arena: _Arena) -> None:
        widths = [lin.out_features for lin, _ in layers]
        ins = [lin.in_features for lin, _ in layers]
        # [a_l | 1] for the hidden layers; a_l itself is its first columns, contiguous.
        self.aug = [_columns(f, n, w + 1) for f, w in zip(arena.aug, widths, strict=False)]
        self.a = [aug[:, :-1] for aug in self.aug] + [_columns(arena.out, n, widths[-1])]
        self.delta = [_columns(f, n, w) for f, w in zip(arena.delta, widths, strict=True)]
        self.tmp = [_columns(arena.tmp, n, w) for w in widths]
        self.ones = np.ones(n, dtype)  # Σ_n δ = 1ᵀ δ for the first layer, one BLAS call
        self.rows = np.arange(n)
        self.col = np.empty((n, 1), dtype)  # per-row max, sum and log-sum of the softmax
        self.col2 = np.empty((n, 1), dtype)
        self.col3 = np.empty((n, 1), dtype)
        self.ones_out = np.ones(widths[-1], dtype)
        # One BLAS thread count for the whole step, set once: all threads if one of its
        # products (forward n×in·in×out, gradient in×n·n×out, delta n×out·out×in) is worth
        # splitting, else one. OpenBLAS keeps tiny products on one thread by itself, and
        # changing the count between products makes its idle thread sleep and wake.
        # Per product, how many threads share it (train/split.py: descent's own threads,
        # BLAS on one each): all of them only for a product worth splitting.
        self.forward_workers = [threads.for_product(n, i, o)
                                for i, o in zip(ins, widths, strict=True)]
        self.grad_workers = [threads.for_product(i, n, o) for i, o in zip(ins, widths,
                                                                             strict=True)]
        self.delta_workers = [threads.for_product(n, o, i) for i, o in zip(ins, widths,
                                                                              strict=True)]
        self.threads = max(self.forward_workers + self.grad_workers + self.delta_workers)
        # Whether each product is split into blocks: the shape alone decides (see `splits`).
        on = threads.splitting
        self.forward_split = [on and splits(n, i, o) for i, o in zip(ins, widths, strict=True)]
        self.grad_split = [on and splits(i, n, o) for i, o in zip(ins, widths, strict=True)]
        self.delta_split = [on and splits(n, o, i) for i, o in zip(ins, widths, strict=True)]
        # How many threads compute the blocks of the split products: chosen by timing,
        # which changes no bit (split.Chooser); None when nothing is split.
        self.chooser = _chooser((tuple(zip(ins, widths, strict=True)), n, dtype),
                                threads.most) if any(
            self.forward_split + self.grad_split + self.delta_split) else None

    def activate(self) -> None:
        """Set the ones columns, which another batch size's buffers may have overwritten."""
        for aug in self.aug:
            aug[:, -1] = 1


class CompiledStep:
    """One training step of an MLP as a fixed sequence of NumPy calls into buffers.

    The step trains a flat copy of the weights: each layer's weight matrix W (in, out)
    followed by its bias b, end to end, so that [W; b] is one (in+1, out) matrix and the
    whole update is one optimizer call (`Optimizer.step_flat`). The gradients are laid out
    alike, and each parameter's `.grad` is its view of them after every step. Called on
    its own, the step copies the weights in and out every time; `fit` calls `hold()`
    once per epoch and `release()` at its end (and before callbacks that look at the
    weights), so the copies happen once per epoch.
    """

    def __init__(self, layers: list[tuple[Linear, str]], loss: Loss, optimizer: Optimizer,
                 dtype: np.dtype) -> None:
        self.layers, self.loss, self.optimizer, self.dtype = layers, loss, optimizer, dtype
        self.params = [p for lin, _ in layers for p in (lin.weight, lin.bias)]
        size = sum(p.data.size for p in self.params)
        self.w = np.zeros(size, dtype)  # the weights while the plan holds them
        self.grad = np.zeros(size, dtype)
        self.Wb, self.G = [], []  # (in+1, out) views: [W; b] and [∂C/∂W; ∂C/∂b]
        start = 0
        for lin, _ in layers:
            stop = start + (lin.in_features + 1) * lin.out_features
            self.Wb.append(self.w[start:stop].reshape(lin.in_features + 1, lin.out_features))
            self.G.append(self.grad[start:stop].reshape(self.Wb[-1].shape))
            start = stop
        self._param_views = [v for M in self.Wb for v in (M[:-1], M[-1])]
        self._grad_views = [v for M in self.G for v in (M[:-1], M[-1])]
        # The optimizer's flat state must line up with these flat weights.
        self._flat = [id(p) for p in optimizer.params] == [id(p) for p in self.params]
        self.threads = BlasThreads()
        self._buffers: dict[int, _Buffers] = {}
        self._arena: _Arena | None = None
        self._active: _Buffers | None = None
        self._loss_name, self._out_act = loss.name, layers[-1][1]
        self._acts = [act for _, act in layers]
        self._held = False
        self._scaled_by = 0.0  # the learning rate the gradients are scaled by, if any
        self._workers = 1  # threads for the current step's split products

    def covers(self, xb: np.ndarray) -> bool:
        return xb.dtype == self.dtype and xb.ndim == 2 \
            and xb.shape[1] == self.layers[0][0].in_features

    def hold(self) -> None:
        """Copy the parameters in; until `release()` the plan's copy is the one trained."""
        self.threads.resync()  # code outside the plan may have set the count meanwhile
        if not self._held:
            for p, v in zip(self.params, self._param_views, strict=True):
                np.copyto(v, p.data)
            self._held = True

    def discard(self) -> None:
        """Drop the plan's copy of the weights without copying it back (after a
        divergence: the parameters keep the weights the epoch started from)."""
        self._held = False
        self._scaled_by = 0.0
        self.threads.restore()

    def named_weights(self, model: Module) -> list[tuple[str, np.ndarray]]:
        """(name, the plan's copy of it) for every parameter, named as `model` names it."""
        names = {id(p): name for name, p in model.named_parameters()}
        return [(names[id(p)], v) for p, v in zip(self.params, self._param_views, strict=True)]

    def release(self) -> None:
        """Copy the trained weights back into the parameters (`.data`, in place) and give
        the BLAS thread count back, before code outside the plan runs."""
        if self._held:
            for p, v in zip(self.params, self._param_views, strict=True):
                np.copyto(p.data, v)
            self._held = False
        if self._scaled_by:
            self.grad *= 1.0 / self._scaled_by  # lr · gradient back to the gradient
            self._scaled_by = 0.0
        self.threads.restore()

    def prepare(self, n: int, steps: int) -> None:
        """Before a fit of `steps` batches of n rows: load the spinning helpers of the
        split products when the fit is long enough for them to pay (`SPIN_MIN_FLOPS`)."""
        if not self.threads.splitting or spin.loaded():
            return
        work = sum(2.0 * n * lin.in_features * lin.out_features * (
            splits(n, lin.in_features, lin.out_features)
            + splits(lin.in_features, n, lin.out_features)
            + splits(n, lin.out_features, lin.in_features)) for lin, _ in self.layers)
        if work * steps >= SPIN_MIN_FLOPS:
            spin.load_loops()

    def _buffers_for(self, n: int) -> _Buffers:
        buffers = self._buffers.get(n)
        if buffers is None:
            if self._arena is None or n > self._arena.capacity:
                self._arena = _Arena([lin.out_features for lin, _ in self.layers], n,
                                     self.dtype)
                self._buffers.clear()
            elif len(self._buffers) >= 8:  # many odd batch sizes: keep the views few
                self._buffers.clear()
            buffers = self._buffers[n] = _Buffers(self.layers, n, self.dtype, self.threads,
                                                  self._arena)
        if buffers is not self._active:
            buffers.activate()
            self._active = buffers
        return buffers

    def forward(self, x: np.ndarray, buf: _Buffers) -> np.ndarray:
        """a_L for the batch x, every a_l left in buf.a (the weights must be held)."""
        Wb, acts, a, parts = self.Wb, self._acts, buf.a, buf.forward_split
        self.threads.use(1)  # big products are split by train/split.py instead
        z = a[0]
        # z is column-major: each block of a split product is whole columns.
        self._product(x, Wb[0][:-1], z, 1, parts[0])  # x has no ones column: add the bias
        z += Wb[0][-1]
        for l, act in enumerate(acts):
            if l:
                z = a[l]
                self._product(buf.aug[l - 1], Wb[l], z, 1, parts[l])  # [a | 1] [W; b]
            if act != "identity":
                FORWARD[act](z, buf.tmp[l])  # now holds a_l = f(z_l)
        return z

    def _product(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, axis: int,
                 blocks: bool) -> None:
        """out = a @ b: split into blocks over the cores when `blocks` (see `splits`)."""
        if blocks:
            split.matmul(a, b, out, axis, self._workers)
        else:
            np.matmul(a, b, out=out)

    def output_delta(self, out: np.ndarray, y: np.ndarray, buf: _Buffers,
                     scale: float = 1.0) -> float:
        """Fill delta = scale · ∂C/∂z_L and return C, for the loss fused with the output
        layer (the scale costs nothing: it joins the 1/N every loss has)."""
        L = len(self.layers) - 1
        delta, tmp = buf.delta[L], buf.tmp[L]
        n, k = out.shape
        name = self._loss_name
        if name == "mse" or name == "quadratic":
            np.subtract(out, y.reshape(out.shape), out=delta)  # ŷ - y
            value = float(np.vdot(delta, delta))
            if name == "mse":
                value /= n * k
                delta *= 2.0 * scale / (n * k)
            else:
                value /= 2 * n
                delta *= scale / n
            if self._out_act != "identity":
                TIMES_DERIVATIVE[self._out_act](delta, out, tmp)
            return value
        if name == "cross_entropy":
            m, s, log_s = buf.col, buf.col2, buf.col3
            np.max(out, axis=1, keepdims=True, out=m)
            np.subtract(out, m, out=delta)  # shifted logits, never overflow
            np.exp(delta, out=tmp)
            np.matmul(tmp, buf.ones_out, out=s[:, 0])  # row sums, as a BLAS product
            np.log(s, out=log_s)
            if y.ndim == 1:
                rows = buf.rows
                # C = mean(log Σ e^{z - m} - (z_y - m))
                value = float(log_s.sum() - delta[rows, y].sum()) / n
                np.divide(tmp, s, out=delta)  # p = softmax
                delta[rows, y] -= 1  # p - onehot
            else:
                value = float(-(y * (delta - log_s)).sum()) / n
                np.divide(tmp, s, out=delta)
                delta -= y
            delta *= scale / n
            return value
        # binary cross-entropy with logits: C = mean(relu(z) - z y + log(1 + e^{-|z|}))
        yy = y.reshape(out.shape)
        _exp_minus_abs(out, tmp)
        value = float((np.maximum(out, 0) - out * yy + np.log1p(tmp)).sum()) / (n * k)
        np.copyto(delta, out)
        _sigmoid_(delta, tmp)
        delta -= yy
        delta *= scale / (n * k)
        return value

    def gradient(self, x: np.ndarray, y: np.ndarray, scale: float = 1.0) -> float:
        """Fill `self.grad` with scale · ∂C/∂w for the batch (x, y) and return C, the mean
        loss; no update. The weights must be held. `scale=len(x)` gives the gradient of
        the loss summed over the rows, which data-parallel training adds up across
        machines (descent.distributed)."""
        chooser, start = self._choose(x.shape[0])
        value = self._gradient(x, y, scale)
        if chooser is not None:
            chooser.record(time.perf_counter() - start)
        return value

    def _choose(self, n: int) -> tuple[split.Chooser | None, float]:
        """Set the threads of this step's split products (chosen by timing the steps,
        which changes no bit: split.Chooser); its chooser, to be told the step's time."""
        buf = self._buffers_for(n)
        chooser = buf.chooser
        if chooser is None:
            return None, 0.0
        if chooser.most != self.threads.most:
            chooser = buf.chooser = split.Chooser(self.threads.most)  # (a new BLAS limit)
        self._workers = chooser.workers()
        return chooser, time.perf_counter()

    def _gradient(self, x: np.ndarray, y: np.ndarray, scale: float) -> float:
        buf = self._buffers_for(x.shape[0])
        out = self.forward(x, buf)
        value = self.output_delta(out, y, buf, scale)
        Wb, G, acts = self.Wb, self.G, self._acts
        for l in range(len(acts) - 1, 0, -1):
            delta, below = buf.delta[l], buf.delta[l - 1]
            # [∂C/∂W; ∂C/∂b] = [a | 1]ᵀ δ, split by rows of G (row-major)
            self._product(buf.aug[l - 1].T, delta, G[l], 0, buf.grad_split[l])
            if delta.shape[1] == 1:  # one output: δ Wᵀ is an outer product
                np.multiply(delta, Wb[l][:-1].T, out=below)
            else:  # split by columns of δ_{l-1} (column-major)
                self._product(delta, Wb[l][:-1].T, below, 1, buf.delta_split[l])
            act = acts[l - 1]
            if act != "identity":
                TIMES_DERIVATIVE[act](below, buf.a[l - 1], buf.tmp[l - 1])
        self._product(x.T, buf.delta[0], G[0][:-1], 0, buf.grad_split[0])
        np.matmul(buf.ones, buf.delta[0], out=G[0][-1])
        return value

    def __call__(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        held = self._held
        if not held:
            self.hold()
        opt = self.optimizer
        # Plain SGD while nobody looks at the gradients: carry lr through the backward pass
        # (δ_L scaled by it, so every gradient is), and the update is one pass, w -= lr g.
        # `release()` divides it out again, so `.grad` reads as the gradient.
        rate = opt.plain_rate() if held and self._flat else None
        # The whole step is timed, update included: where the helpers wrote the gradient
        # the update reads it from the other core's cache, and that is part of their cost.
        chooser, start = self._choose(x.shape[0])
        value = self._gradient(x, y, rate or 1.0)
        for p, g in zip(self.params, self._grad_views, strict=True):
            p.grad = g
        done = False
        if rate:
            done = opt.step_flat(self.w, self.grad, scaled=True)
            if not done:  # (uneven update counts) back to the gradient for the rule below
                self.grad *= 1.0 / rate
        self._scaled_by = rate if done and rate else 0.0
        if not done and not (self._flat and opt.step_flat(self.w, self.grad)):
            self.release()  # an update rule that needs the parameters themselves
            opt.step()
            self.hold()
        if not held:
            self.release()
        if chooser is not None:
            chooser.record(time.perf_counter() - start)
        return value


def compile_step(model: Module, loss: Loss, optimizer: Optimizer) -> CompiledStep | None:
    """A compiled step for `model` if it is a plain MLP with a fusable loss, else None."""
    layers = _layers(model)
    if layers is None or loss.name not in LOSSES or type(loss).__call__ is not Loss.__call__:
        return None
    if layers[-1][1] not in LOSSES[loss.name]:
        return None
    params = model.parameters()
    dtype = params[0].dtype
    if any(p.dtype != dtype for p in params) or set(map(id, params)) != set(
            map(id, optimizer.params)):
        return None
    return CompiledStep(layers, loss, optimizer, dtype)


# ---- prediction -----------------------------------------------------------------------------

# Rows per chunk: the widest layer's activations should stay in a core's cache (~1 MiB).
CHUNK_BYTES = 1 << 20
# Below this many rows prediction runs on the calling thread alone.
PARALLEL_MIN_ROWS = 16_384


class CompiledForward:
    """The MLP's forward pass in chunks of rows, into preallocated buffers, no graph."""

    def __init__(self, layers: list[tuple[Linear, str]], dtype: np.dtype) -> None:
        self.layers, self.dtype = layers, dtype
        widest = max(lin.out_features for lin, _ in layers)
        self.chunk = int(min(8192, max(256, CHUNK_BYTES // (widest * dtype.itemsize))))

    def _run(self, X: np.ndarray, out: np.ndarray) -> None:
        """out[i] = net(X[i]) for rows start..stop, chunk by chunk, on this thread."""
        chunk, dtype = self.chunk, self.dtype
        hidden = [np.empty((chunk, lin.out_features), dtype) for lin, _ in self.layers[:-1]]
        # Scratch as one flat array whose first m·w elements are each layer's (m, w) view:
        # contiguous, never a column slice of a wider buffer (see `_exp_minus_abs`).
        tmp = np.empty(chunk * max(lin.out_features for lin, _ in self.layers), dtype)
        last = len(self.layers) - 1
        for start in range(0, len(X), chunk):
            a = X[start:start + chunk]
            m = len(a)
            for l, (lin, act) in enumerate(self.layers):
                z = out[start:start + m] if l == last else hidden[l][:m]
                np.matmul(a, lin.weight.data, out=z)
                z += lin.bias.data
                if act != "identity":
                    PREDICT_FORWARD[act](z, tmp[:z.size].reshape(z.shape))
                a = z

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """net(X) for X of shape (N, in_features), as an (N, out_features) array."""
        out = np.empty((len(X), self.layers[-1][0].out_features), self.dtype)
        threads = BlasThreads()
        workers = threads.most if threads.available else 1
        workers = min(workers, len(X) // PARALLEL_MIN_ROWS + 1)
        if workers <= 1:
            self._run(X, out)
            return out
        # The chunks are independent: one chunk per core, each on one BLAS thread, scales
        # better than every product split over the cores (NumPy releases the GIL).
        bounds = np.linspace(0, len(X), workers + 1).astype(int)
        bounds[1:-1] -= bounds[1:-1] % self.chunk  # whole chunks but for the last
        from concurrent.futures import ThreadPoolExecutor

        threads.use(1)
        try:
            with ThreadPoolExecutor(workers - 1) as pool:
                jobs = [pool.submit(self._run, X[lo:hi], out[lo:hi])
                        for lo, hi in zip(bounds[1:-1], bounds[2:], strict=True)]
                self._run(X[:bounds[1]], out[:bounds[1]])
                for job in jobs:
                    job.result()
        finally:
            threads.restore()
        return out


def compile_forward(model: Module) -> CompiledForward | None:
    """A chunked forward pass for `model` if it is a plain MLP (any output activation the
    plan knows, softmax included) with one float dtype, else None."""
    layers = _layers(model, PREDICT_FORWARD)
    if layers is None or any(act == "softmax" for _, act in layers[:-1]):
        return None
    params = model.parameters()
    dtype = params[0].dtype
    if dtype.kind != "f" or any(p.dtype != dtype for p in params):
        return None
    return CompiledForward(layers, dtype)
