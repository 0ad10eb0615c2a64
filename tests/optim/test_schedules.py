"""Learning-rate schedules against torch.optim.lr_scheduler over 30 epochs, their state
round trip, validation and registry.

Tolerance against PyTorch: rtol 1e-12, atol 1e-15. PyTorch updates the lr multiplicatively
epoch by epoch while descent uses the closed form, so they agree to rounding, not bit for
bit; ReduceLROnPlateau does the same arithmetic as PyTorch and is compared exactly.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from descent.optim import (
    SCHEDULES,
    SGD,
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeLR,
    ReduceLROnPlateau,
    StepLR,
    get_schedule,
)

RTOL, ATOL = 1e-12, 1e-15
EPOCHS = 30
LR0 = 0.1


class Param:
    """Stand-in for descent's Parameter: .data updated in place, .grad or None."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.grad: np.ndarray | None = None


def _opt(lr=LR0):
    return SGD([Param(np.zeros(2))], lr=lr)


def _topt(lr=LR0):
    return torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=lr)


TS = torch.optim.lr_scheduler
CLOSED_FORM = [
    (StepLR, {"step_size": 7}, TS.StepLR, {"step_size": 7}),
    (StepLR, {"step_size": 3, "gamma": 0.5}, TS.StepLR, {"step_size": 3, "gamma": 0.5}),
    (StepLR, {"step_size": 1, "gamma": 0.9}, TS.StepLR, {"step_size": 1, "gamma": 0.9}),
    (ExponentialLR, {"gamma": 0.9}, TS.ExponentialLR, {"gamma": 0.9}),
    (ExponentialLR, {"gamma": 0.5}, TS.ExponentialLR, {"gamma": 0.5}),
    (InverseTimeLR, {"decay": 0.5}, TS.LambdaLR, {"lr_lambda": lambda t: 1 / (1 + 0.5 * t)}),
    (InverseTimeLR, {"decay": 0.0}, TS.LambdaLR, {"lr_lambda": lambda t: 1.0}),
    (CosineAnnealingLR, {"T_max": 10}, TS.CosineAnnealingLR, {"T_max": 10}),
    (
        CosineAnnealingLR, {"T_max": 30, "eta_min": 1e-3},
        TS.CosineAnnealingLR, {"T_max": 30, "eta_min": 1e-3},
    ),
    (
        CosineAnnealingLR, {"T_max": 4, "eta_min": 0.01},
        TS.CosineAnnealingLR, {"T_max": 4, "eta_min": 0.01},
    ),
]
IDS = [f"{c.__name__}-{kw}" for c, kw, _, _ in CLOSED_FORM]


@pytest.mark.parametrize(("ours", "kw", "theirs", "tkw"), CLOSED_FORM, ids=IDS)
def test_closed_form_schedules_match_torch(ours, kw, theirs, tkw):
    opt, topt = _opt(), _topt()
    sched, tsched = ours(opt, **kw), theirs(topt, **tkw)
    ours_lrs, theirs_lrs = [], []
    for _ in range(EPOCHS):
        topt.step()  # torch warns if the scheduler steps before the optimizer
        tsched.step()
        ours_lrs.append(sched.step())
        assert opt.lr == ours_lrs[-1]
        theirs_lrs.append(topt.param_groups[0]["lr"])
    np.testing.assert_allclose(ours_lrs, theirs_lrs, rtol=RTOL, atol=ATOL)
    if kw.get("decay") != 0.0:
        assert len(set(ours_lrs)) > 1  # the schedule changed the lr


def test_closed_forms_by_hand():
    s = StepLR(_opt(), step_size=2, gamma=0.5)
    assert [s.step() for _ in range(5)] == [0.1, 0.05, 0.05, 0.025, 0.025]
    s = InverseTimeLR(_opt(1.0), decay=0.5)
    assert [s.step() for _ in range(3)] == [1 / 1.5, 1 / 2.0, 1 / 2.5]
    opt = _opt()
    s = CosineAnnealingLR(opt, T_max=10)
    lrs = [s.step() for _ in range(20)]
    assert lrs[9] == 0.0 and opt.lr == pytest.approx(LR0)  # down to eta_min, back up
    assert lrs[4] == pytest.approx(LR0 / 2, rel=1e-15)


