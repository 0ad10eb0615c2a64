"""The distributed step is a fast path: the gradient sums of the parts, added over the fixed
tree, must equal the compiled large-batch step on the whole batch and the engine's
gradient, over random widths, depths, activations, losses, dtypes, batch sizes, splits
and memory layouts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import descent as ds
from descent.distributed.shards import batch_rows, round_bounds, shard_stream
from descent.distributed.step import (
    PartGradient,
    add_partials,
    flat_weights,
    load_flat,
    mean_gradient,
    tree_sum,
)
from descent.train.plan import compile_step

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


def _layout(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "F":
        return np.asfortranarray(x)
    if kind == "strided":  # every other column of a wider array
        wide = np.zeros((x.shape[0], 2 * x.shape[1]), x.dtype)
        wide[:, ::2] = x
        return wide[:, ::2]
    return np.ascontiguousarray(x)


@st.composite
def cases(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    depth = draw(st.integers(0, 3))
    widths = [draw(st.integers(1, 9)) for _ in range(depth + 2)]
    activation = draw(st.sampled_from(["tanh", "relu", "sigmoid", "leaky_relu",
                                       "scaled_tanh", "identity"]))
    loss = draw(st.sampled_from(["mse", "quadratic", "cross_entropy"]))
    if loss == "cross_entropy" and widths[-1] == 1:
        widths[-1] = 2
    n = draw(st.sampled_from([1, 2, 7, 33, 130]))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=0, max_size=6)))
    layout = draw(st.sampled_from(["C", "F", "strided"]))
    seed = draw(st.integers(0, 2**16))
    return dtype, widths, activation, loss, n, cuts, layout, seed


# Examples from the hypothesis profile (tests/conftest.py): modest locally, many in CI.
@settings(deadline=None)
@given(cases())
def test_part_sums_over_the_tree_equal_the_large_batch_step_and_the_engine(case):
    dtype, widths, activation, loss, n, cuts, layout, seed = case
    rng = np.random.default_rng(seed)
    net = ds.nn.MLP(widths, activation=activation, seed=seed, dtype=dtype)
    x = _layout(rng.normal(size=(n, widths[0])).astype(dtype), layout)
    if loss == "cross_entropy":
        y = rng.integers(0, widths[-1], size=n)
    else:
        y = rng.normal(size=(n, widths[-1])).astype(dtype).squeeze(-1) if widths[-1] == 1 \
            else rng.normal(size=(n, widths[-1])).astype(dtype)

    # Distributed: parts cut anywhere (empty parts too), sums added over the fixed tree.
    part = PartGradient(net, loss)
    w = flat_weights(net)
    bounds = [0, *cuts, n]
    parts = [part(w, x[lo:hi], y[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:],
                                                         strict=True)]
    g, value = mean_gradient(tree_sum(parts, fan_in=2))

    # One machine, the compiled step on the whole batch (gradient only).
    step = compile_step(net, ds.nn.get_loss(loss), ds.optim.SGD(net.parameters(), lr=1.0))
    assert step is not None
    step.hold()
    value_one = step.gradient(np.ascontiguousarray(x), y)
    g_one = step.grad.copy()
    step.release()
    np.testing.assert_allclose(g, g_one, **TOL[dtype])
    np.testing.assert_allclose(value, value_one, **TOL[dtype])

    # The engine.
    net.zero_grad()
    C = ds.nn.get_loss(loss)(net(ds.tensor(np.ascontiguousarray(x))), y)
    C.backward()
    g_engine = np.concatenate([p.grad.ravel() for p in net.parameters()])
    np.testing.assert_allclose(g, g_engine, **TOL[dtype])
    np.testing.assert_allclose(value, float(C.data), **TOL[dtype])


def test_engine_path_for_a_model_the_plan_does_not_cover_gives_the_same_sums():
    # mae is not fused by the plan: PartGradient falls back to the engine.
    net = ds.nn.MLP([3, 4, 1], activation="tanh", seed=1, dtype=np.float64)
    part = PartGradient(net, "mae")
    assert part.step is None
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    w = flat_weights(net)
    g, value = mean_gradient(add_partials([part(w, x[:7], y[:7]), part(w, x[7:], y[7:])]))
    net.zero_grad()
    C = ds.nn.get_loss("mae")(net(ds.tensor(x)), y)
    C.backward()
    np.testing.assert_allclose(g, np.concatenate([p.grad.ravel() for p in net.parameters()]),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(value, float(C.data), rtol=1e-12)


def test_flat_weights_round_trip_and_follow_the_compiled_layout():
    net = ds.nn.MLP([3, 5, 2], seed=0)
    w = flat_weights(net)
    other = ds.nn.MLP([3, 5, 2], seed=1)
    load_flat(other, w)
    for a, b in zip(net.parameters(), other.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    step = compile_step(net, ds.nn.get_loss("mse"), ds.optim.SGD(net.parameters(), lr=1.0))
    step.hold()
    np.testing.assert_array_equal(step.w, w)
    step.release()


def test_tree_order_depends_on_the_number_of_parts_only():
    tree = tree_sum(list(range(7)), fan_in=2, add=tuple)
    assert tree == (((0, 1), (2, 3)), ((4, 5), 6))
    seen = []
    tree_sum(list(range(7)), fan_in=4, add=lambda xs: seen.append(tuple(xs)) or sum(xs))
    assert seen == [(0, 1, 2, 3), (4, 5, 6), (6, 15)]


def test_rounds_visit_every_row_once_per_epoch_and_streams_are_per_shard():
    n, rounds = 101, 7
    rows = np.concatenate([batch_rows(n, 5, 2, 0, r, rounds) for r in range(rounds)])
    assert sorted(rows.tolist()) == list(range(n))
    assert sum(hi - lo for lo, hi in (round_bounds(n, r, rounds) for r in range(rounds))) == n
    epoch0 = batch_rows(n, 5, 2, 0, 0, 1)
    epoch1 = batch_rows(n, 5, 2, 1, 0, 1)
    other_shard = batch_rows(n, 5, 3, 0, 0, 1)
    assert not np.array_equal(epoch0, epoch1) and not np.array_equal(epoch0, other_shard)
    # the shard streams are SeedSequence.spawn's children
    child = np.random.SeedSequence(5).spawn(4)[3]
    assert np.array_equal(np.random.default_rng(child.spawn(1)[0]).permutation(9),
                          shard_stream(5, 3, 0).permutation(9))
