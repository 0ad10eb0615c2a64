"""Construction-time checks, the lr attribute, zero_grad, skipping, and the name registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from descent.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    Optimizer,
    RMSProp,
    get_optimizer,
)


class Param:
    """Stand-in for descent's Parameter: .data updated in place, .grad or None."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.grad: np.ndarray | None = None


def _p(*shape):
    return [Param(np.ones(shape))]


BAD = [
    (SGD, {"lr": 0.0}, "lr", "0.0"),
    (SGD, {"lr": -0.1}, "lr", "-0.1"),
    (SGD, {"lr": math.nan}, "lr", "nan"),
    (SGD, {"lr": math.inf}, "lr", "inf"),
    (SGD, {"lr": "0.1"}, "lr", "'0.1'"),
    (SGD, {"lr": True}, "lr", "True"),
    (SGD, {"lr": 0.1, "momentum": 1.0}, "momentum", "1.0"),
    (SGD, {"lr": 0.1, "momentum": -0.5}, "momentum", "-0.5"),
    (SGD, {"lr": 0.1, "nesterov": True}, "nesterov", "momentum=0.0"),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": 1}, "nesterov", "1"),
    (SGD, {"lr": 0.1, "weight_decay": -1e-3}, "weight_decay", "-0.001"),
    (Momentum, {"lr": 0.1, "momentum": 1.5}, "momentum", "1.5"),
    (Nesterov, {"lr": 0.1, "momentum": 0.0}, "nesterov", "momentum=0.0"),
    (Adam, {"betas": (1.0, 0.999)}, "beta1", "1.0"),
    (Adam, {"betas": (0.9, -0.1)}, "beta2", "-0.1"),
    (Adam, {"betas": (0.9,)}, "betas", "(0.9,)"),
    (Adam, {"eps": 0.0}, "eps", "0.0"),
    (Adam, {"eps": -1e-8}, "eps", "-1e-08"),
    (Adam, {"weight_decay": -1.0}, "weight_decay", "-1.0"),
    (Adam, {"lr": 0}, "lr", "0"),
    (AdamW, {"weight_decay": math.nan}, "weight_decay", "nan"),
    (AdamW, {"betas": (0.9, 1.0)}, "beta2", "1.0"),
    (RMSProp, {"alpha": 1.0}, "alpha", "1.0"),
    (RMSProp, {"eps": 0}, "eps", "0"),
    (RMSProp, {"momentum": 1.0}, "momentum", "1.0"),
    (RMSProp, {"weight_decay": -2}, "weight_decay", "-2"),
    (RMSProp, {"centered": "yes"}, "centered", "'yes'"),
]


@pytest.mark.parametrize(("cls", "kw", "name", "value"), BAD)
def test_bad_hyperparameter_names_itself_and_its_value(cls, kw, name, value):
    with pytest.raises(ValueError) as info:
        cls(_p(2), **kw)
    msg = str(info.value)
    assert cls.__name__ in msg and name in msg and value in msg, msg


@pytest.mark.parametrize("cls", [SGD, Momentum, Nesterov, Adam, AdamW, RMSProp])
def test_empty_params_is_an_error(cls):
    with pytest.raises(ValueError, match="params is empty"):
        cls(iter([]), lr=0.1)


def test_bad_params_are_named():
    with pytest.raises(TypeError, match=r"params\[1\] must have a NumPy array \.data"):
        SGD([Param(np.ones(2)), object()], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\]\.data must be floating"):
        SGD([Param(np.ones(2, dtype=int))], lr=0.1)
    p = Param(np.ones(2))
    with pytest.raises(ValueError, match=r"params\[1\] appears more than once"):
        SGD([p, p], lr=0.1)
    frozen = np.ones(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\]\.data is read-only"):
        SGD([Param(frozen)], lr=0.1)
    with pytest.raises(TypeError, match="iterable of parameters"):
        SGD(np.ones(3), lr=0.1)


