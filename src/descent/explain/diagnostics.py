"""Is the network learning well? Gradient flow, saturation and update sizes, per epoch.

`Diagnostics` is a training callback. Per epoch it records, for each Linear layer l
(keys "W1", "W2", ... counted from the input, as in `chain_rule`):

- `grad_norm[Wl]`: ‖∂C/∂W_l‖ (Frobenius), averaged over the epoch's batches. When the
  first layers' norms are orders of magnitude below the last's, gradients are vanishing
  (deep sigmoid stacks: each layer multiplies δ by σ' <= 1/4).
- `update_ratio[Wl]`: ‖ΔW_l‖/‖W_l‖ of one optimizer step, averaged over the epoch's batches
  (a common rule of thumb: around 1e-3; far below, the layer barely moves).
- `epoch_update_ratio[Wl]`: ‖W_l(end) − W_l(start)‖/‖W_l(start)‖ over the whole epoch.

and, when a `probe` batch X is given, for each sigmoid/tanh layer (keys "a1", "a2", ...):

- `saturation[al]`: the fraction of (example, unit) pairs where the activation is flat:
  sigmoid a < margin or a > 1 − margin, tanh |a| > 1 − margin, scaled tanh
  |a| > 1.7159 (1 − margin) (margin 0.01 by default); such units pass almost no gradient.
- `dead[al]` for relu layers: the fraction of units that output 0 for every probe example.

Saturation needs a probe because callbacks do not see the batches; pass a fixed
sample of the training inputs (a few hundred rows is plenty).

When training learned nothing for a reason the network shows, `notes()` says which, in
words: sigmoid/tanh layers saturated, a relu layer dead, the gradient vanishing before
the first layer, weights that barely move. `learning_notes` checks a trained network
this way without a callback (one probe batch forward and backward), and adds a note when
every row gets the same prediction. With a probe, the callback adds its notes to the
History's `notes` at the end of `fit`; `descent train` and the estimators add
`learning_notes` to theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.explain.deltas import DenseLayer, dense_layers
from descent.nn import ACTIVATIONS, Loss, Module
from descent.train.callbacks import Callback

_SCALED_TANH_MAX = 1.7159

# When a layer is worth a note: most of it flat, all of it dead, a gradient 10⁴ times
# smaller at the first layer than at the last, weights moving by less than 10⁻⁶ an epoch.
# Sound training stays far from each (tests/explain/test_learning_notes.py).
SATURATED = 0.9
DEAD = 1.0
VANISHED = 1e-4
STILL = 1e-6
PROBE_ROWS = 512


def saturated_fraction(name: str, a: np.ndarray, margin: float = 0.01) -> float | None:
    """The fraction of entries of a sigmoid/tanh output `a` lying in its flat tails.

    None for activations that do not saturate that way (relu, identity, ...).

    >>> import numpy as np
    >>> saturated_fraction("tanh", np.array([0.0, 0.5, 0.995, -0.999]))
    0.5
    """
    a = np.asarray(a)
    if name == "sigmoid":
        flat = (a < margin) | (a > 1 - margin)
    elif name == "tanh":
        flat = np.abs(a) > 1 - margin
    elif name == "scaled_tanh":
        flat = np.abs(a) > _SCALED_TANH_MAX * (1 - margin)
    else:
        return None
    return float(flat.mean()) if flat.size else 0.0


class Diagnostics(Callback):
    """Record gradient norms, update ratios and saturation per layer and epoch.

    Pass it to `fit(..., callbacks=[diag])`, or drive it by hand: set `model=` here and
    call `on_epoch_begin`, `on_batch_begin`, `on_batch_end`, `on_epoch_end` around your
    own steps. It reads each weight's `.grad` after the step (the engine and the compiled
    fast path of `fit` both leave it there). Records are plain lists, one entry per epoch;
    use one Diagnostics per training run (a second run appends to the same lists).

    >>> import numpy as np, descent as ds
    >>> X = np.random.default_rng(0).normal(size=(64, 2)); y = X[:, 0] * X[:, 1]
    >>> net = ds.nn.MLP([2, 8, 1], activation="tanh", seed=0)
    >>> diag = Diagnostics(probe=X)
    >>> _ = ds.fit(net, X, y, epochs=3, batch_size=16, seed=0, verbose=False,
    ...            callbacks=[diag])
    >>> diag.epochs, sorted(diag.grad_norm), sorted(diag.saturation)
    ([0, 1, 2], ['W1', 'W2'], ['a1'])
    """

    def __init__(self, probe: Any = None, *, margin: float = 0.01,
                 model: Module | None = None) -> None:
        if not 0 < margin < 0.5:
            raise ValueError(f"margin must be in (0, 0.5), got {margin!r}")
        self.probe = None if probe is None else np.asarray(probe)
        self.margin = float(margin)
        self._model = model
        self.epochs: list[int] = []
        self.grad_norm: dict[str, list[float]] = {}
        self.update_ratio: dict[str, list[float]] = {}
        self.epoch_update_ratio: dict[str, list[float]] = {}
        self.saturation: dict[str, list[float]] = {}
        self.dead: dict[str, list[float]] = {}
        self.activations: dict[str, str] = {}  # "a1" -> "sigmoid"
        self._layers: list[DenseLayer] | None = None
        self._weights: dict[str, Any] = {}
        self._epoch_start: dict[str, np.ndarray] = {}
        self._step_start: dict[str, np.ndarray] = {}
        self._sums: dict[str, list[float]] = {}

    # ---- what is watched ------------------------------------------------------------------
    @property
    def model(self) -> Module:
        if self._model is not None:
            return self._model
        run = getattr(self, "run", None)
        if run is None:
            raise RuntimeError("Diagnostics needs a model: pass it to fit(callbacks=[...]) or "
                               "give Diagnostics(model=...)")
        return run.model

    def _watch(self) -> None:
        """Find the weights to follow: W1..WL of a dense stack, else every matrix by name."""
        if self._weights:
            return
        model = self.model
        try:
            self._layers = dense_layers(model)
        except ValueError:
            self._layers = None
        if self._layers is not None:
            self._weights = {f"W{layer.number}": layer.linear.weight for layer in self._layers}
            self.activations = {f"a{layer.number}": layer.activation for layer in self._layers}
        else:
            self._weights = {name: p for name, p in model.named_parameters() if p.ndim >= 2}
        for key in self._weights:
            for record in (self.grad_norm, self.update_ratio, self.epoch_update_ratio):
                record.setdefault(key, [])

    # ---- hooks ----------------------------------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._watch()
        self._epoch_start = {k: p.data.astype(np.float64) for k, p in self._weights.items()}
        self._sums = {k: [0.0, 0.0, 0.0] for k in self._weights}  # grad, ratio, batches

    def on_batch_begin(self, batch: int, logs: dict[str, float] | None = None) -> None:
        if not self._sums:  # driven by hand without on_epoch_begin
            self.on_epoch_begin(len(self.epochs))
        for k, p in self._weights.items():
            start = self._step_start.get(k)
            if start is None or start.shape != p.shape:
                self._step_start[k] = start = np.empty(p.shape, np.float64)
            np.copyto(start, p.data)

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        for k, p in self._weights.items():
            sums = self._sums[k]
            if p.grad is not None:
                sums[0] += float(np.linalg.norm(p.grad))
            before = self._step_start[k]
            sums[1] += _ratio(p.data - before, before)
            sums[2] += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._watch()
        self.epochs.append(int(epoch))
        for k, p in self._weights.items():
            grad, ratio, batches = self._sums.get(k, [0.0, 0.0, 0.0])
            self.grad_norm[k].append(grad / batches if batches else float("nan"))
            self.update_ratio[k].append(ratio / batches if batches else float("nan"))
            start = self._epoch_start.get(k)
            self.epoch_update_ratio[k].append(
                float("nan") if start is None else _ratio(p.data - start, start))
        self._sums = {}
        if self.probe is not None and self._layers is not None:
            self._record_saturation()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Add `notes()` to the History of the `fit` this callback watched (with a probe)."""
        run = getattr(self, "run", None)
        if run is not None and self.probe is not None and self.epochs:
            notes = getattr(run.history, "notes", None)
            if notes is not None:
                notes.extend(n for n in self.notes() if n not in notes)

    def record_probe(self) -> None:
        """Record saturation and dead units on the probe now (also done every epoch)."""
        self._watch()
        if self.probe is not None and self._layers is not None:
            self._record_saturation()

    def notes(self) -> list[str]:
        """Why this network may learn little, from the latest records: one sentence per
        finding (saturated or dead layers, vanishing gradient, weights that barely move);
        empty when nothing stands out.

        >>> import numpy as np, descent as ds
        >>> net = ds.nn.MLP([2, 8, 1], activation="sigmoid", seed=0)
        >>> diag = Diagnostics(probe=np.full((4, 2), 500.0), model=net)
        >>> diag.record_probe(); diag.notes()[0][:40]
        'layer 1: 100% of its sigmoid outputs lie'
        """
        notes: list[str] = []
        for key, values in self.saturation.items():
            if values and values[-1] >= SATURATED:
                act = self.activations.get(key, "sigmoid")
                m = self.margin
                flat = {"sigmoid": f"below {m:g} or above {1 - m:g}",
                        "tanh": f"beyond ±{1 - m:g}"}.get(
                    act, f"beyond ±{_SCALED_TANH_MAX * (1 - m):.4g}")
                notes.append(
                    f"layer {key[1:]}: {values[-1]:.0%} of its {act} outputs lie {flat}, where "
                    f"the derivative is nearly 0, so almost no gradient passes (saturation); "
                    f"standardize the inputs, start from smaller weights or lower the rate")
        for key, values in self.dead.items():
            if values and values[-1] >= DEAD:
                notes.append(
                    f"layer {key[1:]}: every relu unit outputs 0 for every row (a dead layer): "
                    f"relu'(z) = 0 there, so no gradient reaches the layers below it; lower "
                    f"the rate, or use leaky_relu")
        keys = list(self.grad_norm)
        if len(keys) >= 2 and self.epochs:
            first, last = self.grad_norm[keys[0]][-1], self.grad_norm[keys[-1]][-1]
            if np.isfinite(first) and np.isfinite(last) and last > 0 and first / last < VANISHED:
                notes.append(
                    f"the gradient reaching the first layer is {first / last:.1e} times the "
                    f"last layer's (‖∂C/∂W1‖ = {first:.2g}, ‖∂C/∂W{len(keys)}‖ = {last:.2g}): "
                    f"each layer multiplies δ by f'(z), and the first layers barely learn "
                    f"(vanishing gradient)")
        moved = [v[-1] for v in self.epoch_update_ratio.values() if v and np.isfinite(v[-1])]
        if moved and max(moved) < STILL:
            notes.append(f"the weights barely moved in the last epoch (‖ΔW‖/‖W‖ at most "
                         f"{max(moved):.1e}): the rate may be too small")
        return notes

    def _record_saturation(self) -> None:
        layers = self._layers or []
        a = Tensor(self.probe.astype(layers[0].linear.weight.dtype, copy=False))
        with no_grad():
            for layer in layers:
                a = ACTIVATIONS[layer.activation](layer.linear(a))
                key, values = f"a{layer.number}", a.data
                fraction = saturated_fraction(layer.activation, values, self.margin)
                if fraction is not None:
                    self.saturation.setdefault(key, []).append(fraction)
                elif layer.activation == "relu":
                    self.dead.setdefault(key, []).append(float(np.all(values <= 0, 0).mean()))

    # ---- reading the records --------------------------------------------------------------
    def first_to_last_ratio(self, epoch: int = -1) -> float:
        """‖∂C/∂W_1‖ / ‖∂C/∂W_L‖ in one epoch: far below 1 means vanishing gradients."""
        keys = list(self.grad_norm)
        if not keys or not self.epochs:
            raise ValueError("no epochs recorded yet")
        return self.grad_norm[keys[0]][epoch] / self.grad_norm[keys[-1]][epoch]

    def to_dict(self) -> dict[str, Any]:
        """Every record as plain lists of floats (JSON-safe; NaN stays NaN)."""
        return {"epochs": list(self.epochs), "margin": self.margin,
                "activations": dict(self.activations),
                "grad_norm": {k: list(v) for k, v in self.grad_norm.items()},
                "update_ratio": {k: list(v) for k, v in self.update_ratio.items()},
                "epoch_update_ratio": {k: list(v) for k, v in self.epoch_update_ratio.items()},
                "saturation": {k: list(v) for k, v in self.saturation.items()},
                "dead": {k: list(v) for k, v in self.dead.items()}}


