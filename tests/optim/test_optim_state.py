"""Optimizer checkpoints: a run split by save/load equals the run that never stopped.

The state goes through JSON (scalars) and safetensors (arrays), as a checkpoint file does,
and the comparison is bit for bit (np.array_equal).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import safetensors.numpy

from descent.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    Momentum,
    Nesterov,
    ReduceLROnPlateau,
    RMSProp,
)

SHAPES = [(4, 3), (3,), (), (2, 2, 2)]


class Param:
    """Stand-in for descent's Parameter: .data updated in place, .grad or None."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.grad: np.ndarray | None = None


CONFIGS = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    (Momentum, {"lr": 0.05}),
    (Nesterov, {"lr": 0.05, "weight_decay": 0.1}),
    (Adam, {"lr": 0.01, "weight_decay": 0.05}),
    (AdamW, {"lr": 0.01}),
    (RMSProp, {"lr": 0.01, "momentum": 0.5}),
    (RMSProp, {"lr": 0.01, "centered": True, "weight_decay": 0.1}),
]
IDS = [f"{c.__name__}-{kw}" for c, kw in CONFIGS]


def _params(dtype=np.float64) -> list[Param]:
    rng = np.random.default_rng(10)
    return [Param(rng.normal(size=s).astype(dtype)) for s in SHAPES]


def _grads(dtype=np.float64) -> list[list[np.ndarray | None]]:
    rng = np.random.default_rng(11)
    return [
        [None if (k + j) % 5 == 0 else rng.normal(size=s).astype(dtype)
         for j, s in enumerate(SHAPES)]
        for k in range(20)
    ]


def _run(opt, params, grads, sched=None, metrics=None):
    for k, gs in enumerate(grads):
        for p, g in zip(params, gs, strict=True):
            p.grad = g
        opt.step()
        if sched is not None:
            sched.step(None if metrics is None else metrics[k])


def _through_files(state: dict) -> dict:
    """What a checkpoint does: arrays through safetensors, scalars through strict JSON."""
    blob = safetensors.numpy.save(state["arrays"])
    text = json.dumps(state["scalars"], allow_nan=False)
    return {"arrays": safetensors.numpy.load(blob), "scalars": json.loads(text)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("cls", "kw"), CONFIGS, ids=IDS)
def test_resume_is_bit_identical(cls, kw, dtype):
    grads = _grads(dtype)
    ref = _params(dtype)
    _run(cls(ref, **kw), ref, grads)

    first = _params(dtype)
    opt = cls(first, **kw)
    _run(opt, first, grads[:10])
    saved = _through_files(opt.state_dict())
    weights = [p.data.copy() for p in first]

    resumed = [Param(w) for w in weights]
    opt2 = cls(resumed, **kw)
    opt2.load_state_dict(saved)
    assert opt2.step_count == 10
    _run(opt2, resumed, grads[10:])
    for a, b in zip(resumed, ref, strict=True):
        assert a.data.dtype == dtype
        assert np.array_equal(a.data, b.data)


def test_resume_without_state_differs():
    # Guards the test above: dropping the state must change the result for Adam.
    grads = _grads()
    ref = _params()
    _run(Adam(ref, lr=0.01), ref, grads)
    first = _params()
    _run(Adam(first, lr=0.01), first, grads[:10])
    fresh = [Param(p.data.copy()) for p in first]
    _run(Adam(fresh, lr=0.01), fresh, grads[10:])
    assert not all(np.array_equal(a.data, b.data) for a, b in zip(fresh, ref, strict=True))