# A loss that falls, plateaus, falls a little (below and above the threshold), plateaus.
METRICS = (
    [5.0, 4.0, 3.0, 3.0, 3.0, 3.0, 2.9999, 3.1, 3.0, 2.0]
    + [2.0] * 4 + [1.99999, 1.5] + [1.4] * 14
)
PLATEAU = [
    {},
    {"factor": 0.5, "patience": 2},
    {"factor": 0.5, "patience": 1, "cooldown": 2},
    {"factor": 0.3, "patience": 0, "min_lr": 0.005},
    {"factor": 0.5, "patience": 2, "threshold": 0.05, "threshold_mode": "abs"},
    {"factor": 0.5, "patience": 1, "threshold": 0.0},
    {"mode": "max", "factor": 0.5, "patience": 2},
    {"mode": "max", "factor": 0.5, "patience": 1, "threshold_mode": "abs", "threshold": 0.5},
    {"factor": 0.9, "patience": 0, "eps": 0.02},  # eps stops cuts smaller than 0.02
]


@pytest.mark.parametrize("kw", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_plateau_matches_torch(kw):
    assert len(METRICS) == EPOCHS
    metrics = [10.0 - m for m in METRICS] if kw.get("mode") == "max" else METRICS
    opt, topt = _opt(), _topt()
    sched, tsched = ReduceLROnPlateau(opt, **kw), TS.ReduceLROnPlateau(topt, **kw)
    ours_lrs, theirs_lrs = [], []
    for m in metrics:
        tsched.step(m)
        ours_lrs.append(sched.step(m))
        theirs_lrs.append(topt.param_groups[0]["lr"])
        assert sched.best == tsched.best and sched.num_bad_epochs == tsched.num_bad_epochs
    assert ours_lrs == theirs_lrs  # same arithmetic as torch: exact
    assert min(ours_lrs) < LR0 or kw.get("eps") == 0.02


def test_plateau_needs_metric():
    with pytest.raises(TypeError, match="needs the monitored metric"):
        ReduceLROnPlateau(_opt()).step()
    assert ReduceLROnPlateau.needs_metric and not StepLR.needs_metric


RESUMABLE = [
    (StepLR, {"step_size": 4, "gamma": 0.7}, None),
    (ExponentialLR, {"gamma": 0.95}, None),
    (InverseTimeLR, {"decay": 0.3}, None),
    (CosineAnnealingLR, {"T_max": 9, "eta_min": 1e-4}, None),
    (ReduceLROnPlateau, {"factor": 0.5, "patience": 1, "cooldown": 1}, METRICS),
    (ReduceLROnPlateau, {"mode": "max", "patience": 0}, [math.inf] + METRICS[1:]),
]


@pytest.mark.parametrize(("cls", "kw", "metrics"), RESUMABLE, ids=[str(r[:2]) for r in RESUMABLE])
def test_resume_is_bit_identical(cls, kw, metrics):
    metrics = metrics or [None] * EPOCHS
    ref_opt = _opt()
    ref = cls(ref_opt, **kw)
    want = [ref.step(m) for m in metrics]

    opt = _opt()
    sched = cls(opt, **kw)
    got = [sched.step(m) for m in metrics[:12]]
    opt_state = json.loads(json.dumps(opt.state_scalars(), allow_nan=False))
    sched_state = json.loads(json.dumps(sched.state_dict(), allow_nan=False))

    opt2 = _opt()
    opt2.load_state_dict({"arrays": {}, "scalars": opt_state})
    sched2 = cls(opt2, **kw)
    sched2.load_state_dict(sched_state)
    assert opt2.lr == opt.lr
    got += [sched2.step(m) for m in metrics[12:]]
    assert got == want


def test_load_sets_lr_of_closed_form_schedule():
    opt = _opt()
    s = ExponentialLR(opt, gamma=0.5)
    s.step(), s.step()
    state = s.state_dict()
    opt2 = _opt()
    ExponentialLR(opt2, gamma=0.5).load_state_dict(state)
    assert opt2.lr == 0.025


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.update({"type": "StepLR"}), "saved by 'StepLR'"),
        (lambda s: s["hyperparameters"].update({"gamma": 0.5}), "gamma=0.5"),
        (lambda s: s.update({"t": -1}), "t must be >= 0"),
        (lambda s: s.update({"base_lr": 0.0}), "base_lr"),
        (lambda s: s.pop("t"), "keys"),
    ],
)
def test_schedule_load_rejects_mismatch(mutate, message):
    state = ExponentialLR(_opt(), gamma=0.9).state_dict()
    mutate(state)
    opt = _opt()
    sched = ExponentialLR(opt, gamma=0.9)
    with pytest.raises(ValueError, match=message):
        sched.load_state_dict(state)
    assert sched.t == 0 and opt.lr == LR0


