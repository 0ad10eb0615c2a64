"""Learning-rate schedules: call `step()` once per epoch and they set `optimizer.lr`.

Writing lr_0 for the optimizer's lr when the schedule was made and t for the number of
`step()` calls so far (epochs):

    StepLR             lr_t = lr_0 * gamma ** (t // step_size)
    ExponentialLR      lr_t = lr_0 * gamma ** t
    InverseTimeLR      lr_t = lr_0 / (1 + decay * t)
    CosineAnnealingLR  lr_t = eta_min + (lr_0 - eta_min) * (1 + cos(pi * t / T_max)) / 2
    ReduceLROnPlateau  lr <- max(lr * factor, min_lr) after `patience` epochs without
                       improvement of the metric passed to step(metric)

The first four are computed in closed form from (lr_0, t), so a resumed run that restores
t gets the very same floats; they agree with `torch.optim.lr_scheduler` up to rounding
(PyTorch multiplies step by step). ReduceLROnPlateau follows PyTorch's logic exactly.
A schedule works with any optimizer that has a settable `lr` attribute.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from descent.optim import _checks

__all__ = [
    "SCHEDULES",
    "CosineAnnealingLR",
    "ExponentialLR",
    "InverseTimeLR",
    "ReduceLROnPlateau",
    "Schedule",
    "StepLR",
    "get_schedule",
]


class HasLR(Protocol):
    """Anything with a settable learning rate, such as a descent optimizer."""

    lr: float


def _json_float(x: float) -> float | str:
    # Strict JSON has no inf/nan; ReduceLROnPlateau starts from best = +-inf.
    return x if math.isfinite(x) else repr(x)


def _from_json_float(owner: str, name: str, x: Any) -> float:
    if isinstance(x, str) and x in ("inf", "-inf", "nan"):
        return float(x)
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ValueError(f"{owner}: state {name} must be a number, got {x!r}")
    return float(x)


class Schedule:
    """Base class: remembers the optimizer, its initial lr and the epoch count t.

    Subclasses define `lr_at(t)` and `hyperparameters()`. `step()` advances t by one and
    sets `optimizer.lr = lr_at(t)`; it accepts and ignores a metric, so a training loop can
    call `schedule.step(val_loss)` on any schedule. `needs_metric` tells which ones use it.
    """

    needs_metric = False

    def __init__(self, optimizer: HasLR) -> None:
        owner = type(self).__name__
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"{owner}: optimizer must have an lr attribute, got {optimizer!r}")
        self.optimizer = optimizer
        self.base_lr = _checks.positive(owner, "optimizer.lr", optimizer.lr)
        self.t = 0

    def lr_at(self, t: int) -> float:
        """The learning rate after t epochs."""
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """JSON-safe settings (they must match when state is loaded)."""
        return {}

    @property
    def lr(self) -> float:
        """The optimizer's current learning rate."""
        return float(self.optimizer.lr)

    def step(self, metric: float | None = None) -> float:
        """End of an epoch: advance t, set and return the optimizer's new lr."""
        self.t += 1
        lr = self.lr_at(self.t)
        self.optimizer.lr = lr
        return lr

    def state_dict(self) -> dict[str, Any]:
        """JSON-safe state: type, t, base_lr and the hyperparameters."""
        return {
            "type": type(self).__name__,
            "t": self.t,
            "base_lr": self.base_lr,
            "hyperparameters": self.hyperparameters(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()` output and set the optimizer's lr to match it.

        Raises ValueError naming the key when the type, keys or hyperparameters differ.
        """
        owner = type(self).__name__
        want = set(self.state_dict())
        if not isinstance(state, dict) or set(state) != want:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{owner}: state must have keys {sorted(want)}, got {got}")
        if state["type"] != owner:
            raise ValueError(f"{owner}: state was saved by {state['type']!r}, not {owner!r}")
        mine, theirs = self.hyperparameters(), state["hyperparameters"]
        if not isinstance(theirs, dict) or set(theirs) != set(mine):
            raise ValueError(f"{owner}: state hyperparameters {theirs!r} do not match {mine!r}")
        for key, value in mine.items():
            if theirs[key] != value:
                raise ValueError(
                    f"{owner}: state has {key}={theirs[key]!r} but this schedule has "
                    f"{key}={value!r}"
                )
        t = _checks.integer(owner, "t", state["t"], 0)
        base_lr = _checks.positive(owner, "base_lr", state["base_lr"])
        self._load_extra(owner, state)
        self.t, self.base_lr = t, base_lr
        self._restore_lr()

    def _load_extra(self, owner: str, state: dict[str, Any]) -> None:
        pass

    def _restore_lr(self) -> None:
        self.optimizer.lr = self.lr_at(self.t)

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hp}, t={self.t}, lr={self.lr!r})"


class StepLR(Schedule):
    """Multiply the lr by gamma every `step_size` epochs: lr_0 * gamma ** (t // step_size).

    Example:
        >>> from types import SimpleNamespace
        >>> opt = SimpleNamespace(lr=0.1)
        >>> s = StepLR(opt, step_size=2, gamma=0.5)
        >>> [round(s.step(), 4) for _ in range(5)]
        [0.1, 0.05, 0.05, 0.025, 0.025]
    """

    def __init__(self, optimizer: HasLR, step_size: int, gamma: float = 0.1) -> None:
        owner = type(self).__name__
        self.step_size = _checks.integer(owner, "step_size", step_size, 1)
        self.gamma = _checks.positive(owner, "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)

    def hyperparameters(self) -> dict[str, Any]:
        return {"step_size": self.step_size, "gamma": self.gamma}


class ExponentialLR(Schedule):
    """Multiply the lr by gamma every epoch: lr_0 * gamma ** t.

    Example:
        >>> from types import SimpleNamespace
        >>> opt = SimpleNamespace(lr=1.0)
        >>> s = ExponentialLR(opt, gamma=0.5)
        >>> [s.step() for _ in range(3)], opt.lr
        ([0.5, 0.25, 0.125], 0.125)
    """

    def __init__(self, optimizer: HasLR, gamma: float) -> None:
        self.gamma = _checks.positive(type(self).__name__, "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma**t

    def hyperparameters(self) -> dict[str, Any]:
        return {"gamma": self.gamma}


class InverseTimeLR(Schedule):
    """1/t annealing: lr_0 / (1 + decay * t), the classic Robbins-Monro step size.

    Example:
        >>> from types import SimpleNamespace
        >>> opt = SimpleNamespace(lr=1.0)
        >>> s = InverseTimeLR(opt, decay=1.0)
        >>> [s.step() for _ in range(3)]
        [0.5, 0.3333333333333333, 0.25]
    """

    def __init__(self, optimizer: HasLR, decay: float) -> None:
        self.decay = _checks.nonnegative(type(self).__name__, "decay", decay)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr / (1.0 + self.decay * t)

    def hyperparameters(self) -> dict[str, Any]:
        return {"decay": self.decay}


class CosineAnnealingLR(Schedule):
    """Half a cosine from lr_0 down to eta_min over T_max epochs (then back up, as torch).

    Example:
        >>> from types import SimpleNamespace
        >>> opt = SimpleNamespace(lr=1.0)
        >>> s = CosineAnnealingLR(opt, T_max=2)
        >>> [round(s.step(), 6) for _ in range(2)]
        [0.5, 0.0]
    """

    def __init__(self, optimizer: HasLR, T_max: int, eta_min: float = 0.0) -> None:
        owner = type(self).__name__
        self.T_max = _checks.integer(owner, "T_max", T_max, 1)
        self.eta_min = _checks.nonnegative(owner, "eta_min", eta_min)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (
            1.0 + math.cos(math.pi * t / self.T_max)
        ) / 2.0

    def hyperparameters(self) -> dict[str, Any]:
        return {"T_max": self.T_max, "eta_min": self.eta_min}


class ReduceLROnPlateau(Schedule):
    """Cut the lr by `factor` when a metric stops improving; exactly torch's rule.

    Each `step(metric)`: the metric improves on the best so far if it is lower (mode="min")
    or higher (mode="max") by more than `threshold` (relative: best * (1 -+ threshold);
    absolute: best -+ threshold). After more than `patience` epochs without improvement,
    lr <- max(lr * factor, min_lr) (skipped when the change is below `eps`), then
    `cooldown` epochs pass before bad epochs count again.

    Example:
        >>> from types import SimpleNamespace
        >>> opt = SimpleNamespace(lr=1.0)
        >>> s = ReduceLROnPlateau(opt, factor=0.5, patience=1)
        >>> [s.step(loss) for loss in [3.0, 2.0, 2.0, 2.0, 2.0]]
        [1.0, 1.0, 1.0, 0.5, 0.5]
    """

    needs_metric = True

    def __init__(
        self,
        optimizer: HasLR,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        min_lr: float = 0.0,
        cooldown: int = 0,
        threshold_mode: str = "rel",
        eps: float = 1e-8,
    ) -> None:
        owner = type(self).__name__
        self.mode = _checks.choice(owner, "mode", mode, ("min", "max"))
        self.factor = _checks.positive(owner, "factor", factor)
        if self.factor >= 1:
            raise ValueError(f"{owner}: factor must be < 1, got {factor!r}")
        self.patience = _checks.integer(owner, "patience", patience, 0)
        self.threshold = _checks.nonnegative(owner, "threshold", threshold)
        self.min_lr = _checks.nonnegative(owner, "min_lr", min_lr)
        self.cooldown = _checks.integer(owner, "cooldown", cooldown, 0)
        self.threshold_mode = _checks.choice(
            owner, "threshold_mode", threshold_mode, ("rel", "abs")
        )
        self.eps = _checks.nonnegative(owner, "eps", eps)
        super().__init__(optimizer)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "factor": self.factor,
            "patience": self.patience,
            "threshold": self.threshold,
            "min_lr": self.min_lr,
            "cooldown": self.cooldown,
            "threshold_mode": self.threshold_mode,
            "eps": self.eps,
        }

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric a counts as an improvement on best."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metric: float | None = None) -> float:
        """End of an epoch with the monitored metric; returns the optimizer's lr."""
        if metric is None:
            raise TypeError(
                "ReduceLROnPlateau.step needs the monitored metric, e.g. step(val_loss)"
            )
        current = float(metric)
        self.t += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            old_lr = float(self.optimizer.lr)
            new_lr = max(old_lr * self.factor, self.min_lr)
            if old_lr - new_lr > self.eps:
                self.optimizer.lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        return self.lr

    def state_dict(self) -> dict[str, Any]:
        """JSON-safe state, including best (as "inf"/"-inf" before any finite metric)."""
        return {
            **super().state_dict(),
            "best": _json_float(self.best),
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
        }

    def _load_extra(self, owner: str, state: dict[str, Any]) -> None:
        best = _from_json_float(owner, "best", state["best"])
        bad = _checks.integer(owner, "num_bad_epochs", state["num_bad_epochs"], 0)
        cool = _checks.integer(owner, "cooldown_counter", state["cooldown_counter"], 0)
        self.best, self.num_bad_epochs, self.cooldown_counter = best, bad, cool

    def _restore_lr(self) -> None:
        # The lr is not a function of t here; the optimizer's own state carries it.
        pass

    def lr_at(self, t: int) -> float:
        raise TypeError("ReduceLROnPlateau has no closed form; its lr depends on the metrics")


SCHEDULES: dict[str, type[Schedule]] = {
    "step": StepLR,
    "exponential": ExponentialLR,
    "inversetime": InverseTimeLR,
    "cosine": CosineAnnealingLR,
    "plateau": ReduceLROnPlateau,
}

# Also accept the class names and a few spellings people type.
_ALIASES: dict[str, str] = {
    "steplr": "step",
    "exp": "exponential",
    "exponentiallr": "exponential",
    "inversetimelr": "inversetime",
    "1/t": "inversetime",
    "cosineannealing": "cosine",
    "cosineannealinglr": "cosine",
    "reducelronplateau": "plateau",
    "reduceonplateau": "plateau",
}


def get_schedule(
    name_or_obj: str | type[Schedule] | Schedule, optimizer: HasLR | None = None, **kwargs: Any
) -> Schedule:
    """Build a schedule from a name ("step", "exponential", "inverse_time", "cosine",
    "plateau", or a class name; case, '_' and '-' ignored) or a class, or pass one through.

    A built schedule is returned as it is; then no keyword arguments may be given, and
    `optimizer`, if given, must be the one it drives.

    Example:
        >>> from types import SimpleNamespace
        >>> get_schedule("Cosine", SimpleNamespace(lr=0.1), T_max=10)
        CosineAnnealingLR(T_max=10, eta_min=0.0, t=0, lr=0.1)
    """
    if isinstance(name_or_obj, Schedule):
        if kwargs:
            raise ValueError(
                f"get_schedule: got a built {type(name_or_obj).__name__}; keyword arguments "
                f"{sorted(kwargs)} would be ignored"
            )
        if optimizer is not None and optimizer is not name_or_obj.optimizer:
            raise ValueError(
                f"get_schedule: the given {type(name_or_obj).__name__} drives another optimizer"
            )
        return name_or_obj
    if isinstance(name_or_obj, type) and issubclass(name_or_obj, Schedule):
        cls = name_or_obj
    elif isinstance(name_or_obj, str):
        key = _checks.normalize_name(name_or_obj)
        found = SCHEDULES.get(_ALIASES.get(key, key))
        if found is None:
            valid = "step, exponential, inverse_time, cosine, plateau"
            raise ValueError(f"unknown schedule {name_or_obj!r}; valid names: {valid}")
        cls = found
    else:
        raise TypeError(
            "get_schedule: expected a schedule name, class or instance, got "
            f"{type(name_or_obj).__name__}"
        )
    if optimizer is None:
        raise ValueError(f"get_schedule: an optimizer is needed to build {cls.__name__}")
    return cls(optimizer, **kwargs)
