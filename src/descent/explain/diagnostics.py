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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.explain.deltas import DenseLayer, dense_layers
from descent.nn import ACTIVATIONS, Module
from descent.train.callbacks import Callback

_SCALED_TANH_MAX = 1.7159


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
