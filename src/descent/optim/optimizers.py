"""Update rules: SGD (plain, momentum, Nesterov), Adam, AdamW, RMSProp.

An optimizer holds a list of parameters and its own state; `step()` applies one update to
every parameter that has a gradient. A parameter is any object with

- `.data`: a floating NumPy array, updated IN PLACE (never rebound: other code holds it),
- `.grad`: a NumPy array of the same shape, or None when it got no gradient (skipped).

The rules follow `torch.optim` exactly (same order of weight decay, momentum and bias
correction), so a run can be checked step by step against PyTorch. Each parameter keeps its
dtype: float32 weights stay float32, and so does their state.

Writing w for a weight, g = dC/dw for its gradient, lr for the learning rate:

    SGD        w <- w - lr * g
    momentum   b <- mu * b + g;              w <- w - lr * b
    Nesterov   b <- mu * b + g;              w <- w - lr * (g + mu * b)
    Adam       m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
               w <- w - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
    AdamW      w <- w (1 - lr * weight_decay), then Adam without weight decay
    RMSProp    v <- a v + (1-a) g^2;  w <- w - lr * g / (sqrt(v) + eps)

With weight_decay > 0 (except AdamW) the gradient is g + weight_decay * w (L2 penalty).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

from descent.optim import _checks

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamW",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "ParameterLike",
    "RMSProp",
    "get_optimizer",
]


class ParameterLike(Protocol):
    """What an optimizer needs of a parameter: `.data` (updated in place) and `.grad`."""

    data: np.ndarray
    grad: np.ndarray | None


# Each parameter gets this many scratch arrays of its shape, so a step allocates nothing.
_N_SCRATCH = 2


def _check_params(owner: str, params: Iterable[ParameterLike]) -> list[ParameterLike]:
    if isinstance(params, np.ndarray) or not isinstance(params, Iterable):
        raise TypeError(
            f"{owner}: params must be an iterable of parameters (e.g. model.parameters()), "
            f"got {type(params).__name__}"
        )
    ps = list(params)
    if not ps:
        raise ValueError(f"{owner}: params is empty; there is nothing to optimize")
    seen: set[int] = set()
    for i, p in enumerate(ps):
        data = getattr(p, "data", None)
        if not isinstance(data, np.ndarray):
            raise TypeError(
                f"{owner}: params[{i}] must have a NumPy array .data, got "
                f"{type(p).__name__} with .data of type {type(data).__name__}"
            )
        if data.dtype.kind != "f":
            raise TypeError(f"{owner}: params[{i}].data must be floating, got dtype {data.dtype}")
        if not data.flags.writeable:
            raise ValueError(f"{owner}: params[{i}].data is read-only; it is updated in place")
        if id(p) in seen:
            raise ValueError(f"{owner}: params[{i}] appears more than once in params")
        seen.add(id(p))
    return ps


def _scratch(params: list[ParameterLike]) -> list[tuple[np.ndarray, ...]]:
    """Per parameter, _N_SCRATCH views into flat buffers shared by all parameters.

    The update runs one parameter at a time, so one buffer per dtype sized to the largest
    parameter serves them all; the views are made once here, not per step.
    """
    largest: dict[np.dtype, int] = {}
    for p in params:
        largest[p.data.dtype] = max(largest.get(p.data.dtype, 0), p.data.size)
    flats = {dt: [np.empty(n, dtype=dt) for _ in range(_N_SCRATCH)] for dt, n in largest.items()}
    return [
        tuple(f[: p.data.size].reshape(p.data.shape) for f in flats[p.data.dtype])
        for p in params
    ]


def _flat_views(flat: np.ndarray, params: list[ParameterLike]) -> list[np.ndarray]:
    """Views of `flat`, one per parameter, with its shape, laid end to end in order."""
    views, start = [], 0
    for p in params:
        views.append(flat[start:start + p.data.size].reshape(p.data.shape))
        start += p.data.size
    return views


class Optimizer:
    """Base class: owns parameters, their per-parameter state and the learning rate.

    Subclasses set their hyperparameters, then call `super().__init__(params, lr)`, and
    define `_slot_names` (names of the per-parameter state arrays), `hyperparameters`,
    `_constants` (per-step numbers) and `_update` (the rule for one parameter).

    Attributes:
        params: the parameters, in the order given.
        lr: learning rate; schedules set it between steps (must stay finite and >= 0).
        state: per parameter, a dict name -> array of the parameter's shape and dtype.
        step_count: how many times `step()` has run.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(data=np.array([1.0, 2.0]), grad=np.array([0.5, -1.0]))
        >>> opt = SGD([p], lr=0.1)
        >>> opt.step()
        >>> p.data
        array([0.95, 2.1 ])
        >>> opt.zero_grad(); p.grad is None
        True
    """

    def __init__(self, params: Iterable[ParameterLike], lr: float) -> None:
        owner = type(self).__name__
        self.params = _check_params(owner, params)
        self._lr = _checks.positive(owner, "lr", lr)
        self.step_count = 0
        # Per-parameter update counts, as torch keeps them: Adam's bias correction uses the
        # number of updates a parameter actually got, which differs when grads are skipped.
        self._t = [0] * len(self.params)
        self._shapes = [p.data.shape for p in self.params]
        names = self._slot_names()
        dtypes = {p.data.dtype for p in self.params}
        # One dtype (the usual case): each state array is a view of one flat array per
        # slot, parameters end to end, so that the same elementwise rule can also run once
        # over all of them (`step_flat`).
        self._flat_size = 0
        self._flat_state: list[np.ndarray] | None = None
        if len(dtypes) == 1:
            dtype, self._flat_size = dtypes.pop(), sum(p.data.size for p in self.params)
            self._flat_state = [np.zeros(self._flat_size, dtype) for _ in names]
            per_slot = [_flat_views(f, self.params) for f in self._flat_state]
            self.state: list[dict[str, np.ndarray]] = [
                {name: per_slot[k][i] for k, name in enumerate(names)}
                for i in range(len(self.params))
            ]
        else:
            self.state = [{name: np.zeros_like(p.data) for name in names} for p in self.params]
        # Scratch buffers come with the first update that needs them: per parameter for
        # `step()` (the size of the largest), flat for `step_flat` (the size of all), and
        # none for plain SGD through `step_flat(..., scaled=True)`.
        self._slots: list[tuple[np.ndarray, ...]] = []
        self._flat_slots: tuple[np.ndarray, ...] = ()

    def _make_slots(self) -> None:
        """Per parameter: its state arrays, then _N_SCRATCH scratch arrays of its shape."""
        names = self._slot_names()
        self._slots = [
            tuple(st[name] for name in names) + tmp
            for st, tmp in zip(self.state, _scratch(self.params), strict=True)
        ]

    def _make_flat_slots(self) -> None:
        """The flat state arrays, then _N_SCRATCH scratch arrays as long as all of them."""
        assert self._flat_state is not None
        dtype = self.params[0].data.dtype
        scratch = [np.empty(self._flat_size, dtype) for _ in range(_N_SCRATCH)]
        self._flat_slots = (*self._flat_state, *scratch)

    # -- the learning rate: a plain attribute to users, checked when set ------------------
    @property
    def lr(self) -> float:
        """The learning rate used by the next `step()`."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        # >= 0 rather than > 0: a cosine schedule with eta_min=0 ends exactly at 0.
        self._lr = _checks.nonnegative(type(self).__name__, "lr", value)

    # -- what subclasses define -------------------------------------------------------------
    def _slot_names(self) -> tuple[str, ...]:
        return ()

    def hyperparameters(self) -> dict[str, Any]:
        """JSON-safe hyperparameters other than lr (they must match when state is loaded)."""
        return {}

    def _constants(self) -> tuple:
        return (self._lr,)

    def _update(
        self, w: np.ndarray, g: np.ndarray, s: tuple[np.ndarray, ...], t: int, h: tuple
    ) -> None:
        raise NotImplementedError

    # -- the loop ---------------------------------------------------------------------------
    def step(self) -> None:
        """Update, in place, every parameter whose `.grad` is not None."""
        h = self._constants()
        t = self._t
        if not self._slots:
            self._make_slots()
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            w = p.data
            shape = self._shapes[i]
            # NumPy would broadcast a wrong-shaped gradient silently; say so instead.
            if g.shape != shape or w.shape != shape:
                raise ValueError(
                    f"{type(self).__name__}: params[{i}] has .data shape {w.shape} and .grad "
                    f"shape {g.shape}; the optimizer was built for shape {shape}"
                )
            t[i] += 1
            self._update(w, g, self._slots[i], t[i], h)
        self.step_count += 1

    def plain_rate(self) -> float | None:
        """r when a step is exactly w <- w - r * g for every weight (plain SGD), else None.

        A caller that can produce r * g as cheaply as g (the compiled MLP step scales its
        output delta by r, and every gradient follows) then applies it with
        `step_flat(w, r_g, scaled=True)`: one pass over the weights instead of two.
        """
        return None

    def step_flat(self, w: np.ndarray, g: np.ndarray, scaled: bool = False) -> bool:
        """`step()` on flat copies: every parameter end to end in `w`, gradients in `g`.

        Updates `w` in place (not the parameters' `.data`) and counts the step, as
        descent.train's compiled MLP step uses it: it keeps the weights in one flat array
        while it trains. Every rule here is elementwise, so one update over all
        parameters at once gives bit for bit what `step()` gives one by one, with a few
        NumPy calls instead of a few per parameter (which is what small networks pay
        for). Returns False, changing nothing, when that does not hold: parameters of
        several dtypes, some parameter with fewer updates than the others (its Adam bias
        correction differs), or an update rule defined outside this module.

        With `scaled=True`, `g` already holds `plain_rate() * gradient` and the step is
        `w -= g`; only for plain SGD (ValueError otherwise).
        """
        t = self._t
        if self._flat_state is None or w.shape != (self._flat_size,) or g.shape != w.shape \
                or w.dtype != self.params[0].data.dtype \
                or type(self)._update.__module__ != __name__ or t.count(t[0]) != len(t):
            return False
        n = t[0] + 1
        if scaled:
            if not self.plain_rate():
                raise ValueError(f"{type(self).__name__}: scaled=True needs plain SGD with "
                                 "lr > 0 (no momentum, no weight decay)")
            w -= g
        else:
            if not self._flat_slots:
                self._make_flat_slots()
            self._update(w, g, self._flat_slots, n, self._constants())
        t[:] = [n] * len(t)
        self.step_count += 1
        return True

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward pass.

        By default each `.grad` becomes None (no memory kept, and "no gradient" reads as
        None everywhere, as the optimizer itself treats it). With `set_to_none=False` the
        arrays are filled with zeros in place, for code that holds on to them.
        """
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.fill(0)

    # -- checkpoints ------------------------------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays, keyed "<parameter index>.<name>" (e.g. "0.m").

        Flat and string-keyed so it can go straight into a safetensors file.
        """
        return {
            f"{i}.{name}": a.copy() for i, st in enumerate(self.state) for name, a in st.items()
        }

    def state_scalars(self) -> dict[str, Any]:
        """JSON-safe scalars: type, lr, step counts and hyperparameters."""
        return {
            "type": type(self).__name__,
            "lr": self._lr,
            "step_count": self.step_count,
            "steps": list(self._t),
            "hyperparameters": self.hyperparameters(),
        }

    def state_dict(self) -> dict[str, Any]:
        """`{"arrays": state_arrays(), "scalars": state_scalars()}`; see load_state_dict."""
        return {"arrays": self.state_arrays(), "scalars": self.state_scalars()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict()` returned, so training resumes bit-identically.

        The optimizer must have been built the same way (same type, hyperparameters and
        parameter shapes); lr, step counts and the state arrays are restored. Everything is
        checked before anything changes; a mismatch raises ValueError naming it.
        """
        owner = type(self).__name__
        if not isinstance(state, dict) or set(state) != {"arrays", "scalars"}:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"{owner}: state must be a dict with 'arrays' and 'scalars', got {got}"
            )
        arrays, scalars = state["arrays"], state["scalars"]
        self._check_scalars(owner, scalars)
        checked = self._check_arrays(owner, arrays)
        for (i, name), a in checked.items():
            np.copyto(self.state[i][name], a)  # copy into the existing buffers: slots alias them
        self._lr = _checks.nonnegative(owner, "lr", scalars["lr"])
        self.step_count = int(scalars["step_count"])
        self._t[:] = [int(n) for n in scalars["steps"]]

    def _check_scalars(self, owner: str, scalars: Any) -> None:
        want = {"type", "lr", "step_count", "steps", "hyperparameters"}
        if not isinstance(scalars, dict) or set(scalars) != want:
            got = sorted(scalars) if isinstance(scalars, dict) else type(scalars).__name__
            raise ValueError(f"{owner}: state scalars must have keys {sorted(want)}, got {got}")
        if scalars["type"] != owner:
            raise ValueError(f"{owner}: state was saved by {scalars['type']!r}, not {owner!r}")
        mine, theirs = self.hyperparameters(), scalars["hyperparameters"]
        if not isinstance(theirs, dict) or set(theirs) != set(mine):
            raise ValueError(f"{owner}: state hyperparameters {theirs!r} do not match {mine!r}")
        for key, value in mine.items():
            if theirs[key] != value:
                raise ValueError(
                    f"{owner}: state has {key}={theirs[key]!r} but this optimizer has "
                    f"{key}={value!r}"
                )
        _checks.nonnegative(owner, "lr", scalars["lr"])
        _checks.integer(owner, "step_count", scalars["step_count"], 0)
        steps = scalars["steps"]
        if not isinstance(steps, list):
            raise ValueError(f"{owner}: state 'steps' must be a list of counts, got {steps!r}")
        if len(steps) != len(self.params):
            raise ValueError(
                f"{owner}: state is for {len(steps)} parameters ('steps' has {len(steps)} "
                f"counts), this optimizer has {len(self.params)}"
            )
        for i, n in enumerate(steps):
            _checks.integer(owner, f"steps[{i}]", n, 0)

    def _check_arrays(self, owner: str, arrays: Any) -> dict[tuple[int, str], np.ndarray]:
        if not isinstance(arrays, dict):
            raise ValueError(f"{owner}: state arrays must be a dict, got {type(arrays).__name__}")
        want = {f"{i}.{name}": (i, name) for i, st in enumerate(self.state) for name in st}
        missing = sorted(set(want) - set(arrays))
        unexpected = sorted(set(arrays) - set(want))
        if missing or unexpected:
            raise ValueError(
                f"{owner}: state arrays do not match: missing {missing}, unexpected {unexpected}"
            )
        checked = {}
        for key, (i, name) in want.items():
            a = np.asarray(arrays[key])
            if a.shape != self._shapes[i]:
                raise ValueError(
                    f"{owner}: state array {key!r} has shape {a.shape}, but params[{i}] has "
                    f"shape {self._shapes[i]}"
                )
            if a.dtype.kind != "f":
                raise ValueError(f"{owner}: state array {key!r} must be floating, got {a.dtype}")
            checked[(i, name)] = a
        return checked

    def __repr__(self) -> str:
        hp = "".join(f", {k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}(lr={self._lr!r}{hp}, params={len(self.params)})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

    Exactly `torch.optim.SGD` with dampening=0. With the defaults it is the plain rule
    w <- w - lr * dC/dw. With momentum mu the buffer is b <- mu*b + g (b starts at 0, so
    the first step is b = g) and the step is -lr*b, or -lr*(g + mu*b) with nesterov=True.

    Args:
        params: parameters with `.data` and `.grad` arrays (any shapes).
        lr: learning rate, > 0.
        momentum: mu in [0, 1).
        nesterov: look-ahead momentum; needs momentum > 0.
        weight_decay: L2 coefficient >= 0, added to the gradient as weight_decay * w.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(data=np.array([8.0]), grad=None)
        >>> opt = SGD([p], lr=0.1)
        >>> for _ in range(2):                 # minimise y = x^2 - 4x + 6
        ...     p.grad = 2 * p.data - 4
        ...     opt.step()
        >>> p.data
        array([5.84])
    """

    def __init__(
        self,
        params: Iterable[ParameterLike],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        owner = type(self).__name__
        self.momentum = _checks.unit_interval(owner, "momentum", momentum)
        if not isinstance(nesterov, bool):
            raise ValueError(f"{owner}: nesterov must be True or False, got {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError(
                f"{owner}: nesterov=True needs momentum > 0, got momentum={momentum!r}"
            )
        self.nesterov = nesterov
        self.weight_decay = _checks.nonnegative(owner, "weight_decay", weight_decay)
        super().__init__(params, lr)

    def _slot_names(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum else ()

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }

    def _constants(self) -> tuple:
        return (self._lr, self.momentum, self.nesterov, self.weight_decay)

    def plain_rate(self) -> float | None:
        return None if self.momentum or self.weight_decay else self._lr

    def _update(self, w, g, s, t, h) -> None:
        lr, mu, nesterov, wd = h
        a, b = s[-2], s[-1]
        if wd:
            np.multiply(w, wd, out=a)
            a += g
            g = a
        if mu:
            buf = s[0]
            buf *= mu
            buf += g
            if nesterov:
                np.multiply(buf, mu, out=b)
                b += g
                g = b
            else:
                g = buf
        np.multiply(g, lr, out=b)
        w -= b


class Momentum(SGD):
    """SGD with heavy-ball momentum (mu = 0.9 by default): `SGD(..., momentum=0.9)`.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(data=np.array([1.0]), grad=np.array([1.0]))
        >>> opt = Momentum([p], lr=0.1)
        >>> opt.step(); opt.step()           # buffer: 1, then 0.9*1 + 1 = 1.9
        >>> p.data
        array([0.71])
    """

    def __init__(
        self,
        params: Iterable[ParameterLike],
        lr: float,
        momentum: float = 0.9,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, momentum, nesterov, weight_decay)


class Nesterov(SGD):
    """SGD with Nesterov momentum (mu = 0.9 by default): `SGD(..., nesterov=True)`.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(data=np.array([1.0]), grad=np.array([1.0]))
        >>> opt = Nesterov([p], lr=0.1)
        >>> opt.step()                       # step -lr * (g + 0.9 * b) with b = g
        >>> p.data
        array([0.81])
    """

    def __init__(
        self,
        params: Iterable[ParameterLike],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, momentum, True, weight_decay)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction and optional L2 weight decay.

    Exactly `torch.optim.Adam` (amsgrad=False). State per parameter: first moment "m" and
    second moment "v", same shape and dtype as the parameter; t counts its own updates.

    Args:
        params: parameters with `.data` and `.grad` arrays (any shapes).
        lr: learning rate, > 0.
        betas: (beta1, beta2), each in [0, 1): decay of the moment averages.
        eps: > 0, added to sqrt(v) so the division is safe.
        weight_decay: L2 coefficient >= 0, added to the gradient (use AdamW to decouple).

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(data=np.array([1.0, -1.0]), grad=np.array([3.0, -0.01]))
        >>> opt = Adam([p], lr=0.1)
        >>> opt.step()                       # first step moves each weight by ~lr
        >>> np.round(p.data, 6)
        array([ 0.9, -0.9])
    """

    _decoupled = False

    def __init__(
        self,
        params: Iterable[ParameterLike],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        owner = type(self).__name__
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(
                f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}"
            ) from None
        self.betas = (
            _checks.unit_interval(owner, "betas[0] (beta1)", beta1),
            _checks.unit_interval(owner, "betas[1] (beta2)", beta2),
        )
        self.eps = _checks.positive(owner, "eps", eps)
        self.weight_decay = _checks.nonnegative(owner, "weight_decay", weight_decay)
        super().__init__(params, lr)

    def _slot_names(self) -> tuple[str, ...]:
        return ("m", "v")

    def hyperparameters(self) -> dict[str, Any]:
        return {"betas": list(self.betas), "eps": self.eps, "weight_decay": self.weight_decay}

    def _constants(self) -> tuple:
        b1, b2 = self.betas
        return (self._lr, b1, b2, 1.0 - b1, 1.0 - b2, self.eps, self.weight_decay)

    def _update(self, w, g, s, t, h) -> None:
        lr, b1, b2, one_b1, one_b2, eps, wd = h
        m, v, a, b = s
        if wd:
            if self._decoupled:
                # AdamW: shrink the weight itself, outside the adaptive scaling.
                w *= 1.0 - lr * wd
            else:
                np.multiply(w, wd, out=a)
                a += g
                g = a
        m *= b1
        np.multiply(g, one_b1, out=b)
        m += b
        v *= b2
        np.multiply(g, g, out=b)
        b *= one_b2
        v += b
        bc1 = 1.0 - b1**t
        bc2 = 1.0 - b2**t
        np.sqrt(v, out=b)
        b /= math.sqrt(bc2)
        b += eps
        np.divide(m, b, out=b)
        b *= lr / bc1
        w -= b


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): exactly `torch.optim.AdamW`.

    Before the Adam step each weight is scaled by (1 - lr * weight_decay); the decay never
    enters m or v. Default weight_decay is 1e-2, as in PyTorch.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(data=np.array([1.0]), grad=np.array([0.0]))
        >>> opt = AdamW([p], lr=0.1, weight_decay=0.5)
        >>> opt.step()                       # zero gradient: only the decay acts
        >>> p.data
        array([0.95])
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[ParameterLike],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSProp(Optimizer):
    """RMSProp (Hinton): divide the step by a running RMS of the gradient.

    Exactly `torch.optim.RMSprop`. State per parameter: "square_avg" (v), plus "grad_avg"
    when centered and "momentum_buffer" when momentum > 0.

    Args:
        params: parameters with `.data` and `.grad` arrays (any shapes).
        lr: learning rate, > 0.
        alpha: decay of the squared-gradient average, in [0, 1).
        eps: > 0, added to sqrt(v) so the division is safe.
        momentum: mu in [0, 1) applied to the scaled step.
        weight_decay: L2 coefficient >= 0, added to the gradient.
        centered: divide by an estimate of the gradient's standard deviation instead.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(data=np.array([1.0]), grad=np.array([2.0]))
        >>> opt = RMSProp([p], lr=0.01, alpha=0.75, eps=1e-12)
        >>> opt.step()                       # v = 0.25 * 4 = 1, step = 0.01 * 2 / 1
        >>> p.data
        array([0.98])
    """

    def __init__(
        self,
        params: Iterable[ParameterLike],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        centered: bool = False,
    ) -> None:
        owner = type(self).__name__
        self.alpha = _checks.unit_interval(owner, "alpha", alpha)
        self.eps = _checks.positive(owner, "eps", eps)
        self.momentum = _checks.unit_interval(owner, "momentum", momentum)
        self.weight_decay = _checks.nonnegative(owner, "weight_decay", weight_decay)
        if not isinstance(centered, bool):
            raise ValueError(f"{owner}: centered must be True or False, got {centered!r}")
        self.centered = centered
        super().__init__(params, lr)

    def _slot_names(self) -> tuple[str, ...]:
        return (
            ("square_avg",)
            + (("grad_avg",) if self.centered else ())
            + (("momentum_buffer",) if self.momentum else ())
        )

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "eps": self.eps,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "centered": self.centered,
        }

    def _constants(self) -> tuple:
        return (
            self._lr, self.alpha, 1.0 - self.alpha, self.eps, self.momentum,
            self.weight_decay, self.centered,
        )

    def _update(self, w, g, s, t, h) -> None:
        lr, alpha, one_alpha, eps, mu, wd, centered = h
        v, a, b = s[0], s[-2], s[-1]
        if wd:
            np.multiply(w, wd, out=a)
            a += g
            g = a
        v *= alpha
        np.multiply(g, g, out=b)
        b *= one_alpha
        v += b
        if centered:
            gbar = s[1]
            gbar *= alpha
            np.multiply(g, one_alpha, out=b)
            gbar += b
            np.multiply(gbar, gbar, out=b)
            np.subtract(v, b, out=b)
            np.sqrt(b, out=b)
        else:
            np.sqrt(v, out=b)
        b += eps
        np.divide(g, b, out=b)
        if mu:
            buf = s[1 + centered]
            buf *= mu
            buf += b
            np.multiply(buf, lr, out=b)
        else:
            b *= lr
        w -= b


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSProp,
}


def get_optimizer(
    name_or_obj: str | type[Optimizer] | Optimizer,
    params: Iterable[ParameterLike] | None = None,
    **kwargs: Any,
) -> Optimizer:
    """Build an optimizer from a name ("sgd", "momentum", "nesterov", "adam", "adamw",
    "rmsprop"; case, '_' and '-' ignored) or a class, or pass a built one through.

    An optimizer instance is returned as it is; then no keyword arguments may be given,
    and `params`, if given, must be the parameters it was built with.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(data=np.zeros(3), grad=None)
        >>> get_optimizer("AdamW", [p], lr=0.01)
        AdamW(lr=0.01, betas=[0.9, 0.999], eps=1e-08, weight_decay=0.01, params=1)
    """
    if isinstance(name_or_obj, Optimizer):
        if kwargs:
            raise ValueError(
                f"get_optimizer: got a built {type(name_or_obj).__name__}; keyword arguments "
                f"{sorted(kwargs)} would be ignored"
            )
        if params is not None and [id(p) for p in params] != [id(p) for p in name_or_obj.params]:
            raise ValueError(
                f"get_optimizer: the given {type(name_or_obj).__name__} was built for other "
                "parameters than the ones passed"
            )
        return name_or_obj
    if isinstance(name_or_obj, type) and issubclass(name_or_obj, Optimizer):
        cls = name_or_obj
    elif isinstance(name_or_obj, str):
        found = OPTIMIZERS.get(_checks.normalize_name(name_or_obj))
        if found is None:
            raise ValueError(
                f"unknown optimizer {name_or_obj!r}; valid names: {', '.join(sorted(OPTIMIZERS))}"
            )
        cls = found
    else:
        raise TypeError(
            "get_optimizer: expected an optimizer name, class or instance, got "
            f"{type(name_or_obj).__name__}"
        )
    if params is None:
        raise ValueError(f"get_optimizer: params is needed to build {cls.__name__}")
    return cls(params, **kwargs)
