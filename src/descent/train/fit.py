"""`fit`: the training loop. Batches in, gradients by backpropagation, steps downhill."""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.data.arrays import as_float_batch, as_float_matrix, as_target
from descent.data.batching import epoch_order, iterate_minibatches
from descent.data.pixels import PixelArray
from descent.errors import DataError, DivergenceError, ModelFileError
from descent.nn import Loss, Module, get_loss
from descent.optim import Optimizer, get_optimizer
from descent.train import jit
from descent.train.callbacks import Callback, CallbackList
from descent.train.conv_plan import PREDICT_ROWS, compile_conv_forward, compile_conv_step
from descent.train.divergence import DivergenceGuard, constant_prediction_loss
from descent.train.history import History
from descent.train.metrics import LABEL_METRICS, decide, get_metric
from descent.train.plan import CompiledStep, compile_forward, compile_step
from descent.train.progress import ProgressBar, ProgressLog, progress_callback

Step = Callable[[np.ndarray, np.ndarray, np.ndarray | None], float]
# Floats made at once when predicting from a PixelArray (uint8 pictures).
PIXEL_CHUNK_BYTES = 1 << 20


@dataclass
class TrainingRun:
    """The state of one `fit` call, shared with callbacks as `callback.run`."""

    model: Module
    optimizer: Optimizer
    loss: Loss
    history: History
    rng: np.random.Generator
    seed_entropy: int
    epoch: int = 0
    stop_training: bool = False
    interrupt_requested: bool = False
    callbacks: list[Callback] = field(default_factory=list)

    def save_checkpoint(self, path: str) -> None:
        """Everything needed to continue exactly where this run stands (see checkpoint.py)."""
        from descent.train.checkpoint import save_checkpoint

        save_checkpoint(path, self)


def model_dtype(model: Module) -> np.dtype:
    params = model.parameters()
    return params[0].dtype if params else np.dtype(np.float32)


def predict_array(model: Module, X: np.ndarray | PixelArray,
                  batch_size: int = 8192) -> np.ndarray:
    """Run the model on X in chunks without recording a graph; returns a NumPy array.

    X is (N, n_features) for dense networks, (N, C, L) or (N, C, H, W) for convolutional
    ones, or a `descent.data.PixelArray` of uint8 pictures (made floats a few MiB at a
    time). The model runs in evaluation mode (Dropout off, BatchNorm on its running
    statistics) and is put back in the mode it was in. A plain MLP runs as a compiled
    forward pass (train/plan.py: preallocated buffers, chunks sized for the cache, the
    chunks spread over the BLAS threads), a convolutional network the CNN plan covers as
    its forward pass (train/conv_plan.py); anything else runs through the engine,
    `batch_size` rows at a time.
    """
    dtype = model_dtype(model)
    if isinstance(X, PixelArray):  # uint8 pictures: floats a chunk at a time
        X = X.astype(dtype)
        rows = _pixel_chunk(X)
    else:
        X = np.asarray(X, dtype=dtype)
        rows = max(len(X), 1)

    def pieces() -> Any:
        for start in range(0, len(X), rows):
            piece = X[start:start + rows]
            yield np.asarray(piece) if isinstance(piece, PixelArray) else piece

    if X.ndim == 2 and len(X):
        forward = compile_forward(model)
        if forward is not None and X.shape[1] == forward.layers[0][0].in_features:
            return _joined([forward(np.ascontiguousarray(p)) for p in pieces()])
    outs = []
    was_training = model.training
    model.eval()
    try:
        if X.ndim == 4 and len(X):  # a convolutional network the plan covers
            pictures = compile_conv_forward(model)
            if pictures is not None and pictures.covers(X[:1]):
                return _joined([pictures(p) for p in pieces()])
        with no_grad():
            for piece in pieces():
                for start in range(0, len(piece), batch_size):
                    outs.append(model(Tensor(piece[start:start + batch_size])).data)
    finally:
        model.train(was_training)
    return _joined(outs)


