"""One browser tab's training session: a network, its data, its optimizer, and what to draw.

Training is descent's own engine, as a user would write it: `model(Tensor(X))`, the loss,
`backward()`, `optimizer.step()`. Pictures come from the model's own layers (each neuron's
output over the drawn plane); the chain rule and deltas from `descent.explain` (the same
`chain_rule`, `backprop_deltas` and `engine_gradients` as `descent explain`), each checked
against the engine's gradient.

Bounds keep one tab from taking the machine: at most 6 hidden layers of at most 16 units,
5000 rows, 32 input features, 100 steps per call (the server calls at most 10 times a
second).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.data import Standardizer, iterate_minibatches
from descent.explain import (
    backprop_deltas,
    chain_rule,
    collapse_linear,
    dense_layers,
    engine_gradients,
    two_node_network,
)
from descent.nn import ACTIVATIONS, MLP, Module, Sequential, activation_name, get_loss
from descent.optim import SGD
from descent.playground.datasets import PlayData
from descent.playground.formula_view import ViewError
from descent.train import evaluate

MAX_LAYERS = 6
MAX_WIDTH = 16
MAX_STEPS_PER_CALL = 100
NEURON_GRID = 24  # each neuron's small heat map: 24×24 points of the drawn plane
OUTPUT_GRID = 64
CURVE_POINTS = 120
MAX_POINTS_DRAWN = 2000
GALLERY = 64  # pictures mode: validation pictures each later unit is drawn on
ACTIVATION_CHOICES = ("sigmoid", "tanh", "relu", "identity")
LOSS_CHOICES = ("quadratic", "cross_entropy")


@dataclass
class Settings:
    """What the page's controls set. `hidden` lists the hidden widths (may be empty)."""

    hidden: list[int] = field(default_factory=lambda: [4, 4])
    activation: str = "tanh"
    output_activation: str = "sigmoid"
    loss: str = "quadratic"
    lr: float = 0.3
    batch_size: int = 10
    weight_decay: float = 0.0
    seed: int = 0


def _number(raw: dict, key: str, default: float, lo: float, hi: float, what: str) -> float:
    value = raw.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ViewError(f"{what} must be a number, got {value!r}", key) from None
    if not (np.isfinite(number) and lo <= number <= hi):
        raise ViewError(f"{what} must be between {lo:g} and {hi:g}, got {value!r}", key)
    return number


def settings_from(raw: dict[str, Any]) -> Settings:
    """Check the page's settings; ViewError names the control and what is wrong.

    >>> settings_from({"hidden": "4, 2", "activation": "linear", "lr": "0.1"}).hidden
    [4, 2]
    >>> settings_from({"hidden": "4, 40"})
    Traceback (most recent call last):
    ...
    descent.playground.formula_view.ViewError: each layer has 1 to 16 neurons; got 40
    """
    hidden = raw.get("hidden", [4, 4])
    if isinstance(hidden, str):
        parts = [p for p in hidden.replace(" ", "").split(",") if p]
        try:
            hidden = [int(p) for p in parts]
        except ValueError:
            raise ViewError(f"hidden layers are widths separated by commas, such as 4,4; got "
                            f"{raw.get('hidden')!r}", "hidden") from None
    if not isinstance(hidden, list) or not all(isinstance(h, int) and not isinstance(h, bool)
                                               for h in hidden):
        raise ViewError(f"hidden layers are whole numbers, got {hidden!r}", "hidden")
    if len(hidden) > MAX_LAYERS:
        raise ViewError(f"at most {MAX_LAYERS} hidden layers; got {len(hidden)}", "hidden")
    for h in hidden:
        if not 1 <= h <= MAX_WIDTH:
            raise ViewError(f"each layer has 1 to {MAX_WIDTH} neurons; got {h}", "hidden")
    acts = {}
    for key in ("activation", "output_activation"):
        name = raw.get(key, getattr(Settings, key))
        try:
            acts[key] = activation_name(str(name))
        except ValueError:
            acts[key] = ""
        if acts[key] not in ACTIVATION_CHOICES:
            raise ViewError(f"{key.replace('_', ' ')} must be one of sigmoid, tanh, relu, "
                            f"linear; got {name!r}", key)
    loss = str(raw.get("loss", "quadratic"))
    if loss not in LOSS_CHOICES:
        raise ViewError(f"loss must be quadratic or cross_entropy, got {loss!r}", "loss")
    return Settings(
        hidden=list(hidden), activation=acts["activation"],
        output_activation=acts["output_activation"], loss=loss,
        lr=_number(raw, "lr", 0.3, 1e-6, 100.0, "the learning rate"),
        batch_size=int(_number(raw, "batch_size", 10, 1, 5000, "the batch size")),
        weight_decay=_number(raw, "weight_decay", 0.0, 0.0, 10.0, "weight decay"),
        seed=int(_number(raw, "seed", 0, 0, 2**31 - 1, "the seed")),
    )


