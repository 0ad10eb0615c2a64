"""Train several MLPs of one shape at once, as one stacked network (a fast path of `fit`).

An ensemble of M small networks, or one network tried with M weight decays, is M separate
`fit` calls. On a small table each step of each call is ~25 NumPy calls on tiny arrays, so
the time is per-call overhead, paid M times. `fit_stacked` keeps the M networks' weights
side by side, W_l of shape (M, in, out), and runs every formula of the compiled step
(train/plan.py) once for all of them with NumPy's batched `matmul`:

    forward   z_l[m] = a_{l-1}[m] W_l[m] + b_l[m],   a_l[m] = f_l(z_l[m])
    backward  ∂C_m/∂W_l[m] = a_{l-1}[m]ᵀ δ_l[m],   δ_{l-1}[m] = (δ_l[m] W_l[m]ᵀ) ⊙ f'(a_{l-1}[m])

Member m sees exactly what `fit(models[m], X, y, optimizer=optimizers[m], seed=seeds[m],
callbacks=[EarlyStopping(...)])` would show it: its own batch order (drawn from its seed as
`fit` draws it), its own initial weights, optimizer state and weight decay, its own early
stopping on its own validation loss (restoring its own best weights), and its own History.
A member that stops leaves the stack; the others go on. So the result equals M separate
fits to float rounding (the products sum in another order); the update rule is the
optimizer's own elementwise formula, applied to all members in one call.
tests/train/test_stacked.py checks this over random networks.

Covered (else `fit_stacked` returns None and the caller runs `fit` per member): members
the compiled step covers (plain Linear/activation stacks) with the same shapes,
activations and float dtype; the losses "mse", "quadratic" (any output activation the plan
fuses) and "cross_entropy" on class indices; Adam, or AdamW with any weight decay per
member, all with the same lr, betas and eps; no sample weights. A divergence (a loss or
weight that blows up, see train/divergence.py) also returns None, with every model and
optimizer untouched, so that the caller's `fit` raises the error it raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.data.arrays import as_float_batch
from descent.data.batching import epoch_order
from descent.errors import DivergenceError
from descent.nn import Module, get_loss
from descent.optim import Adam, Optimizer
from descent.train.callbacks import EarlyStopping
from descent.train.divergence import FACTOR, DivergenceGuard, constant_prediction_loss
from descent.train.fit import CtrlC, fit_target
from descent.train.history import History
from descent.train.plan import FORWARD, TIMES_DERIVATIVE, _layers
from descent.train.progress import progress_callback

#: Loss -> the output activations the stacked step fuses with it (as the plan does).
LOSSES = {"mse": {"identity", *FORWARD}, "quadratic": {"identity", *FORWARD},
          "cross_entropy": {"identity"}}


@dataclass
class StackedRun:
    """One member's result: its History and, with `score`, its validation score per epoch."""

    history: History
    scores: list[float] = field(default_factory=list)