@pytest.mark.parametrize("use_plateau", [False, True], ids=["cosine+Adam", "plateau+Momentum"])
def test_resume_with_schedule_is_bit_identical(use_plateau):
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8] * 2
    grads = _grads()

    def build(params):
        if use_plateau:
            opt = Momentum(params, lr=0.1)
            return opt, ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)
        opt = Adam(params, lr=0.02)
        return opt, CosineAnnealingLR(opt, T_max=7, eta_min=1e-4)

    ref = _params()
    ref_opt, ref_sched = build(ref)
    _run(ref_opt, ref, grads, ref_sched, metrics)

    first = _params()
    opt, sched = build(first)
    _run(opt, first, grads[:10], sched, metrics[:10])
    saved_opt = _through_files(opt.state_dict())
    saved_sched = json.loads(json.dumps(sched.state_dict(), allow_nan=False))

    resumed = [Param(p.data.copy()) for p in first]
    opt2, sched2 = build(resumed)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    assert opt2.lr == opt.lr
    _run(opt2, resumed, grads[10:], sched2, metrics[10:])
    assert opt2.lr == ref_opt.lr
    assert opt2.lr != 0.1 and opt2.lr != 0.02  # the schedule did act
    for a, b in zip(resumed, ref, strict=True):
        assert np.array_equal(a.data, b.data)


def test_state_arrays_are_copies_and_named_by_index():
    params = _params()
    opt = Adam(params, lr=0.1)
    _run(opt, params, _grads()[:2])
    arrays = opt.state_arrays()
    assert sorted(arrays) == sorted(f"{i}.{n}" for i in range(len(SHAPES)) for n in ("m", "v"))
    before = {k: a.copy() for k, a in arrays.items()}
    _run(opt, params, _grads()[2:4])
    assert all(np.array_equal(arrays[k], before[k]) for k in arrays)
    assert all(arrays[f"{i}.m"].shape == s for i, s in enumerate(SHAPES))
    # Steps k = 0..3 skip parameter j when (k + j) % 5 == 0: j = 0, 3, 2 once each, 1 never.
    assert opt.state_scalars()["steps"] == [3, 4, 3, 3]


def _saved_adam():
    params = _params()
    opt = Adam(params, lr=0.01)
    _run(opt, params, _grads()[:3])
    return opt.state_dict()


def _fresh_adam(**kw):
    return Adam(_params(), **{"lr": 0.01, **kw})


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["arrays"].pop("1.v"), r"missing \['1\.v'\]"),
        (lambda s: s["arrays"].update({"9.m": np.zeros(3)}), r"unexpected \['9\.m'\]"),
        (lambda s: s["arrays"].update({"0.m": np.zeros((3, 4))}), r"'0\.m' has shape \(3, 4\)"),
        (lambda s: s["arrays"].update({"0.m": np.zeros((4, 3), int)}), r"'0\.m' must be floating"),
        (lambda s: s["scalars"].update({"type": "SGD"}), "saved by 'SGD'"),
        (lambda s: s["scalars"]["hyperparameters"].update({"eps": 1e-6}), "eps=1e-06"),
        (lambda s: s["scalars"].update({"steps": [1, 2]}), "steps"),
        (lambda s: s["scalars"].update({"steps": [1, 2, -1, 3]}), r"steps\[2\]"),
        (lambda s: s["scalars"].update({"lr": float("nan")}), "lr"),
        (lambda s: s["scalars"].pop("step_count"), "step_count"),
        (lambda s: s.pop("arrays"), "arrays"),
    ],
)
def test_load_rejects_mismatch_and_changes_nothing(mutate, message):
    state = _saved_adam()
    mutate(state)
    opt = _fresh_adam()
    before = {k: a.copy() for k, a in opt.state_arrays().items()}
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state)
    assert opt.step_count == 0 and opt.lr == 0.01
    assert all(np.array_equal(a, before[k]) for k, a in opt.state_arrays().items())


def test_load_rejects_other_hyperparameters_and_parameter_count():
    state = _saved_adam()
    with pytest.raises(ValueError, match="betas"):
        _fresh_adam(betas=(0.8, 0.999)).load_state_dict(state)
    with pytest.raises(ValueError, match="state is for 4 parameters.*has 2"):
        Adam(_params()[:2], lr=0.01).load_state_dict(state)