def test_plateau_load_rejects_bad_counters():
    state = ReduceLROnPlateau(_opt()).state_dict()
    assert state["best"] == "inf"  # strict JSON has no Infinity
    state["num_bad_epochs"] = 1.5
    with pytest.raises(ValueError, match="num_bad_epochs"):
        ReduceLROnPlateau(_opt()).load_state_dict(state)


BAD = [
    (StepLR, {"step_size": 0}, "step_size", "0"),
    (StepLR, {"step_size": 2.5}, "step_size", "2.5"),
    (StepLR, {"step_size": 2, "gamma": 0.0}, "gamma", "0.0"),
    (ExponentialLR, {"gamma": -0.5}, "gamma", "-0.5"),
    (ExponentialLR, {"gamma": math.nan}, "gamma", "nan"),
    (InverseTimeLR, {"decay": -1.0}, "decay", "-1.0"),
    (CosineAnnealingLR, {"T_max": 0}, "T_max", "0"),
    (CosineAnnealingLR, {"T_max": 5, "eta_min": -1e-3}, "eta_min", "-0.001"),
    (ReduceLROnPlateau, {"mode": "minimum"}, "mode", "'minimum'"),
    (ReduceLROnPlateau, {"factor": 1.0}, "factor", "1.0"),
    (ReduceLROnPlateau, {"factor": 0.0}, "factor", "0.0"),
    (ReduceLROnPlateau, {"patience": -1}, "patience", "-1"),
    (ReduceLROnPlateau, {"threshold": -1e-4}, "threshold", "-0.0001"),
    (ReduceLROnPlateau, {"min_lr": -1.0}, "min_lr", "-1.0"),
    (ReduceLROnPlateau, {"cooldown": -2}, "cooldown", "-2"),
    (ReduceLROnPlateau, {"threshold_mode": "relative"}, "threshold_mode", "'relative'"),
]


@pytest.mark.parametrize(("cls", "kw", "name", "value"), BAD)
def test_bad_schedule_hyperparameter_is_named(cls, kw, name, value):
    with pytest.raises(ValueError) as info:
        cls(_opt(), **kw)
    msg = str(info.value)
    assert cls.__name__ in msg and name in msg and value in msg, msg


@pytest.mark.parametrize(
    ("name", "cls", "kw"),
    [("step", StepLR, {"step_size": 2}), ("StepLR", StepLR, {"step_size": 2}),
     ("exponential", ExponentialLR, {"gamma": 0.9}), ("inverse_time", InverseTimeLR,
     {"decay": 0.1}), ("Cosine", CosineAnnealingLR, {"T_max": 3}),
     ("plateau", ReduceLROnPlateau, {}), ("ReduceLROnPlateau", ReduceLROnPlateau, {})],
)
def test_get_schedule_by_name(name, cls, kw):
    opt = _opt()
    s = get_schedule(name, opt, **kw)
    assert type(s) is cls and s.optimizer is opt


def test_get_schedule_errors_and_passthrough():
    with pytest.raises(ValueError, match="unknown schedule 'linear'.*step, exponential, "
                                        "inverse_time, cosine, plateau"):
        get_schedule("linear", _opt())
    with pytest.raises(TypeError, match="got float"):
        get_schedule(0.5, _opt())
    opt = _opt()
    s = StepLR(opt, step_size=1)
    assert get_schedule(s) is s and get_schedule(s, opt) is s
    with pytest.raises(ValueError, match="another optimizer"):
        get_schedule(s, _opt())
    with pytest.raises(ValueError, match="would be ignored"):
        get_schedule(s, gamma=0.5)
    assert sorted(SCHEDULES) == ["cosine", "exponential", "inversetime", "plateau", "step"]