class _Weights:
    """What EarlyStopping sees as `run.model` for one member: its weights in the stack
    (`state_dict`), and a place for the weights it restores (`load_state_dict`), written
    into the real model only when the whole stacked fit has succeeded."""

    def __init__(self, names: list[str], views: Callable[[], list[np.ndarray]]) -> None:
        self.names, self.views = names, views
        self.restored: dict[str, np.ndarray] | None = None

    def state_dict(self) -> dict[str, np.ndarray]:
        return {n: v.copy() for n, v in zip(self.names, self.views(), strict=True)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.restored = {n: np.array(state[n], copy=True) for n in self.names}


@dataclass
class _Member:
    index: int
    rng: np.random.Generator
    history: History
    guard: DivergenceGuard
    stopper: EarlyStopping | None
    run: Any
    weights: _Weights
    scores: list[float] = field(default_factory=list)
    final: dict[str, np.ndarray] | None = None  # weights when it left the stack
    moments: tuple[np.ndarray, np.ndarray] | None = None
    steps: int = 0


def _adam_settings(optimizers: Sequence[Optimizer]) -> tuple[tuple, np.ndarray] | None:
    """(Adam's per-step constants without weight decay, each member's decoupled decay
    factor 1 - lr·wd), or None when the rules cannot share one update."""
    first = optimizers[0]
    factors = []
    for opt in optimizers:
        if type(opt)._update is not Adam._update or opt._flat_state is None:
            return None
        if (opt.lr, opt.betas, opt.eps) != (first.lr, first.betas, first.eps):
            return None
        if opt._t.count(opt._t[0]) != len(opt._t) or opt._t[0] != first._t[0]:
            return None
        if opt.weight_decay and not opt._decoupled:
            return None  # Adam's L2 term enters the moments: not one shared formula
        # AdamW: w *= 1 - lr·wd, the same float product as in Adam._update
        factors.append(1.0 - opt.lr * opt.weight_decay if opt.weight_decay else 1.0)
    lr, b1, b2, one_b1, one_b2, eps, _ = first._constants()
    return (lr, b1, b2, one_b1, one_b2, eps, 0.0), np.array(factors)


def covers(models: Sequence[Module], optimizers: Sequence[Optimizer], loss: str,
           dtype: np.dtype | None = None) -> bool:
    """Whether `fit_stacked` can train these members together (see the module doc)."""
    if not models or len(models) != len(optimizers):
        return False
    shapes = []
    for model, opt in zip(models, optimizers, strict=True):
        layers = _layers(model)
        if layers is None:
            return False
        params = model.parameters()
        if [id(p) for p in opt.params] != [id(p) for p in params]:
            return False
        if len({p.dtype for p in params}) != 1 or params[0].dtype not in (
                np.dtype(np.float32), np.dtype(np.float64)):
            return False
        shapes.append(([(lin.in_features, lin.out_features, act) for lin, act in layers],
                       params[0].dtype))
    if any(s != shapes[0] for s in shapes) or (dtype is not None and shapes[0][1] != dtype):
        return False
    name = get_loss(loss).name
    return name in LOSSES and shapes[0][0][-1][2] in LOSSES[name] \
        and _adam_settings(optimizers) is not None


class _Stack:
    """The active members' weights, gradients and Adam moments, one row per member, each
    row laid out as the compiled step lays out one network: W_1 (in·out, row-major), b_1,
    W_2, b_2, ... end to end; and the per-layer (M, in, out) and (M, out) views."""

    def __init__(self, w: np.ndarray, m: np.ndarray, v: np.ndarray, factors: np.ndarray,
                 layers: list[tuple[int, int, str]]) -> None:
        self.w, self.m, self.v, self.factors = w, m, v, factors
        self.layers = layers
        self.g = np.zeros_like(w)
        self.scratch = (np.empty_like(w), np.empty_like(w))
        self.W, self.b = self._views(w)
        self.GW, self.Gb = self._views(self.g)
        self.decay = bool(np.any(factors != 1.0))

    def _views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        M, Ws, bs, start = len(flat), [], [], 0
        for n_in, n_out, _ in self.layers:
            Ws.append(flat[:, start:start + n_in * n_out].reshape(M, n_in, n_out))
            start += n_in * n_out
            bs.append(flat[:, start:start + n_out])
            start += n_out
        return Ws, bs

    def keep(self, rows: list[int]) -> _Stack:
        return _Stack(self.w[rows], self.m[rows], self.v[rows], self.factors[rows],
                      self.layers)


class _Buffers:
    """Activations, deltas and scratch of one step for M members and batches of n rows."""

    def __init__(self, M: int, n: int, d: int, layers: list[tuple[int, int, str]],
                 dtype: np.dtype) -> None:
        self.xb = np.empty((M, n, d), dtype)
        self.a = [np.empty((M, n, o), dtype) for _, o, _ in layers]
        self.delta = [np.empty((M, n, o), dtype) for _, o, _ in layers]
        self.tmp = [np.empty((M, n, o), dtype) for _, o, _ in layers]


def _forward(stack: _Stack, x: np.ndarray, a: list[np.ndarray], tmp: list[np.ndarray]) -> None:
    """a[l] = f_l(a[l-1] W_l + b_l) for every member; x is (M, n, d) or (n, d) shared."""
    below = x
    for l, (_, _, act) in enumerate(stack.layers):
        np.matmul(below, stack.W[l], out=a[l])
        a[l] += stack.b[l][:, None, :]
        if act != "identity":
            FORWARD[act](a[l], tmp[l])
        below = a[l]


def _losses(name: str, out: np.ndarray, y: np.ndarray, out_act: str,
            delta: np.ndarray | None, tmp: np.ndarray) -> np.ndarray:
    """Each member's mean loss over the rows (M,), and with `delta` its ∂C/∂z_L (as
    train/plan.py's output_delta: the loss fused with the output layer)."""
    M, n, k = out.shape
    if name in ("mse", "quadratic"):
        r = delta if delta is not None else tmp
        np.subtract(out, y.reshape(-1, n, k), out=r)  # (1, n, k): the validation rows
        values = np.einsum("mnk,mnk->m", r, r)
        if name == "mse":
            values /= n * k
            if delta is not None:
                delta *= 2.0 / (n * k)
        else:
            values /= 2 * n
            if delta is not None:
                delta *= 1.0 / n
        if delta is not None and out_act != "identity":
            TIMES_DERIVATIVE[out_act](delta, out, tmp)
        return values
    # softmax cross-entropy on class indices y, (M, n) or (n,) shared
    shifted = delta if delta is not None else np.empty_like(out)
    np.subtract(out, out.max(axis=2, keepdims=True), out=shifted)  # never overflows
    np.exp(shifted, out=tmp)
    s = tmp.sum(axis=2, keepdims=True)
    members, rows = np.arange(M)[:, None], np.arange(n)[None, :]
    picked = shifted[members, rows, y]  # z_y - max, (M, n)
    values = (np.log(s).sum(axis=(1, 2)) - picked.sum(axis=1)) / n
    if delta is not None:
        np.divide(tmp, s, out=delta)  # p
        delta[members, rows, y] -= 1  # p - onehot
        delta *= 1.0 / n
    return values


def _gradient(stack: _Stack, buf: _Buffers, yb: np.ndarray, loss: str) -> np.ndarray:
    """Fill stack.g with every member's ∂C/∂w for the batch in buf.xb; return the losses."""
    layers, a, delta, tmp = stack.layers, buf.a, buf.delta, buf.tmp
    _forward(stack, buf.xb, a, tmp)
    L = len(layers) - 1
    values = _losses(loss, a[L], yb, layers[L][2], delta[L], tmp[L])
    for l in range(L, 0, -1):
        np.matmul(a[l - 1].transpose(0, 2, 1), delta[l], out=stack.GW[l])
        np.sum(delta[l], axis=1, out=stack.Gb[l])
        np.matmul(delta[l], stack.W[l].transpose(0, 2, 1), out=delta[l - 1])
        act = layers[l - 1][2]
        if act != "identity":
            TIMES_DERIVATIVE[act](delta[l - 1], a[l - 1], tmp[l - 1])
    np.matmul(buf.xb.transpose(0, 2, 1), delta[0], out=stack.GW[0])
    np.sum(delta[0], axis=1, out=stack.Gb[0])
    return values


def member_gradients(models: Sequence[Module], X: np.ndarray, y: np.ndarray,
                     loss: str = "mse") -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """One stacked step's forward and backward pass without the update: each member's
    loss on its own batch and its gradients, in `model.parameters()` order.

    X is (M, n, d): member m's batch is X[m]; y is (M, n) or (M, n, k) targets, or (M, n)
    class indices for "cross_entropy". The models must be ones `covers` accepts (same
    shapes, activations and dtype).

    >>> import numpy as np, descent as ds
    >>> nets = [ds.nn.MLP([2, 3, 1], "tanh", seed=s, dtype=np.float64) for s in range(2)]
    >>> X = np.ones((2, 4, 2)); y = np.zeros((2, 4))
    >>> values, grads = member_gradients(nets, X, y)
    >>> values.shape, [g.shape for g in grads[1]]
    ((2,), [(2, 3), (3,), (3, 1), (1,)])
    """
    layers_of = _layers(models[0])
    if layers_of is None:
        raise ValueError("member_gradients: the models must be stacks of Linear layers and "
                         "activations")
    layers = [(lin.in_features, lin.out_features, act) for lin, act in layers_of]
    dtype = models[0].parameters()[0].dtype
    w = np.stack([np.concatenate([p.data.ravel() for p in m.parameters()]) for m in models])
    stack = _Stack(w, np.zeros_like(w), np.zeros_like(w), np.ones(len(models)), layers)
    M, n, d = X.shape
    buf = _Buffers(M, n, d, layers, dtype)
    np.copyto(buf.xb, X)
    values = _gradient(stack, buf, np.asarray(y), get_loss(loss).name)
    return values, [[v.copy() for v in _views_of(_Stack(stack.g, stack.m, stack.v,
                                                        stack.factors, layers), m)]
                    for m in range(M)]


def fit_stacked(
    models: Sequence[Module],
    optimizers: Sequence[Optimizer],
    X: Any,
    y: Any,
    *,
    loss: str = "mse",
    epochs: int = 10,
    batch_size: int = 32,
    shuffle: bool = True,
    seeds: Sequence[int | None],
    validation_data: tuple[Any, Any] | None = None,
    monitor: str | None = None,
    patience: int = 0,
    min_delta: float = 0.0,
    restore_best_weights: bool = True,
    score: Callable[[np.ndarray], float] | None = None,
    verbose: bool | int = False,
    compute_dtype: Any = None,
) -> list[StackedRun] | None:
    """Train M networks together; each ends as `fit` would leave it. Returns one
    StackedRun per member, or None (nothing changed) where the stacked step does not
    cover the case or a member diverged: then call `fit` for each.

    Member m equals `fit(models[m], X, y, loss=loss, optimizer=optimizers[m],
    epochs=epochs, batch_size=batch_size, shuffle=shuffle, seed=seeds[m],
    validation_data=validation_data, callbacks=[EarlyStopping(monitor, patience,
    min_delta, restore_best_weights=restore_best_weights)], verbose=False)` to float
    rounding (no EarlyStopping when `monitor` is None). X is (N, d), y (N,) or (N, k)
    targets or (N,) class indices for "cross_entropy"; `score(outputs)`, given the member's
    outputs on the validation rows (n_val, k), is recorded after every epoch. `verbose`
    shows the first member's progress. `compute_dtype` (None: the models' own) is the
    float type the steps compute in: float32 for float64 models keeps the stack, its Adam
    moments, the batches and every product in float32 (about half the time of float64 on
    a table's network) and writes the results back into the float64 models, exactly what
    training float32 copies of them would leave, widened.

    >>> import numpy as np, descent as ds
    >>> X = np.random.default_rng(0).normal(size=(64, 3)); y = X.sum(axis=1)
    >>> nets = [ds.nn.MLP([3, 8, 1], "tanh", seed=s, dtype=np.float64) for s in range(3)]
    >>> opts = [ds.optim.AdamW(n.parameters(), lr=0.01, weight_decay=d)
    ...         for n, d in zip(nets, (0.0, 0.1, 0.5))]
    >>> runs = fit_stacked(nets, opts, X, y, epochs=20, seeds=[0, 1, 2])
    >>> [len(r.history) for r in runs], runs[0].history["loss"][-1] < runs[0].history["loss"][0]
    ([20, 20, 20], True)
    """
    loss_name = get_loss(loss).name
    if not covers(models, optimizers, loss_name) or len(seeds) != len(models):
        return None
    if monitor not in (None, "loss", "val_loss") or (monitor == "val_loss"
                                                     and validation_data is None):
        return None
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        return None
    layers_of = _layers(models[0])
    assert layers_of is not None
    layers = [(lin.in_features, lin.out_features, act) for lin, act in layers_of]
    dtype = models[0].parameters()[0].dtype if compute_dtype is None \
        else np.dtype(compute_dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        return None
    loss_fn = get_loss(loss_name)
    X = np.ascontiguousarray(as_float_batch(X, "X").astype(dtype, copy=False))
    if X.ndim != 2 or X.shape[1] != layers[0][0] or not len(X):
        return None
    y = fit_target(y, loss_fn, dtype, len(X))
    k = layers[-1][1]
    if not _targets_fit(loss_name, y, k):
        return None
    X_val = y_val = None
    if validation_data is not None:
        if len(validation_data) > 2 and validation_data[2] is not None:
            return None  # weighted validation loss: not covered
        X_val = np.ascontiguousarray(as_float_batch(validation_data[0], "validation X")
                                     .astype(dtype, copy=False))
        y_val = fit_target(validation_data[1], loss_fn, dtype, len(X_val))
        if X_val.ndim != 2 or X_val.shape[1] != X.shape[1] or not len(X_val) \
                or not _targets_fit(loss_name, y_val, k):
            return None
    settings = _adam_settings(optimizers)
    assert settings is not None
    constants, factors = settings
    first = optimizers[0]
    t = first._t[0]

    names = [name for name, _ in models[0].named_parameters()]
    # flat rows: each member's parameters end to end, in the order of model.parameters()
    w = np.stack([np.concatenate([p.data.ravel() for p in m.parameters()])
                  for m in models]).astype(dtype, copy=False)
    moments = [np.stack([opt._flat_state[i] for opt in optimizers]).astype(dtype, copy=False)
               for i in (0, 1)]
    stack = _Stack(w, moments[0], moments[1], factors, layers)
    baseline = constant_prediction_loss(loss_fn, y, k)
    n, B = len(X), min(batch_size, len(X))
    batches = -(-n // B)

    members: list[_Member] = []
    for i, seed in enumerate(seeds):
        shuffle_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[1])
        history = History()
        stopper = None if monitor is None else EarlyStopping(
            monitor, patience=patience, min_delta=min_delta,
            restore_best_weights=restore_best_weights)
        member = _Member(i, shuffle_rng, history,
                         DivergenceGuard(models[i], baseline, first.lr, keep_copy=False),
                         stopper, None, _Weights(names, lambda: []))
        member.weights = _Weights(names, _row_views(member, lambda: (stack, members_now)))
        member.run = _MemberRun(member.weights, history)
        if stopper is not None:
            stopper.run = member.run
        members.append(member)
    members_now = list(members)  # the members still in the stack, in stack row order

    display = progress_callback(epochs, batches, verbose)
    if display is not None:
        display.run = _MemberRun(members[0].weights, members[0].history)
        display.on_train_begin({})
    buffers: dict[int, _Buffers] = {}
    val_a: list[np.ndarray] = []
    interrupted = False
    limits: np.ndarray | None = None  # per member, the largest batch loss its guard passes
    control = _MemberRun(members[0].weights, members[0].history)
    try:
        with CtrlC(control), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(epochs):
                if not members_now:
                    break
                M = len(members_now)
                # the display shows the first member, while it trains
                shown = display if members_now[0] is members[0] else None
                if shown is not None:
                    shown.on_epoch_begin(epoch, {})
                orders = np.stack([epoch_order(n, shuffle, m.rng) for m in members_now])
                total = np.zeros(M)
                seen = 0
                for b, idx in enumerate(epoch_batches(orders, B)):
                    rows = idx.shape[1]
                    buf = buffers.get(rows)
                    if buf is None or buf.xb.shape[0] != M:
                        buf = buffers[rows] = _Buffers(M, rows, X.shape[1], layers, dtype)
                    np.take(X, idx, axis=0, out=buf.xb)
                    values = _gradient(stack, buf, y[idx], loss_name)
                    if stack.decay:  # AdamW's decoupled decay, each member its own
                        stack.w *= stack.factors[:, None]
                    t += 1
                    Adam._update(first, stack.w.reshape(-1), stack.g.reshape(-1),
                                 (stack.m.reshape(-1), stack.v.reshape(-1),
                                  *(a.reshape(-1) for a in stack.scratch)),
                                 t, constants)
                    # The guards' batch check, for all members in one comparison; the
                    # guard itself runs where it may speak (its first batch, or a bad loss).
                    if limits is None or not np.all(values <= limits):
                        for j, member in enumerate(members_now):
                            member.guard.batch(float(values[j]), epoch, b, first.lr)
                        limits = np.array([_limit(m.guard) for m in members_now])
                    total += values * rows
                    seen += rows
                    if shown is not None:
                        shown.on_batch_begin(b, {})
                        shown.on_batch_end(b, {"loss": float(values[0])})
                    if control.interrupt_requested:
                        break
                finished = seen == n
                if finished:
                    # every weight finite: one check for the stack; else each member's
                    # guard names the first weight that is not
                    whole = bool(np.isfinite(stack.w.min()) and np.isfinite(stack.w.max()))
                    for j, member in enumerate(members_now):
                        member.guard.epoch_end(float(total[j] / seen), epoch, batches,
                                               [] if whole else list(zip(
                                                   names, _views_of(stack, j), strict=True)))
                if not finished:
                    interrupted = True
                    break
                val_losses = None
                if X_val is not None:
                    if not val_a or val_a[0].shape[0] != M:
                        val_a = [np.empty((M, len(X_val), o), dtype) for _, o, _ in layers]
                        val_tmp = [np.empty_like(a) for a in val_a]
                    _forward(stack, X_val, val_a, val_tmp)
                    val_losses = _losses(loss_name, val_a[-1], y_val, layers[-1][2], None,
                                         val_tmp[-1])
                leaving = []
                for j, member in enumerate(members_now):
                    member.steps = t - first._t[0]
                    logs = {"loss": float(total[j] / seen), "lr": first.lr}
                    if val_losses is not None:
                        logs["val_loss"] = float(val_losses[j])
                    member.history.record(epoch, logs)
                    if score is not None and X_val is not None:
                        member.scores.append(score(val_a[-1][j]))
                    if member.stopper is not None:
                        member.stopper.on_epoch_end(epoch, logs)
                    if j == 0 and shown is not None:
                        shown.on_epoch_end(epoch, logs)
                    if member.run.stop_training:
                        leaving.append(j)
                if control.interrupt_requested:
                    interrupted = True
                    break
                if leaving:
                    for j in leaving:
                        _leave(members_now[j], stack, j)
                    keep = [j for j in range(M) if j not in leaving]
                    members_now = [members_now[j] for j in keep]
                    stack = stack.keep(keep)
                    buffers.clear()
                    limits = None
    except DivergenceError:
        return None  # nothing written yet: the caller's fit raises it as it does
    finally:
        if display is not None:
            display.on_train_end({})
    for j, member in enumerate(members_now):
        member.history.interrupted = interrupted
        member.steps = t - first._t[0]
        _leave(member, stack, j)
    for member, model, opt in zip(members, models, optimizers, strict=True):
        if member.stopper is not None:
            member.stopper.on_train_end(member.history.last())
        final = member.weights.restored or member.final
        assert final is not None and member.moments is not None
        for name, p in model.named_parameters():
            np.copyto(p.data, final[name])
        opt._flat_state[0][...] = member.moments[0]
        opt._flat_state[1][...] = member.moments[1]
        opt._t[:] = [opt._t[0] + member.steps] * len(opt._t)
        opt.step_count += member.steps
        model.eval()
    return [StackedRun(m.history, m.scores) for m in members]


def epoch_batches(orders: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """The (M, rows) index arrays of one epoch's batches: member m's batch b is its own
    order's rows b·batch_size onwards, as `iterate_minibatches` cuts that order."""
    return (orders[:, start:start + batch_size]
            for start in range(0, orders.shape[1], batch_size))


class _MemberRun:
    """The part of `fit`'s TrainingRun that EarlyStopping, the progress display and Ctrl-C
    use, for one member."""

    def __init__(self, model: _Weights, history: History) -> None:
        self.model, self.history = model, history
        self.stop_training = False
        self.interrupt_requested = False


def _views_of(stack: _Stack, row: int) -> list[np.ndarray]:
    """Member `row`'s parameters as views of the stack, in model.parameters() order."""
    out = []
    for W, b in zip(stack.W, stack.b, strict=True):
        out.extend((W[row], b[row]))
    return out


def _row_views(member: _Member, where: Callable[[], tuple[_Stack, list[_Member]]]
               ) -> Callable[[], list[np.ndarray]]:
    def views() -> list[np.ndarray]:
        stack, now = where()
        return _views_of(stack, now.index(member))
    return views


def _leave(member: _Member, stack: _Stack, row: int) -> None:
    """Keep a member's weights and moments as they are when it stops training."""
    member.final = {n: v.copy() for n, v in zip(member.weights.names,
                                                 _views_of(stack, row), strict=True)}
    member.moments = (stack.m[row].copy(), stack.v[row].copy())


def _limit(guard: DivergenceGuard) -> float:
    """The largest batch loss `guard.batch` lets pass once it has its reference."""
    reference = guard.reference
    return FACTOR * reference if reference is not None and reference > 0 else np.inf


def _targets_fit(loss: str, y: np.ndarray, k: int) -> bool:
    """Targets the stacked loss reads: class indices 0..k-1, or k values a row."""
    if loss == "cross_entropy":
        return y.ndim == 1 and (not len(y) or (0 <= int(y.min()) and int(y.max()) < k))
    return y.size == len(y) * k
