"""The stacked fit (descent.train.stacked) equals one `fit` per member: hypothesis tests.

M networks of one shape trained as one stacked network must each end where `fit` on the
engine (`compiled=False`) leaves it alone: the same weights, optimizer state and History
(epochs run, early stop, best epoch, losses), to float rounding. Random architectures and
data as in test_fastpath_properties.py: depth 1 to 4, widths 1 and up with layers narrower
than their neighbours, every hidden activation, every output activation the stacked step
fuses with mse and quadratic, cross-entropy on class indices, float32 and float64, batch
sizes 1, odd and larger than the data, inputs C-ordered, Fortran-ordered and strided, 1 to
4 members with their own weight decays.

Tolerances: one step's losses and gradients within the rounding-error bound of
error_bounds.py (float32 and float64), member by member. Whole fits in float64 with the
tolerance of test_fit_compiled_equals_fit_on_the_engine for adaptive rules (1e-9 relative,
plus the rounding of each step's gradient amplified by 1/eps); float32 whole fits are not
compared weight by weight for the reason given there (Adam turns the rounding of a
gradient near 0 into a step of ±lr), the gradient bound is their proof.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

import descent as ds
from descent.autodiff import Tensor
from descent.errors import DivergenceError
from descent.optim import SGD, Adam, AdamW
from descent.tabular import training
from descent.tabular.recipe import Recipe
from descent.train import EarlyStopping
from descent.train.stacked import covers, fit_stacked, member_gradients

from . import error_bounds as eb
from .test_fastpath_properties import (
    HIDDEN,
    LAYOUTS,
    PROPERTY,
    Arch,
    architectures,
    build,
    lay_out,
)

# (loss, output activation) pairs the stacked step fuses.
STACKED = ([("mse", a) for a in HIDDEN] + [("quadratic", a) for a in HIDDEN]
           + [("cross_entropy", "identity")])
DECAYS = [0.0, 0.05, 0.5]


def member(arch: Arch, m: int) -> ds.nn.Sequential:
    """Member m: the same shape, its own initial weights."""
    return build(replace(arch, seed=(arch.seed + 7919 * m) % 2**32))


def member_targets(rng: np.random.Generator, loss: str, out_act: str, n: int, k: int,
                   dtype: np.dtype) -> np.ndarray:
    if loss == "cross_entropy":
        return rng.integers(0, k, n)
    if out_act == "sigmoid":
        y = rng.random((n, k))
    elif out_act == "relu":
        y = np.abs(rng.standard_normal((n, k)))
    else:
        y = rng.standard_normal((n, k))
    y = y.astype(dtype)
    return y.reshape(n) if k == 1 else y


# ---- one step: each member's loss and gradients ------------------------------------------

@PROPERTY
@given(arch_and_loss=st.sampled_from(STACKED).flatmap(
           lambda lo: st.tuples(architectures([lo[1]]), st.just(lo[0]))),
       members=st.integers(1, 4),
       rows=st.one_of(st.just(1), st.integers(1, 15).map(lambda i: 2 * i + 1),
                      st.integers(32, 70)))
def test_one_stacked_step_gives_each_member_its_own_gradient(arch_and_loss, members, rows):
    arch, loss_name = arch_and_loss
    if loss_name == "cross_entropy":
        assume(arch.widths[-1] >= 2)
    dtype, k = arch.dtype, arch.widths[-1]
    nets = [member(arch, m) for m in range(members)]
    rng = np.random.default_rng(arch.seed + 5)
    X = rng.standard_normal((members, rows, arch.widths[0])).astype(dtype)
    y = np.stack([member_targets(rng, loss_name, arch.activations[-1], rows, k, dtype)
                  for _ in range(members)])
    fwds = [eb.forward(net, X[m], dtype) for m, net in enumerate(nets)]
    assume(all(eb.kink_margin(net, f) > 1 for net, f in zip(nets, fwds, strict=True)))
    bwds = [eb.backward(net, f, y[m], loss_name, dtype)
            for m, (net, f) in enumerate(zip(nets, fwds, strict=True))]
    big = float(np.finfo(dtype).max) / 1e4
    assume(all(abs(b.loss) < big and all(float(np.abs(g).max()) < big for g in b.grads)
               for b in bwds))
    assert covers(nets, [Adam(n.parameters()) for n in nets], loss_name)
    values, grads = member_gradients(nets, X, y, loss_name)
    loss = ds.nn.get_loss(loss_name)
    for m, net in enumerate(nets):
        for p in net.parameters():
            p.grad = None
        C = loss(net(Tensor(X[m])), y[m])
        C.backward()
        eb.assert_within(values[m], float(C.data), bwds[m].E_loss, dtype, f"loss of member {m}")
        names = [name for name, _ in net.named_parameters()]
        for name, got, p, E in zip(names, grads[m], net.parameters(), bwds[m].E_grads,
                                   strict=True):
            assert got.shape == p.data.shape
            eb.assert_within(got, p.grad, E, dtype, f"∂C/∂{name} of member {m}")


# ---- whole fits: stacked against one engine fit per member -------------------------------

# The draws of a whole stacked fit: members, rows, batches (1, odd, more than the rows),
# epochs, input layout, stopping rule, each member's weight decay and the shuffling seed.
STACKED_FIT_DRAWS = dict(
    members=st.integers(1, 4), rows=st.integers(2, 60),
    batch_size=st.one_of(st.just(1), st.integers(2, 9).map(lambda i: 2 * i + 1),
                         st.integers(61, 100)),
    epochs=st.integers(1, 4), layout=st.sampled_from(LAYOUTS),
    stopping=st.sampled_from([None, "loss", "val_loss"]), patience=st.integers(0, 1),
    decays=st.lists(st.sampled_from(DECAYS), min_size=4, max_size=4),
    seed=st.integers(0, 2**32 - 1))


@PROPERTY
@given(arch_and_loss=st.sampled_from(STACKED).flatmap(
           lambda lo: st.tuples(architectures([lo[1]], dtypes=[np.dtype(np.float64)],
                                              widest=st.one_of(st.integers(1, 9),
                                                               st.integers(10, 48))),
                                st.just(lo[0]))),
       min_delta=st.sampled_from([0.0, 1e-4]), restore=st.booleans(), adam=st.booleans(),
       **STACKED_FIT_DRAWS)
def test_stacked_fit_equals_one_engine_fit_per_member(arch_and_loss, members, rows, batch_size,
                                                      epochs, layout, stopping, patience,
                                                      min_delta, restore, decays, adam, seed):
    arch, loss_name = arch_and_loss
    if loss_name == "cross_entropy":
        assume(arch.widths[-1] >= 2)
    dtype, k, lr = arch.dtype, arch.widths[-1], 1e-3
    steps = epochs * -(-rows // batch_size)
    assume(steps <= 40)  # see the tolerance
    rng = np.random.default_rng(arch.seed + 11)
    X = rng.standard_normal((rows, arch.widths[0])).astype(dtype)
    y = member_targets(rng, loss_name, arch.activations[-1], rows, k, dtype)
    X_val = rng.standard_normal((7, arch.widths[0])).astype(dtype)
    y_val = member_targets(rng, loss_name, arch.activations[-1], 7, k, dtype)
    validation = (X_val, y_val) if stopping == "val_loss" or rng.random() < 0.5 else None
    if stopping == "val_loss" and validation is None:
        stopping = None
    seeds = [seed + m for m in range(members)]

    def optimizer(net, m):
        if adam:  # Adam without decay; AdamW with the member's own
            return Adam(net.parameters(), lr=lr)
        return AdamW(net.parameters(), lr=lr, weight_decay=decays[m])

    fast = [member(arch, m) for m in range(members)]
    fast_opts = [optimizer(n, m) for m, n in enumerate(fast)]
    runs = fit_stacked(fast, fast_opts, lay_out(X, layout), y, loss=loss_name, epochs=epochs,
                       batch_size=batch_size, seeds=seeds, validation_data=validation,
                       monitor=stopping, patience=patience, min_delta=min_delta,
                       restore_best_weights=restore)
    slow, histories, diverged = [], [], []
    for m in range(members):
        net = member(arch, m)
        opt = optimizer(net, m)
        callbacks = [] if stopping is None else [EarlyStopping(
            stopping, patience=patience, min_delta=min_delta, restore_best_weights=restore)]
        try:
            histories.append(ds.fit(net, lay_out(X, layout), y, loss=loss_name, optimizer=opt,
                                    epochs=epochs, batch_size=batch_size, seed=seeds[m],
                                    validation_data=validation, callbacks=callbacks,
                                    verbose=False, compiled=False))
        except DivergenceError as error:
            diverged.append(str(error))
        slow.append((net, opt))
    if diverged:  # the stacked fit declines, changing nothing; fit raises as it does
        assert runs is None
        for m, net in enumerate(fast):
            for p, q in zip(net.parameters(), member(arch, m).parameters(), strict=True):
                np.testing.assert_array_equal(p.data, q.data)
        return
    assert runs is not None
    # Early stopping compares each loss with the best so far less min_delta: where the
    # two are within rounding of each other both decisions are right; set such draws aside.
    for h in histories:
        if stopping is not None:
            values = h[stopping]
            for e in range(1, len(values)):
                gap = abs(values[e] - (min(values[:e]) - min_delta))
                assume(gap > 1e-9 * (abs(values[e]) + 1e-12))
    start = member(arch, 0)
    grad_error = eb.backward(start, eb.forward(start, X, dtype), y, loss_name, dtype).E_grads
    note(f"{steps} steps")
    for m, (run, h, (net, opt), fnet, fopt) in enumerate(zip(runs, histories, slow, fast,
                                                             fast_opts, strict=True)):
        assert len(run.history) == len(h)
        assert run.history.epoch == h.epoch
        assert run.history.stopped_early == h.stopped_early
        assert run.history.best_epoch == h.best_epoch
        assert run.history.interrupted == h.interrupted is False
        assert list(run.history.history) == list(h.history)
        assert fopt._t == opt._t and fopt.step_count == opt.step_count
        np.testing.assert_allclose(run.history["loss"], h["loss"], rtol=1e-6, atol=1e-9)
        if validation is not None:
            np.testing.assert_allclose(run.history["val_loss"], h["val_loss"], rtol=1e-6,
                                       atol=1e-9)
        tol = 1e-9
        extra = [4 * steps * lr * 2 * rows * 1e8 * E for E in grad_error]
        for (name, p), q, E in zip(fnet.named_parameters(), net.parameters(), extra,
                                   strict=True):
            scale = float(np.abs(q.data).max()) + 1e-3
            allowed = tol * np.abs(q.data) + tol * scale + E
            assert np.all(np.abs(p.data - q.data) <= allowed), (
                f"member {m}, {name}: stacked {p.data}, engine {q.data}")
        for a, b in zip(fopt._flat_state, opt._flat_state, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


# ---- computing in float32 for float64 networks ------------------------------------------

@PROPERTY
@given(arch_and_loss=st.sampled_from(STACKED).flatmap(
           lambda lo: st.tuples(architectures([lo[1]], dtypes=[np.dtype(np.float64)]),
                                st.just(lo[0]))),
       **STACKED_FIT_DRAWS)
def test_float32_compute_for_float64_networks_is_a_float32_fit_widened(
        arch_and_loss, members, rows, batch_size, epochs, layout, stopping, patience, decays,
        seed):
    """compute_dtype=float32 on float64 networks leaves exactly (bit for bit) what the
    stacked fit of float32 copies of them leaves, widened to float64: weights, Adam
    moments and step counts; and the same History."""
    arch, loss_name = arch_and_loss
    if loss_name == "cross_entropy":
        assume(arch.widths[-1] >= 2)
    k = arch.widths[-1]
    rng = np.random.default_rng(arch.seed + 13)
    X = rng.standard_normal((rows, arch.widths[0]))
    y = member_targets(rng, loss_name, arch.activations[-1], rows, k, np.dtype(np.float64))
    validation = (rng.standard_normal((7, arch.widths[0])),
                  member_targets(rng, loss_name, arch.activations[-1], 7, k,
                                 np.dtype(np.float64)))
    if stopping != "val_loss" and rng.random() < 0.5:
        validation = None
    seeds = [seed + m for m in range(members)]
    wide = [member(arch, m) for m in range(members)]
    narrow = [member(replace(arch, dtype=np.dtype(np.float32)), m) for m in range(members)]
    for w_net, n_net in zip(wide, narrow, strict=True):  # the same starting values
        for p, q in zip(w_net.parameters(), n_net.parameters(), strict=True):
            p.data[...] = q.data
    options = dict(loss=loss_name, epochs=epochs, batch_size=batch_size, seeds=seeds,
                   monitor=stopping, patience=patience, restore_best_weights=True)

    def optimizers(nets):
        return [AdamW(n.parameters(), lr=1e-3, weight_decay=decays[m])
                for m, n in enumerate(nets)]

    wide_opts, narrow_opts = optimizers(wide), optimizers(narrow)
    as32 = None if validation is None else (validation[0].astype(np.float32), validation[1]
                                            if loss_name == "cross_entropy"
                                            else validation[1].astype(np.float32))
    got = fit_stacked(wide, wide_opts, lay_out(X, layout), y, validation_data=validation,
                      compute_dtype=np.float32, **options)
    want = fit_stacked(narrow, narrow_opts, lay_out(X.astype(np.float32), layout),
                       y if loss_name == "cross_entropy" else y.astype(np.float32),
                       validation_data=as32, **options)
    assert (got is None) == (want is None)
    if got is None:
        return
    for a, b in zip(got, want, strict=True):
        assert a.history.history == b.history.history
        assert a.history.best_epoch == b.history.best_epoch
    for w_net, n_net, w_opt, n_opt in zip(wide, narrow, wide_opts, narrow_opts, strict=True):
        for p, q in zip(w_net.parameters(), n_net.parameters(), strict=True):
            assert p.data.dtype == np.float64
            np.testing.assert_array_equal(p.data, q.data.astype(np.float64))
        for a, b in zip(w_opt._flat_state, n_opt._flat_state, strict=True):
            assert a.dtype == np.float64
            np.testing.assert_array_equal(a, b.astype(np.float64))
        assert w_opt._t == n_opt._t and w_opt.step_count == n_opt.step_count


# ---- what the stacked fit declines -------------------------------------------------------

def nets_and_opts(n=2, make=AdamW, **kw):
    nets = [ds.nn.MLP([3, 5, 1], "tanh", seed=s, dtype=np.float64) for s in range(n)]
    return nets, [make(net.parameters(), **kw) for net in nets]


@pytest.mark.parametrize("case", ["sgd", "adam_l2", "mae", "lr_differs", "shapes_differ",
                                  "weighted_validation", "engine_only_model"])
def test_what_it_does_not_cover_returns_none_and_changes_nothing(case):
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = X.sum(axis=1)
    nets, opts = nets_and_opts()
    kwargs = {}
    loss = "mse"
    if case == "sgd":
        nets, opts = nets_and_opts(make=SGD, lr=0.1)
    elif case == "adam_l2":
        nets, opts = nets_and_opts(make=Adam, weight_decay=0.1)
    elif case == "mae":
        loss = "mae"
    elif case == "lr_differs":
        opts[1].lr = 0.5
    elif case == "shapes_differ":
        nets[1] = ds.nn.MLP([3, 4, 1], "tanh", seed=1, dtype=np.float64)
        opts[1] = AdamW(nets[1].parameters())
    elif case == "weighted_validation":
        kwargs = dict(validation_data=(X, y, np.ones(20)), monitor="val_loss")
    elif case == "engine_only_model":
        nets = [ds.nn.Sequential(ds.nn.Linear(3, 1, seed=s, dtype=np.float64),
                                 ds.nn.Dropout(0.5)) for s in range(2)]
        opts = [AdamW(n.parameters()) for n in nets]
    before = [[p.data.copy() for p in n.parameters()] for n in nets]
    assert fit_stacked(nets, opts, X, y, loss=loss, epochs=2, seeds=[0, 1], **kwargs) is None
    for net, kept in zip(nets, before, strict=True):
        for p, q in zip(net.parameters(), kept, strict=True):
            np.testing.assert_array_equal(p.data, q)
    assert all(o.step_count == 0 for o in opts)


def test_a_diverging_member_returns_none_and_changes_nothing():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = X.sum(axis=1)
    nets = [ds.nn.MLP([3, 16, 1], "relu", seed=s, dtype=np.float64) for s in range(2)]
    opts = [Adam(n.parameters(), lr=1e10) for n in nets]
    before = [[p.data.copy() for p in n.parameters()] for n in nets]
    assert fit_stacked(nets, opts, X, y, epochs=20, seeds=[0, 1]) is None
    for net, kept in zip(nets, before, strict=True):
        for p, q in zip(net.parameters(), kept, strict=True):
            np.testing.assert_array_equal(p.data, q)
    with pytest.raises(DivergenceError):  # what the caller's fit then says
        ds.fit(nets[0], X, y, optimizer=opts[0], epochs=20, seed=0, verbose=False)


# ---- the recipe: train_network stacked against one network at a time ---------------------

@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("ensemble", [1, 3])
def test_train_network_stacked_equals_one_network_at_a_time(monkeypatch, task, ensemble):
    """The weight decay chosen on validation, the members, their histories and the merged
    network: the same whether the fits run stacked or one after another."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    if task == "regression":
        y, n_out = np.tanh(X[:, 0]) + 0.1 * rng.normal(size=120), 1
    else:
        y, n_out = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1), 3
    recipe = Recipe(hidden=(6,), epochs=25, patience=3, ensemble=ensemble).checked(task)
    val = (X[:30], y[:30])
    got = {}
    calls: list[bool] = []
    real = training.fit_stacked
    monkeypatch.setattr(training, "fit_stacked",
                        lambda *a, **k: calls.append(True) or real(*a, **k))
    for stacked in (True, False):
        monkeypatch.setattr(training, "STACKED", stacked)
        calls.clear()
        got[stacked] = training.train_network(X[30:], y[30:], recipe, task=task,
                                              n_outputs=n_out, validation_data=val, seed=3)
        assert bool(calls) == stacked
    fast, slow = got[True], got[False]
    assert fast.weight_decay == slow.weight_decay
    assert len(fast.member_histories) == len(slow.member_histories) == ensemble
    for a, b in zip(fast.member_histories, slow.member_histories, strict=True):
        assert (len(a), a.best_epoch, a.stopped_early) == (len(b), b.best_epoch,
                                                           b.stopped_early)
        np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=1e-9)
    np.testing.assert_allclose(fast.validation_scores, slow.validation_scores, rtol=1e-9,
                               atol=1e-12)
    for p, q in zip(fast.model.parameters(), slow.model.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-8, atol=1e-10)
    assert fast.history.notes == slow.history.notes


def test_verbose_shows_the_first_members_epochs_once_each(capsys):
    """One progress line per epoch of member 0, however long the others train."""
    rng = np.random.default_rng(2)
    X, X_val = rng.normal(size=(60, 3)), rng.normal(size=(20, 3))
    y, y_val = X.sum(axis=1), X_val.sum(axis=1)
    nets, opts = nets_and_opts(3, lr=0.05, weight_decay=0.0)
    runs = fit_stacked(nets, opts, X, y, epochs=40, seeds=[0, 1, 2],
                       validation_data=(X_val, y_val), monitor="val_loss", patience=2,
                       verbose=True)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == [
        f"{e + 1}/40" for e in range(len(runs[0].history))]
    assert "val_loss" in lines[-1]