def test_lr_is_settable_and_checked():
    ps = _p(2)
    opt = SGD(ps, lr=0.1)
    opt.lr = 0.5
    ps[0].grad = np.array([1.0, 2.0])
    opt.step()
    assert np.array_equal(ps[0].data, np.array([0.5, 0.0]))
    opt.lr = 0  # allowed: a cosine schedule ends at eta_min = 0
    opt.step()
    assert np.array_equal(ps[0].data, np.array([0.5, 0.0]))
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match=f"SGD: lr .*{bad}"):
            opt.lr = bad
    assert opt.lr == 0.0


def test_none_grads_are_skipped_without_touching_state():
    a, b = Param(np.ones(3)), Param(np.ones(2))
    opt = Adam([a, b], lr=0.1)
    a.grad = np.ones(3)
    opt.step()
    assert np.array_equal(b.data, np.ones(2))
    assert not np.any(opt.state[1]["m"]) and not np.any(opt.state[1]["v"])
    assert np.all(a.data < 1)
    assert opt.state_scalars()["steps"] == [1, 0] and opt.step_count == 1


def test_wrong_gradient_shape_is_named():
    a, b = Param(np.ones(3)), Param(np.ones((2, 2)))
    opt = SGD([a, b], lr=0.1)
    b.grad = np.ones(2)  # would broadcast silently in NumPy
    with pytest.raises(ValueError, match=r"params\[1\].*\.grad shape \(2,\).*\(2, 2\)"):
        opt.step()


def test_zero_grad_to_none_or_in_place_zeros():
    a, b = Param(np.ones(3)), Param(np.ones(2))
    opt = SGD([a, b], lr=0.1)
    a.grad = np.ones(3)
    held = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is held and np.array_equal(held, np.zeros(3)) and b.grad is None
    opt.zero_grad()
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize(
    ("name", "cls"),
    [("sgd", SGD), ("SGD", SGD), ("Momentum", Momentum), ("nesterov", Nesterov),
     ("ADAM", Adam), ("AdamW", AdamW), ("adam_w", AdamW), ("rmsprop", RMSProp),
     ("RMS-Prop", RMSProp)],
)
def test_registry_names_case_insensitive(name, cls):
    opt = get_optimizer(name, _p(2), lr=0.05)
    assert type(opt) is cls and opt.lr == 0.05


def test_registry_defaults_match_the_rules():
    assert get_optimizer("momentum", _p(1), lr=0.1).momentum == 0.9
    n = get_optimizer("nesterov", _p(1), lr=0.1)
    assert n.nesterov and n.momentum == 0.9
    assert get_optimizer("adamw", _p(1)).weight_decay == 0.01
    assert get_optimizer("adam", _p(1)).weight_decay == 0.0
    assert sorted(OPTIMIZERS) == ["adam", "adamw", "momentum", "nesterov", "rmsprop", "sgd"]


def test_registry_errors_and_passthrough():
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'.*adam, adamw, momentum, "
                                        "nesterov, rmsprop, sgd"):
        get_optimizer("adagrad", _p(1))
    with pytest.raises(TypeError, match="got int"):
        get_optimizer(3, _p(1))
    with pytest.raises(ValueError, match="params is needed"):
        get_optimizer("adam")
    ps = _p(2)
    built = Adam(ps)
    assert get_optimizer(built) is built
    assert get_optimizer(built, ps) is built
    with pytest.raises(ValueError, match="other parameters"):
        get_optimizer(built, _p(2))
    with pytest.raises(ValueError, match=r"\['lr'\] would be ignored"):
        get_optimizer(built, lr=0.1)
    assert type(get_optimizer(RMSProp, ps, lr=0.1)) is RMSProp
    assert issubclass(RMSProp, Optimizer)


def test_repr_shows_hyperparameters():
    r = repr(SGD(_p(2), lr=0.1, momentum=0.9, nesterov=True))
    assert r == "SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0, params=1)"