def _joined(outs: list[np.ndarray]) -> np.ndarray:
    if len(outs) == 1:
        return outs[0]
    return np.concatenate(outs) if outs else np.zeros((0,))


def _pixel_chunk(X: PixelArray) -> int:
    """Pictures per chunk when predicting from uint8: about PIXEL_CHUNK_BYTES of floats,
    a multiple of the CNN plan's own chunk (so its chunks, and their sums, are the same as
    for the float array)."""
    per_row = max(1, X.size // max(len(X), 1) * X.dtype.itemsize)
    return max(1, PIXEL_CHUNK_BYTES // per_row // PREDICT_ROWS) * PREDICT_ROWS


def _as_batches(X: Any, name: str, dtype: np.dtype) -> np.ndarray | PixelArray:
    """fit's X: a PixelArray stays uint8 (its batches are made as floats of `dtype` on the
    fly), anything else becomes a checked float array of `dtype`."""
    if isinstance(X, PixelArray):
        return X.astype(dtype)
    return as_float_batch(X, name).astype(dtype, copy=False)


def evaluate(model: Module, X: np.ndarray, y: np.ndarray, loss: Loss, metrics: Sequence[str],
             prefix: str = "", sample_weight: np.ndarray | None = None) -> dict[str, float]:
    """Loss and metrics of `model` on (X, y), keyed `prefix + name`."""
    out = predict_array(model, X)
    with no_grad():
        logs = {f"{prefix}loss": float(loss(Tensor(out), y, sample_weight).data)}
    for name in metrics:
        fn = get_metric(name)
        pred = decide(out, loss.name) if name in LABEL_METRICS else out
        logs[f"{prefix}{name}"] = fn(y, pred)
    return logs


def _eager_step(model: Module, loss: Loss, optimizer: Optimizer) -> Step:
    def step(xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None) -> float:
        optimizer.zero_grad()
        C = loss(model(Tensor(xb)), yb, wb)
        C.backward()
        optimizer.step()
        return float(C.data)

    return step


class CtrlC:
    """While active, the first Ctrl-C asks the loop to stop after the current batch (this
    loop's and `descent.distributed.fit`'s)."""

    def __init__(self, run: TrainingRun) -> None:
        self.run, self.previous = run, None

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.run.interrupt_requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.run.interrupt_requested = True

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _jit_epoch(epochs: jit.JitEpochs, order: np.ndarray, hooks: CallbackList | None,
               run: TrainingRun, guard: DivergenceGuard) -> tuple[float, int]:
    """One epoch through the numba kernel: (Σ loss·rows, rows seen). The batch hooks (only
    a progress display's, see `jit.for_fit`) run after each run of batches; Ctrl-C stops
    at the end of a run, where the weights and the rows seen agree. A divergence found
    inside a run is raised there too; fit then restores the last good weights."""
    total, seen = 0.0, 0
    for b, (rows, value, last_of_run) in enumerate(epochs.epoch(order)):
        if hooks is not None:
            hooks.on_batch_begin(b, {})
        guard.batch(value, run.epoch, b, run.optimizer.lr)
        total += value * rows
        seen += rows
        if hooks is not None:
            hooks.on_batch_end(b, {"loss": value})
        if run.interrupt_requested and last_of_run:
            break
    return total, seen


def _constant_loss(model: Module, X: np.ndarray, y: np.ndarray, loss: Loss) -> float | None:
    """The loss of the best constant prediction, the divergence guard's yardstick."""
    if not len(X):
        return None
    out = predict_array(model, X[:1])
    return constant_prediction_loss(loss, y, out.shape[-1] if out.ndim > 1 else 1)


def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: str | Loss = "mse",
    optimizer: str | Optimizer = "adam",
    lr: float | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    shuffle: bool = True,
    validation_split: float = 0.0,
    validation_data: tuple[Any, ...] | None = None,
    callbacks: Sequence[Callback] = (),
    metrics: Sequence[str] = (),
    sample_weight: Any = None,
    seed: int | None = None,
    verbose: bool | int = True,
    resume: str | None = None,
    compiled: bool | str = True,
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
) -> History:
    """Train `model` on (X, y) by minibatch gradient descent; returns the History.

    Shapes: X (N, n_features), or (N, C, L) / (N, C, H, W) for convolutional networks
    (or a `descent.data.PixelArray`: uint8 pictures kept uint8, each batch made floats
    when it is drawn, with the same values a float copy of the whole set would give);
    y (N,) or (N, n_outputs), or (N,) class indices for
    "cross_entropy". Each epoch visits every example once in batches of `batch_size`
    (shuffled with `seed`); each batch runs forward, backward (the engine's chain rule)
    and one optimizer step. A non-finite loss or weight, or a finite loss that has blown
    up (train/divergence.py), stops training with a DivergenceError naming the epoch and
    batch; the model keeps the weights of the last epoch before it. Ctrl-C stops after
    the current batch and keeps the history (`history.interrupted`). With `resume=path`
    (a ModelCheckpoint file) training continues from that checkpoint's epoch,
    bit-identically.

    `validation_data` is (X_val, y_val) or (X_val, y_val, sample_weight_val): the
    validation loss is then weighted like the training loss.

    `compiled=True` lets `fit` replay a precompiled NumPy plan for plain MLPs and for
    small convolutional networks (train/plan.py, train/conv_plan.py: same results as the
    engine to float rounding, much less overhead), and for small MLPs, where numba is
    installed and it pays, whole runs of batches compiled by numba (descent.train.jit:
    equal to the plan to float rounding); anything the plans do not cover falls back to
    the engine. `compiled="numpy"` keeps to the NumPy plans, `"jit"` takes the numba
    path wherever it can run, `False` always runs the engine.

    `augment(batch, rng)` (e.g. `descent.data.augment.Augmentation()`), when given, makes
    a changed copy of every training batch before the step (random flips, shifts, turns of
    pictures), drawing from its own stream of `seed`; validation data is never changed.
    Resuming from a checkpoint does not restore that stream.

    >>> import numpy as np, descent as ds
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float); y = np.array([0, 1, 1, 0.])
    >>> net = ds.nn.MLP([2, 4, 1], activation="tanh", seed=0)
    >>> h = ds.fit(net, X, y, loss="mse", optimizer="adam", lr=0.05, epochs=300,
    ...            batch_size=4, seed=0, verbose=False)
    >>> h["loss"][-1] < 0.05
    True
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a whole number >= 0, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    loss_fn = get_loss(loss)
    dtype = model_dtype(model)
    X = _as_batches(X, "X", dtype)
    y = fit_target(y, loss_fn, dtype, len(X))
    w = None if sample_weight is None else _weights(sample_weight, len(X))

    if resume is not None:  # the checkpoint's seed gives back the same validation split
        from descent.train.checkpoint import checkpoint_seed

        seed = checkpoint_seed(resume)
    seed_seq = np.random.SeedSequence(seed)
    # spawn(3)'s first two streams are spawn(2)'s: adding the augmentation stream changes
    # neither the split nor the shuffling.
    split_rng, shuffle_rng, augment_rng = (np.random.default_rng(s) for s in seed_seq.spawn(3))
    w_val = None
    if validation_data is not None:
        X_val = _as_batches(validation_data[0], "validation X", dtype)
        y_val = fit_target(validation_data[1], loss_fn, dtype, len(X_val))
        if len(validation_data) == 3 and validation_data[2] is not None:
            w_val = _weights(validation_data[2], len(X_val))
    elif validation_split > 0:
        order = split_rng.permutation(len(X))
        n_val = max(1, int(round(validation_split * len(X))))
        if n_val >= len(X):
            raise ValueError(f"validation_split={validation_split} leaves no training rows")
        X_val, y_val = X[order[:n_val]], y[order[:n_val]]
        keep = np.sort(order[n_val:])
        X, y = X[keep], y[keep]
        w = None if w is None else w[keep]
    else:
        X_val = y_val = None

    opt = optimizer if isinstance(optimizer, Optimizer) else get_optimizer(
        optimizer, model.parameters(), **({} if lr is None else {"lr": lr}))
    if isinstance(optimizer, Optimizer) and lr is not None:
        opt.lr = lr
    history = History()
    run = TrainingRun(model, opt, loss_fn, history, shuffle_rng, int(seed_seq.entropy))
    user_callbacks = list(callbacks)
    first_epoch = 0
    if resume is not None:
        from descent.train.checkpoint import load_checkpoint

        first_epoch = load_checkpoint(resume, run, user_callbacks)
    batches = math.ceil(len(X) / batch_size)
    display = progress_callback(epochs, batches, verbose)
    run.callbacks = user_callbacks + ([display] if display else [])
    hooks = CallbackList(run.callbacks, run)

    if loss_fn.name == "cross_entropy" and y.ndim == 1:
        _check_labels(model, X, y, "y")
        if X_val is not None and y_val.ndim == 1:
            _check_labels(model, X_val, y_val, "validation y")
    # The guard's yardstick first: its temporaries are gone before the plan's buffers come.
    baseline = _constant_loss(model, X, y, loss_fn)
    eager = _eager_step(model, loss_fn, opt)
    fast = (compile_step(model, loss_fn, opt) or compile_conv_step(model, loss_fn, opt)) \
        if compiled in (True, "numpy", "jit") and w is None else None
    # Whether the plan covers a batch depends only on X's dtype and width: decide once.
    step: Step = fast if fast is not None and fast.covers(X[:1]) else eager
    # Per-batch hooks cost a call each per batch; make them only when a callback has one.
    with_batch_hooks = [cb for cb in run.callbacks
                        if type(cb).on_batch_begin is not Callback.on_batch_begin
                        or type(cb).on_batch_end is not Callback.on_batch_end]
    batch_hooks = bool(with_batch_hooks)
    # The plan trains its own flat copy of the weights, copied back at the end of each
    # epoch. A callback that may look at them between batches needs them copied after
    # every step; the progress display does not look.
    hold = step is fast and all(isinstance(cb, (ProgressBar, ProgressLog))
                                for cb in with_batch_hooks)
    # Small networks: whole runs of batches compiled by numba (train/jit.py), if installed
    # and if it pays; the plan stays the reference. Augmented batches are made in Python,
    # one at a time, so augmentation keeps to the per-batch loop.
    jit_epochs = jit.for_fit(fast if hold else None, X, y, batch_size,
                             (epochs - first_epoch) * batches, True, compiled) \
        if compiled in (True, "jit") and augment is None and isinstance(X, np.ndarray) \
        else None
    if isinstance(step, CompiledStep) and jit_epochs is None:
        step.prepare(min(batch_size, len(X)), (epochs - first_epoch) * batches)
    # While the plan holds its own copy of the weights for a whole epoch, the model's
    # parameters are the last good weights: the guard need not keep another copy (on an
    # MLP that is as large as the network), and the copy goes in only once checked.
    lean = hold and isinstance(fast, CompiledStep)
    guard = DivergenceGuard(model, baseline, opt.lr, keep_copy=not lean)
    model.train()
    if resume is None:
        hooks.on_train_begin({})
    else:  # the callbacks apply the checkpoint's state now: a crafted one fails here
        from descent.train.checkpoint import RESTORE_ERRORS

        try:
            hooks.on_train_begin({})
        except RESTORE_ERRORS as error:
            raise ModelFileError(f"{resume}: checkpoint does not fit this run: {error}"
                                 ) from None
    # Overflow warnings on the way to a non-finite loss are noise: the guard below names it.
    try:
        with CtrlC(run), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(first_epoch, epochs):
                run.epoch = epoch
                hooks.on_epoch_begin(epoch, {})
                if hold and fast is not None:
                    fast.hold()
                total, seen = 0.0, 0
                if jit_epochs is not None:
                    total, seen = _jit_epoch(jit_epochs, epoch_order(len(X), shuffle,
                                                                     shuffle_rng),
                                             hooks if batch_hooks else None, run, guard)
                    batches_left: Any = ()
                else:
                    batches_left = iterate_minibatches(len(X), batch_size, shuffle=shuffle,
                                                       rng=shuffle_rng)
                for b, idx in enumerate(batches_left):
                    if batch_hooks:
                        hooks.on_batch_begin(b, {})
                    # take() copies the rows like X[idx], a little faster for wide rows;
                    # a PixelArray makes them floats here, one batch at a time.
                    xb, yb = X.take(idx, axis=0), y[idx]
                    if augment is not None:
                        xb = np.ascontiguousarray(augment(xb, augment_rng), dtype=X.dtype)
                    value = step(xb, yb, None if w is None else w[idx])
                    guard.batch(value, epoch, b, opt.lr)
                    total += value * len(idx)
                    seen += len(idx)
                    if batch_hooks:
                        hooks.on_batch_end(b, {"loss": value})
                    if run.interrupt_requested:
                        break
                finished = not (run.interrupt_requested and seen < len(X))
                if lean and finished:  # checked before the model gets them
                    guard.epoch_end(total / max(seen, 1), epoch, batches,
                                    fast.named_weights(model))
                if fast is not None:
                    fast.release()  # the weights and BLAS threads back, for the code below
                if not finished:
                    history.interrupted = True
                    break
                if not lean:
                    guard.epoch_end(total / max(seen, 1), epoch, batches)
                logs = {"loss": total / max(seen, 1), "lr": opt.lr}  # the rate this epoch used
                if metrics:
                    logs.update({k: v for k, v in evaluate(model, X, y, loss_fn, metrics, "",
                                                           w).items() if k != "loss"})
                if X_val is not None:
                    logs.update(evaluate(model, X_val, y_val, loss_fn, metrics, "val_", w_val))
                history.record(epoch, logs)
                hooks.on_epoch_end(epoch, logs)
                if run.interrupt_requested:
                    history.interrupted = True
                    break
                if run.stop_training:
                    break
    except DivergenceError:
        if lean:
            fast.discard()  # the model holds the last good weights already
        elif fast is not None:
            fast.release()
        guard.restore()  # the last good weights, not the ones that blew up
        raise
    finally:
        if fast is not None:
            fast.release()
    hooks.on_train_end(history.last())
    model.eval()
    return history


def fit_target(y: Any, loss: Loss, dtype: np.dtype, n: int) -> np.ndarray:
    """y checked and cast: (N,) or (N, k) floats, or (N,) integer labels for cross-entropy;
    the one rule for targets, which `descent.distributed` applies to its shards too."""
    if np.ndim(y) == 2 and np.shape(y)[1] > 1:  # several outputs, or one-hot rows
        Y = as_float_matrix(y, "y", dtype=dtype)
        if len(Y) != n:
            raise DataError(f"X has {n} rows but y has {len(Y)}; they must match")
        return Y
    if loss.name == "cross_entropy":
        labels = as_target(y, "y", n_samples=n, task="classification")
        if labels.dtype.kind not in "iuf" or (labels.dtype.kind == "f"
                                             and not np.all(labels == np.round(labels))):
            raise DataError("cross_entropy needs class indices 0..K-1 as y (encode text "
                            "labels first, e.g. with descent.data.encode_labels)")
        return labels.astype(np.int64, copy=False)  # no second copy of int64 labels
    return as_target(y, "y", n_samples=n, dtype=dtype)


def _check_labels(model: Module, X: np.ndarray, y: np.ndarray, what: str) -> None:
    """Class indices must name one of the network's outputs, whichever step runs (the
    compiled one would index past its buffer; say what is wrong before either starts)."""
    if not len(y) or not len(X):
        return
    k = predict_array(model, X[:1]).shape[-1]
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= k:
        raise DataError(f"{what} has class indices {low}..{high}, but the network has {k} "
                        f"output{'s' if k != 1 else ''} (classes 0..{k - 1})")


def _weights(sample_weight: Any, n: int) -> np.ndarray:
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} entries for {n} rows")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("sample_weight must be finite, >= 0 and not all 0")
    return w