def _pack(a: np.ndarray) -> dict[str, Any]:
    """A map of values as signed bytes of a/max|a| (base64) and that scale: small to send."""
    a = np.nan_to_num(np.asarray(a, np.float64), nan=0.0, posinf=1e300, neginf=-1e300)
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    q = np.zeros(a.shape, np.int8) if scale == 0 else np.round(a / scale * 127).astype(np.int8)
    return {"scale": scale, "bytes": base64.b64encode(q.tobytes()).decode("ascii")}


def _plain(a: Any) -> Any:
    a = np.asarray(a, dtype=np.float64)
    a = np.where(np.isfinite(a), a, np.nan)
    return None if a.ndim == 0 and np.isnan(a) else \
        (float(a) if a.ndim == 0 else [_plain(v) for v in a])


class Session:
    """A network training on `data` with `settings`, step by step.

    >>> from descent.playground.datasets import toy
    >>> s = Session(toy("circle"), Settings(hidden=[4], lr=0.5))
    >>> before = s.losses()["train"]
    >>> s.train(200), s.steps      # at most 100 steps a call
    (100, 100)
    >>> s.losses()["train"] < before
    True
    """

    def __init__(self, data: PlayData, settings: Settings, *, preset: str | None = None) -> None:
        self.data, self.settings, self.preset = data, settings, preset
        X = data.X
        # The seeds' two-node example is worked with its raw x = 1.5, pictures with pixels
        # in [0, 1] (so first-layer weights read as pictures); everything else is
        # standardized on the training rows, as `descent train` does.
        self.pictures = data.image_shape is not None
        self.scale_x = preset != "two-node" and not self.pictures
        self.x_scaler = Standardizer().fit(X[data.train]) if self.scale_x else None
        self.Xs = self.x_scaler.transform(X) if self.x_scaler else X.copy()
        self.regression = data.task == "regression"
        self.y_mean, self.y_std = 0.0, 1.0
        if self.regression and preset != "two-node":
            self.y_mean = float(data.y[data.train].mean())
            self.y_std = float(data.y[data.train].std()) or 1.0
        self.ys = (data.y - self.y_mean) / self.y_std
        self.loss = get_loss(self._loss_name())
        self.message = ""
        self.reset()

    # ---- building -----------------------------------------------------------------------------

    def _loss_name(self) -> str:
        s = self.settings
        if s.loss == "quadratic":
            return "quadratic"
        if self.regression:
            raise ViewError("cross-entropy is for two classes; this data is regression: use "
                            "the quadratic cost", "loss")
        if s.output_activation == "sigmoid":
            return "binary_cross_entropy"
        if s.output_activation == "identity":
            return "binary_cross_entropy_with_logits"
        raise ViewError("cross-entropy needs a sigmoid or linear output (read as a "
                        "probability or its logit); change the output activation", "loss")

    def _build(self) -> Module:
        s = self.settings
        if self.preset == "two-node":
            return two_node_network()
        sizes = [self.Xs.shape[1], *s.hidden, 1]
        return MLP(sizes, activation=s.activation, output_activation=s.output_activation,
                   seed=s.seed, dtype=np.float64)

    def reset(self) -> None:
        """Fresh weights (from the seed), a fresh optimizer; the data stays."""
        self.model = self._build()
        self.layers = dense_layers(self.model)
        self.optimizer = SGD(self.model.parameters(), lr=self.settings.lr,
                             weight_decay=self.settings.weight_decay)
        self.rng = np.random.default_rng(self.settings.seed)
        self.batches = self._batches()
        self.batch = next(self.batches)
        self.steps = 0
        self.history: list[list[float | None]] = []
        self.diverged = ""
        self._record()

    def set_rates(self, lr: float, batch_size: int, weight_decay: float) -> None:
        """Change the rate, batch size and weight decay without touching the weights."""
        self.settings.lr, self.settings.weight_decay = lr, weight_decay
        self.optimizer.lr = lr
        self.optimizer.weight_decay = weight_decay
        if batch_size != self.settings.batch_size:
            self.settings.batch_size = batch_size
            self.batches = self._batches()
            self.batch = next(self.batches)

    def _batches(self):  # noqa: ANN202 - an endless iterator of row-index arrays
        train = self.data.train
        size = min(self.settings.batch_size, len(train))
        while True:
            for idx in iterate_minibatches(len(train), size, shuffle=True, rng=self.rng):
                yield train[idx]

    # ---- training -----------------------------------------------------------------------------

    def train(self, steps: int) -> int:
        """Up to `steps` (at most 100) minibatch steps; returns how many ran. Stops at
        divergence, with `diverged` saying why."""
        done = 0
        for _ in range(max(0, min(int(steps), MAX_STEPS_PER_CALL))):
            if self.diverged:
                break
            idx = self.batch
            self.optimizer.zero_grad()
            with np.errstate(all="ignore"):
                C = self.loss(self.model(Tensor(self.Xs[idx])), self.ys[idx])
                C.backward()
                self.optimizer.step()
            self.steps += 1
            done += 1
            self.batch = next(self.batches)
            bad = [n for n, p in self.model.named_parameters() if not np.all(np.isfinite(p.data))]
            if not np.isfinite(float(C.data)) or bad:
                self.diverged = (f"diverged at step {self.steps}: "
                                 + (f"weight {bad[0]} is no longer finite" if bad else
                                    f"the loss is {float(C.data)}")
                                 + f"; lower the learning rate (it is {self.settings.lr:g}) "
                                   "and press reset")
        if done:
            self._record()
        return done

    def losses(self) -> dict[str, float | None]:
        """Cost on the training rows and the validation rows (and accuracy for classes)."""
        out: dict[str, float | None] = {}
        with np.errstate(all="ignore"):
            for part, rows in (("train", self.data.train), ("val", self.data.val)):
                value = evaluate(self.model, self.Xs[rows], self.ys[rows], self.loss, ())["loss"]
                out[part] = float(value) if np.isfinite(value) else None
                if not self.regression:
                    pred = self._classes(self._outputs(self.Xs[rows]))
                    out[f"{part}_accuracy"] = float(np.mean(pred == self.data.y[rows]))
        return out

    def _record(self) -> None:
        lo = self.losses()
        self.history.append([self.steps, lo["train"], lo["val"]])
        if len(self.history) > 600:  # keep the start, thin the middle
            self.history = self.history[:1] + self.history[1::2]

    # ---- pictures -----------------------------------------------------------------------------

    def _outputs(self, Xs: np.ndarray) -> np.ndarray:
        with no_grad(), np.errstate(all="ignore"):
            return np.asarray(self.model(Tensor(Xs)).data, np.float64).reshape(len(Xs))

    def _probability(self, out: np.ndarray) -> np.ndarray:
        if self.loss.name == "binary_cross_entropy_with_logits":
            return 1 / (1 + np.exp(-np.clip(out, -500, 500)))
        return out

    def _classes(self, out: np.ndarray) -> np.ndarray:
        return (self._probability(out) > 0.5).astype(np.float64)

    def plane(self) -> dict[str, Any]:
        """The drawn plane: its axes (names, ranges in the columns' own units)."""
        X = self.data.X
        axes = []
        for k in self.data.draw:
            lo, hi = float(X[:, k].min()), float(X[:, k].max())
            pad = 0.1 * (hi - lo) if hi > lo else 1.0
            axes.append({"name": self.data.features[k], "lo": lo - pad, "hi": hi + pad})
        return {"axes": axes}

    def _grid(self, n: int) -> np.ndarray:
        """Rows of the drawn plane (n or n×n points, first axis fastest), others at their mean,
        standardized as the network sees them."""
        axes = self.plane()["axes"]
        base = self.data.X[self.data.train].mean(axis=0)
        lines = [np.linspace(a["lo"], a["hi"], n) for a in axes]
        if len(lines) == 1:
            rows = np.tile(base, (n, 1))
            rows[:, self.data.draw[0]] = lines[0]
        else:
            g0, g1 = np.meshgrid(lines[0], lines[1])  # row-major: y (second axis) slowest
            rows = np.tile(base, (n * n, 1))
            rows[:, self.data.draw[0]] = g0.ravel()
            rows[:, self.data.draw[1]] = g1.ravel()
        return self.x_scaler.transform(rows) if self.x_scaler else rows

    def _layer_outputs(self, Xs: np.ndarray) -> list[np.ndarray]:
        """a_l for every layer l = 1..L, from the model's own Linear layers and activations."""
        outs, a = [], Tensor(Xs)
        with no_grad(), np.errstate(all="ignore"):
            for layer in self.layers:
                a = ACTIVATIONS[layer.activation](layer.linear(a))
                outs.append(np.asarray(a.data, np.float64))
        return outs

    def gallery(self) -> np.ndarray:
        """Pictures mode: 64 fixed validation pictures, 32 of each class (cats first)."""
        d = self.data
        val = np.setdiff1d(d.val, d.train)
        picks = [val[d.y[val] == c][:GALLERY // 2] for c in (0.0, 1.0)]
        return np.concatenate(picks)

    def points(self) -> dict[str, Any]:
        """The data rows on the drawn plane: coordinates, target and train/validation."""
        d = self.data
        if self.pictures:
            rows = self.gallery()
            return {"x": [], "y": _plain(d.y[rows]), "validation": [True] * len(rows),
                    "images": base64.b64encode(np.round(d.X[rows] * 255).astype(np.uint8)
                                               .tobytes()).decode("ascii")}
        rows = np.arange(len(d.X))
        if len(rows) > MAX_POINTS_DRAWN:
            rows = np.sort(np.random.default_rng(0).choice(rows, MAX_POINTS_DRAWN, False))
        is_val = np.isin(rows, d.val) & ~np.isin(rows, d.train)
        return {"x": _plain(d.X[rows][:, d.draw]), "y": _plain(d.y[rows]),
                "validation": is_val.tolist()}

    def describe(self) -> dict[str, Any]:
        """What the page needs once per data set or network: names, sizes, points."""
        d = self.data
        return {"dataset": d.name, "task": d.task, "features": d.features, "target": d.target,
                "classes": d.classes, "draw": d.draw, "sizes": self._sizes(),
                "activations": [layer.activation for layer in self.layers],
                "loss": self.loss.name, "rows": {"train": len(d.train), "validation":
                                                  len(np.setdiff1d(d.val, d.train))},
                "plane": self.plane(), "points": self.points(), "preset": self.preset,
                "advice": self._advice(),
                "pictures": None if not self.pictures else
                {"height": d.image_shape[0], "width": d.image_shape[1], "gallery": GALLERY}}

    def _advice(self) -> str:
        """A setting that cannot fit this data, said before the learner wonders why."""
        out = self.layers[-1].activation
        if self.regression and self.preset != "two-node" and out != "identity":
            reach = {"sigmoid": "0 to 1", "tanh": "−1 to 1", "relu": "0 and up"}[out]
            return (f"The target {self.data.target} is standardized (mean 0, standard deviation "
                    f"1), but a {out} output only reaches {reach}: choose the linear output "
                    f"activation to fit it.")
        return ""

    def _sizes(self) -> list[int]:
        """Units per drawn column; a picture is drawn as one input node, not 784."""
        first = 1 if self.pictures else self.layers[0].linear.in_features
        return [first] + [la.linear.out_features for la in self.layers]

    def snapshot(self) -> dict[str, Any]:
        """The live picture: weights, each neuron's map, the output, losses, one example."""
        if self.pictures:
            return self._picture_snapshot()
        one = len(self.data.draw) == 1
        n = CURVE_POINTS if one else NEURON_GRID
        hidden_maps = self._layer_outputs(self._grid(n))
        m = CURVE_POINTS if one else OUTPUT_GRID
        out = self._outputs(self._grid(m))
        if self.regression:
            shown = out * self.y_std + self.y_mean
        else:
            shown = self._probability(out)
        weights = [{"W": _plain(layer.linear.weight.data), "b": _plain(layer.linear.bias.data)}
                   for layer in self.layers]
        lo = self.losses()
        snap = {
            "steps": self.steps, "epoch": self.steps * min(self.settings.batch_size,
                                                           len(self.data.train))
            / len(self.data.train),
            "losses": lo, "history": self.history, "weights": weights,
            "maps": [[_pack(a[:, j]) for j in range(a.shape[1])] for a in hidden_maps],
            "map_size": n, "output": {"size": m, "values": _plain(np.round(shown, 5))},
            "neurons": self._example(), "diverged": self.diverged, "collapse": self._collapse(),
            "lr": self.settings.lr, "batch": len(self.batch),
        }
        return snap

    def _common(self) -> dict[str, Any]:
        return {"steps": self.steps, "epoch": self.steps * min(self.settings.batch_size,
                                                               len(self.data.train))
                / len(self.data.train), "losses": self.losses(), "history": self.history,
                "neurons": self._example(), "diverged": self.diverged,
                "collapse": self._collapse(), "lr": self.settings.lr, "batch": len(self.batch)}

    def _picture_snapshot(self) -> dict[str, Any]:
        """Pictures: each first-layer unit drawn as its 784 weights (what it looks for), each
        later unit as its outputs on the 64 gallery pictures (cats on top, dogs below), the
        output as P(dog) of each gallery picture. A first-layer line is as wide as the root
        mean square of the unit's weights."""
        rows = self.gallery()
        outs = self._layer_outputs(self.Xs[rows])
        first = np.asarray(self.layers[0].linear.weight.data, np.float64)
        maps = [[_pack(first[:, j]) for j in range(first.shape[1])]]
        maps += [[_pack(a[:, j]) for j in range(a.shape[1])] for a in outs[1:]]
        weights = [{"W": [_plain(np.sqrt(np.mean(first ** 2, axis=0)))],
                    "b": _plain(self.layers[0].linear.bias.data)}]
        weights += [{"W": _plain(la.linear.weight.data), "b": _plain(la.linear.bias.data)}
                    for la in self.layers[1:]]
        shown = self._probability(outs[-1][:, 0])
        example = np.round(self.Xs[self.batch[0]] * 255).astype(np.uint8)
        return {**self._common(), "weights": weights, "maps": maps, "map_size": 0,
                "output": {"size": len(rows), "values": _plain(np.round(shown, 5))},
                "example_image": base64.b64encode(example.tobytes()).decode("ascii")}

    def _example(self) -> dict[str, Any]:
        """z, a and f'(z) of every neuron for the first example of the next batch (hover)."""
        row = self.batch[:1]
        with np.errstate(all="ignore"):  # a diverged network's numbers are shown as they are
            d = backprop_deltas(self.model, self.Xs[row], self.ys[row], self.loss)
        layers = []
        for k, layer in enumerate(d.layers):
            fp = d.f_prime[k]
            layers.append({"activation": layer.activation, "z": _plain(d.z[k][0]),
                           "a": _plain(d.a[k + 1][0]),
                           "f_prime": None if fp is None else _plain(fp[0])})
        return {"row": int(row[0]), "x": None if self.pictures else _plain(d.a[0][0]),
                "layers": layers}

    def _collapse(self) -> dict[str, Any] | None:
        """With linear hidden units the whole stack is one layer: its W and b."""
        if self.preset == "two-node" or self.settings.activation != "identity" \
                or not self.settings.hidden:
            return None
        W, b = collapse_linear(Sequential(*[layer.linear for layer in self.layers]))
        return {"W": _plain(W[:, 0]), "b": float(b[0]),
                "output_activation": self.layers[-1].activation}

    # ---- the chain rule -----------------------------------------------------------------------

    def explain(self, layer: int, kind: str, i: int, j: int, example: int = 0) -> dict[str, Any]:
        """∂C/∂(one weight or bias) on the current batch as chain-rule factors, every layer's
        δ, and each checked against the engine's own gradient.

        `layer` counts Linear layers from 1; a weight is (i, j): input unit i, output unit j.
        """
        if not 1 <= layer <= len(self.layers):
            raise ViewError(f"layer must be 1..{len(self.layers)}, got {layer}", "layer")
        if kind not in ("weight", "bias"):
            raise ViewError(f"kind must be weight or bias, got {kind!r}", "kind")
        rows = self.batch
        if not 0 <= example < len(rows):
            raise ViewError(f"example must be 0..{len(rows) - 1}, got {example}", "example")
        Xb, yb = self.Xs[rows], self.ys[rows]
        param = f"{'W' if kind == 'weight' else 'b'}{layer}"
        index = (i, j) if kind == "weight" else (j,)
        try:
            chain = chain_rule(self.model, Xb, yb, param, index, loss=self.loss, example=example)
        except ValueError as error:
            raise ViewError(str(error), "weight") from None
        d = backprop_deltas(self.model, Xb, yb, self.loss)
        _, engine = engine_gradients(self.model, Xb, yb, self.loss)
        deltas = []
        for k in range(len(d.layers) - 1, -1, -1):  # from the output back toward the input
            dl = d.layers[k]
            gW, gb = engine[dl.weight_name], engine[dl.bias_name]
            err = max(float(np.max(np.abs(d.grad_W[k] - gW))),
                      float(np.max(np.abs(d.grad_b[k] - gb))))
            size = max(float(np.max(np.abs(gW))), float(np.max(np.abs(gb))), 1e-300)
            deltas.append({
                "layer": dl.number, "activation": dl.activation,
                "delta": _plain(d.delta[k][example]),
                "f_prime": None if d.f_prime[k] is None else _plain(d.f_prime[k][example]),
                "grad_W": _plain(d.grad_W[k]), "engine_W": _plain(gW),
                "max_abs_error": err, "matches": bool(err <= 1e-10 * max(size, 1.0))})
        info = chain.to_dict()
        w_now = float((self.layers[layer - 1].linear.weight if kind == "weight"
                       else self.layers[layer - 1].linear.bias).data[index])
        info.update({
            "value": w_now, "lr": self.settings.lr, "weight_decay": self.settings.weight_decay,
            "matches": bool(chain.abs_error <= 1e-10 * max(abs(chain.engine), 1.0)),
            "deltas": deltas, "batch_rows": rows.tolist(), "X": _plain(Xb), "y": _plain(yb),
            "weights": [{"W": _plain(la.linear.weight.data), "b": _plain(la.linear.bias.data)}
                        for la in self.layers],
            "activations": [la.activation for la in self.layers],
        })
        return info
