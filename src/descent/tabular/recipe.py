"""The training recipe: network shape and optimizer settings, checked, with the defaults.

One place holds the defaults, so that `descent train`, `NeuralNetRegressor` and
`NeuralNetClassifier` train the same way unless told otherwise. The network shapes were
chosen by 5-fold cross-validation (KFold(5, shuffle=True, random_state=0)) on the Windsor
house prices for regression and scikit-learn's 8x8 digits for classification; the weight
decay rule and the ensemble on the 13 tables of the development suite (docs/tables.md).
Both tasks use AdamW (lr 3e-3), minibatches of 32, at most 200 epochs, and early stopping
on a 20% validation part (patience 20) that restores the best epoch's weights; decoupled
weight decay 0.5 or 0.05, whichever gives the lower validation loss (`WEIGHT_DECAYS`); and,
on up to 10,000 rows, the mean of 5 networks merged into one (`DEFAULT_ENSEMBLE`).
Regression: one hidden layer of 64 tanh units (R² 0.674 ± 0.032 on Windsor, where least
squares gets 0.660). Classification: 64 relu units (digits accuracy 0.982 ± 0.005 for one
network at weight decay 0.5, as with 128 units: 0.982 ± 0.007; tanh got 0.974); on the six
classification tables of the development suite 64 units scored as 128 or better (attrition
0.880 -> 0.887, OJ 0.825 -> 0.828, HMDA 0.903 -> 0.904, Titanic 0.788 -> 0.791, credit and
penguins equal to 0.001) at half the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.nn import ACTIVATIONS, MLP, activation_name, get_loss
from descent.optim import OPTIMIZERS
from descent.tabular.limits import check_network_memory

TASKS = ("regression", "classification")

# The losses that make sense for each task; the first is the default.
TASK_LOSSES: dict[str, tuple[str, ...]] = {
    "regression": ("mse", "quadratic", "mae", "huber"),
    "classification": ("cross_entropy",),
}

# Softmax belongs to outputs. "identity" is allowed: such a network collapses to a linear
# model, which is worth being able to show.
HIDDEN_ACTIVATIONS = tuple(a for a in ACTIVATIONS if a != "softmax")

# The network shape depends on the task; everything else is shared.
DEFAULT_HIDDEN: dict[str, tuple[int, ...]] = {"regression": (64,), "classification": (64,)}
DEFAULT_ACTIVATION: dict[str, str] = {"regression": "tanh", "classification": "relu"}
DEFAULT_OPTIMIZER = "adamw"
DEFAULT_LR = 3e-3
DEFAULT_WEIGHT_DECAY = None  # chosen on validation data among WEIGHT_DECAYS
#: The decoupled weight decays tried when none is given, the first used without validation
#: data. Strong decay suits small, noisy, nearly linear tables (Carseats, CPS1985: 0.5
#: beats 0.05 by 0.01-0.04 R²); weak decay suits smooth nonlinear ones (concrete: R² 0.80
#: at 0.5, 0.90 at 0.05). Validation tells them apart at the cost of one more fit.
WEIGHT_DECAYS = (0.5, 0.05)
DEFAULT_EPOCHS = 200
DEFAULT_BATCH_SIZE = None  # by the rows: `Recipe.batch`
#: Minibatches by default (`batch_size=None`): 32 rows, doubled (up to MAX_AUTO_BATCH) while
#: an epoch still takes at least STEPS_PER_EPOCH steps of the doubled size. Tables up to
#: 19,199 rows keep 32, where the recipe was tuned; larger ones take the steps they need,
#: not more (diamonds, 43,152 training rows: batches of 128 scored R² 0.977 against 0.974
#: with 32, in 0.7 of the time), as scikit-learn's MLP caps its batches at 200 rows.
BASE_BATCH = 32
MAX_AUTO_BATCH = 256
STEPS_PER_EPOCH = 300
DEFAULT_VALIDATION_FRACTION = 0.2
DEFAULT_PATIENCE = 20
DEFAULT_TOL = 1e-4
#: Networks averaged by default (`ensemble=None`): 5 on up to ENSEMBLE_ROWS training rows,
#: where averaging independently trained networks cuts their variance (5-fold CV on the
#: development suite: Carseats R² 0.844 -> 0.855, CPS1985 0.290 -> 0.303, Auto 0.865 ->
#: 0.869); 1 above, where a network's variance is small and the cost is not.
DEFAULT_ENSEMBLE = 5
#: The most networks one ensemble may hold: the spread of a mean of M members falls as
#: 1/√M, so past ~100 more members change nothing one can measure, while the time and
#: memory grow with M (an `--ensemble 100000` would train for hours).
MAX_ENSEMBLE = 100
ENSEMBLE_ROWS = 10_000

# How the recipe's fields are called by each front end, for error messages.
PYTHON_NAMES: dict[str, str] = {
    "hidden": "hidden", "activation": "activation", "loss": "loss", "optimizer": "optimizer",
    "lr": "lr", "weight_decay": "weight_decay", "epochs": "epochs",
    "batch_size": "batch_size", "validation_fraction": "validation_fraction",
    "patience": "patience", "tol": "tol", "output_activation": "output_activation",
    "ensemble": "ensemble",
}

#: Output activations a regression network may end with. The target is scaled into the
#: activation's range (see `target_range`); classification always ends in logits (softmax
#: inside the cross-entropy).
OUTPUT_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")


@dataclass(frozen=True)
class Recipe:
    """How to build and train a network for a table of standardized features.

    `hidden` lists the hidden-layer widths (empty: a linear model). None for `hidden`,
    `activation` or `loss` picks the task's default (`DEFAULT_HIDDEN`, `DEFAULT_ACTIVATION`;
    "mse" for regression, "cross_entropy" on logits for classification).
    Training stops early when the validation loss has not improved by `tol` for `patience`
    epochs, keeping the best epoch's weights; without validation data, when the training
    loss has not improved by `tol` for `patience` epochs (as scikit-learn's MLP does).

    >>> r = Recipe(epochs=5).checked("regression")
    >>> r.hidden, r.activation, r.loss
    ((64,), 'tanh', 'mse')
    """

    hidden: tuple[int, ...] | None = None
    activation: str | None = None
    loss: str | None = None
    optimizer: str = DEFAULT_OPTIMIZER
    lr: float = DEFAULT_LR
    weight_decay: float | None = DEFAULT_WEIGHT_DECAY
    epochs: int = DEFAULT_EPOCHS
    batch_size: int | None = DEFAULT_BATCH_SIZE
    shuffle: bool = True
    early_stopping: bool = True
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    patience: int = DEFAULT_PATIENCE
    tol: float = DEFAULT_TOL
    output_activation: str | None = None
    ensemble: int | None = None
    names: Mapping[str, str] = field(default_factory=lambda: PYTHON_NAMES, compare=False,
                                     repr=False)

    def checked(self, task: str) -> Recipe:
        """This recipe with every field checked and `loss` filled in for `task`.

        Raises ValueError naming the offending setting as the front end calls it (`names`).
        """
        if task not in TASKS:
            raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
        n = self.names
        hidden = _widths(DEFAULT_HIDDEN[task] if self.hidden is None else self.hidden,
                         n["hidden"])
        wanted = DEFAULT_ACTIVATION[task] if self.activation is None else self.activation
        try:
            activation = activation_name(str(wanted).strip().lower())
        except ValueError:
            activation = None
        if activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"{n['activation']} must be one of {', '.join(HIDDEN_ACTIVATIONS)}; "
                             f"got {self.activation!r}")
        loss = TASK_LOSSES[task][0] if self.loss is None else get_loss(self.loss).name
        if loss not in TASK_LOSSES[task]:
            raise ValueError(f"{n['loss']} {self.loss!r} does not fit {task}; use one of "
                             f"{', '.join(TASK_LOSSES[task])}")
        optimizer = str(self.optimizer).strip().lower().replace("-", "").replace("_", "")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"{n['optimizer']} must be one of {', '.join(sorted(OPTIMIZERS))}; "
                             f"got {self.optimizer!r}")
        _number(self.lr, n["lr"], low=0.0, low_open=True)
        if self.weight_decay is not None:
            _number(self.weight_decay, n["weight_decay"], low=0.0)
        _whole(self.epochs, n["epochs"], low=1)
        if self.batch_size is not None:
            _whole(self.batch_size, n["batch_size"], low=1)
        _number(self.validation_fraction, n["validation_fraction"], low=0.0, low_open=True,
                high=1.0)
        _whole(self.patience, n["patience"], low=0)
        _number(self.tol, n["tol"], low=0.0)
        out = "identity" if self.output_activation is None else \
            str(self.output_activation).strip().lower()
        if out not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"{n.get('output_activation', 'output_activation')} must be one of "
                             f"{', '.join(OUTPUT_ACTIVATIONS)}; got {self.output_activation!r}")
        if task == "classification" and out != "identity":
            raise ValueError(f"{n.get('output_activation', 'output_activation')} {out} applies "
                             "to regression; a "
                             "classifier's outputs are logits turned into probabilities by "
                             "the softmax (leave it at identity)")
        if self.ensemble is not None:
            _whole(self.ensemble, n.get("ensemble", "ensemble"), low=1, high=MAX_ENSEMBLE)
        return Recipe(hidden, activation, loss, optimizer, float(self.lr),
                      None if self.weight_decay is None else float(self.weight_decay),
                      int(self.epochs),
                      None if self.batch_size is None else int(self.batch_size),
                      bool(self.shuffle), bool(self.early_stopping),
                      float(self.validation_fraction), int(self.patience), float(self.tol),
                      out, None if self.ensemble is None else int(self.ensemble), self.names)

    def batch(self, n_rows: int) -> int:
        """Rows per gradient step for `n_rows` training rows: `batch_size`, or by default
        BASE_BATCH doubled while n_rows / (2·batch) is at least STEPS_PER_EPOCH, up to
        MAX_AUTO_BATCH.

        >>> Recipe().batch(5_000), Recipe().batch(43_152), Recipe(batch_size=10).batch(9)
        (32, 128, 10)
        """
        if self.batch_size is not None:
            return self.batch_size
        size = BASE_BATCH
        while size < MAX_AUTO_BATCH and n_rows >= 2 * size * STEPS_PER_EPOCH:
            size *= 2
        return size

    def members(self, n_rows: int) -> int:
        """How many networks to train and average for `n_rows` training rows: `ensemble`,
        or by default DEFAULT_ENSEMBLE up to ENSEMBLE_ROWS rows and 1 above; always 1 with
        an output activation (see `descent.tabular.ensemble`).

        >>> Recipe().members(500), Recipe().members(50_000), Recipe(ensemble=3).members(9)
        (5, 1, 3)
        """
        if self.output_activation not in (None, "identity"):
            return 1
        if self.ensemble is not None:
            return self.ensemble
        return DEFAULT_ENSEMBLE if n_rows <= ENSEMBLE_ROWS else 1


def build_network(n_inputs: int, n_outputs: int, recipe: Recipe,
                  seed: int | np.random.Generator | None = None) -> MLP:
    """The recipe's MLP: n_inputs -> hidden widths -> n_outputs, a linear (logit) output.

    float64 weights: the networks are small, and float64 makes predictions reproducible
    to the last digit across batch sizes and machines.

    >>> build_network(11, 1, Recipe(hidden=(8,)).checked("regression")).sizes
    [11, 8, 1]
    """
    out = None if recipe.output_activation in (None, "identity") else recipe.output_activation
    sizes = [n_inputs, *recipe.hidden, n_outputs]
    check_network_memory(sizes, np.dtype(np.float64).itemsize, recipe.names)
    return MLP(sizes, activation=recipe.activation, output_activation=out, seed=seed,
               dtype=np.float64)


def target_range(output_activation: str | None) -> tuple[float, float] | None:
    """The interval a regression target is scaled into for an output activation: sigmoid
    (0.1, 0.9) and tanh (-0.8, 0.8), inside the range so the training targets are
    reachable without saturating; relu (0, None) keeps y's sign (y scaled, not centred);
    identity: None (standardized).

    >>> target_range("sigmoid"), target_range("identity")
    ((0.1, 0.9), None)
    """
    return {"sigmoid": (0.1, 0.9), "tanh": (-0.8, 0.8), "relu": (0.0, math.inf)}.get(
        output_activation or "identity")


def _widths(value: Any, name: str) -> tuple[int, ...]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise ValueError(f"{name} must be a list of layer widths such as (32, 16), "
                         f"got {value!r}")
    widths = []
    for w in value:
        if isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1:
            raise ValueError(f"{name} must hold positive whole numbers, got {value!r}")
        widths.append(int(w))
    return tuple(widths)


def _whole(value: Any, name: str, low: int, high: int | None = None) -> None:
    if (isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low
            or (high is not None and value > high)):
        bounds = f">= {low}" if high is None else f"from {low} to {high}"
        raise ValueError(f"{name} must be a whole number {bounds}, got {value!r}")


def _number(value: Any, name: str, low: float, low_open: bool = False,
            high: float | None = None) -> None:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > low if low_open else value >= low)
    ok = ok and (high is None or value < high)
    if not ok:
        bounds = f"> {low:g}" if low_open else f">= {low:g}"
        if high is not None:
            bounds += f" and < {high:g}"
        raise ValueError(f"{name} must be a number {bounds}, got {value!r}")