def _ratio(change: np.ndarray, weight: np.ndarray) -> float:
    size = float(np.linalg.norm(weight))
    return float(np.linalg.norm(change)) / size if size > 0 else float("nan")


def learning_notes(model: Module, X: Any, y: Any, loss: Loss, *, lr: float | None = None,
                   plain_steps: bool = False, margin: float = 0.01) -> list[str]:
    """Notes on why a trained network learned little, read from the network itself.

    X (N, d) and y are (a sample of) the training rows; the first PROBE_ROWS are used.
    One forward pass records saturation and dead relu units (`Diagnostics`), one backward
    pass of `loss` the gradient of each layer; the parameters' `.grad` are left as they
    were. Adds a note when every row gets the same prediction, and one that says training
    learned nothing when the network's loss on these rows is no better than that of the
    best constant prediction; then, if nothing in the network blocks learning outright,
    it gives the numbers to judge by: how much of the gradient reaches the first layer,
    and (with the learning rate `lr`, and `plain_steps` for SGD-like rules whose step is
    lr·gradient) how far one step moves the first layer's weights. Returns [] for a
    network that shows nothing wrong.

    >>> import numpy as np, descent as ds
    >>> net = ds.nn.MLP([2, 4, 1], activation="relu", seed=0)
    >>> net[0].bias.data[...] = -100.0          # every hidden unit off for every row
    >>> X = np.random.default_rng(0).normal(size=(50, 2)); y = X.sum(axis=1)
    >>> [n.split(":")[0] for n in learning_notes(net, X, y, ds.nn.get_loss("mse"))]
    ['training learned nothing', 'every row gets the same prediction', 'layer 1']
    """
    from descent.train.divergence import constant_prediction_loss

    X = np.asarray(X[:PROBE_ROWS])  # (of a PixelArray: only these rows become floats)
    y = np.asarray(y)[:PROBE_ROWS]
    if not len(X):
        return []
    notes: list[str] = []
    params = model.parameters()
    dtype = params[0].dtype if params else np.dtype(np.float64)
    saved = [p.grad for p in params]
    try:
        out = model(Tensor(X.astype(dtype, copy=False)))
        rows = out.data.reshape(len(X), -1)
        for p in params:
            p.grad = None
        C = loss(out, y)
        baseline = constant_prediction_loss(loss, y, rows.shape[1])
        if baseline is not None and np.isfinite(C.data) and float(C.data) >= 0.98 * baseline:
            notes.append(f"training learned nothing: its loss on the training rows "
                         f"({float(C.data):.4g}) is no better than a constant "
                         f"prediction's ({baseline:.4g})")
        why = ""
        if len(X) > 1 and np.all(np.ptp(rows, axis=0) <= 1e-6 * (np.abs(rows).max() + 1e-30)):
            if np.all(np.ptp(X.reshape(len(X), -1), axis=0) == 0):
                why = (" because every input column is the same for every row (after "
                       "scaling; values too large for float arithmetic, like 1e200, end "
                       "that way)")
            notes.append("every row gets the same prediction: the network ignores its "
                         f"inputs{why}")
        if np.isfinite(C.data):
            C.backward()
        diag = Diagnostics(probe=X, model=model, margin=margin)
        diag.record_probe()
        diag.epochs.append(0)
        for key, p in diag._weights.items():
            diag.grad_norm[key].append(float(np.linalg.norm(p.grad)) if p.grad is not None
                                       else float("nan"))
        found = diag.notes()
        if why:  # constant inputs give W1 no gradient; that is not a vanishing gradient
            found = [n for n in found if not n.startswith("the gradient reaching")]
        notes.extend(found)
        if notes and notes[0].startswith("training learned nothing") and len(notes) == 1:
            notes.append(_why_slow(diag, lr if plain_steps else None))
    finally:
        for p, g in zip(params, saved, strict=True):
            p.grad = g
    return _unique(notes)


def _why_slow(diag: Diagnostics, lr: float | None) -> str:
    """The gradient at the first layer and the size of one step there, in one sentence."""
    keys = list(diag.grad_norm)
    first_w = diag._weights[keys[0]]
    g1 = diag.grad_norm[keys[0]][-1]
    text = "nothing in the network blocks learning outright"
    if len(keys) >= 2:
        last = diag.grad_norm[keys[-1]][-1]
        squashing = [a for a in diag.activations.values() if a in ("sigmoid", "tanh",
                                                                  "scaled_tanh")]
        text += (f"; the gradient reaching the first layer is {g1 / last:.1e} times the last "
                 f"layer's" if last > 0 else "")
        if squashing:
            text += (f" (each of its {len(squashing)} {squashing[0]} layers multiplies δ by "
                     f"f'(z) <= {'1/4' if squashing[0] == 'sigmoid' else '1'})")
    size = float(np.linalg.norm(first_w.data))
    if lr is not None and size > 0:
        text += (f"; at learning rate {lr:g} one step moves the first layer's weights by "
                 f"about {lr * g1 / size:.1e} of their size: a larger rate, more epochs or "
                 f"an adaptive optimizer (adam) may get it moving")
    return text


def _unique(notes: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(notes))
