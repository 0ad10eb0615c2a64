"""The compiled CNN step is the engine's step, proven on random networks (hypothesis).

Random Sequentials of the layers the plan covers (convolutions of any kernel, stride,
padding and dilation, narrow and wide, the activations, max and average pools, Flatten,
BatchNorm2d, Dropout, dense layers), random picture sizes (odd ones included), batch sizes (1, odd),
float32 and float64, inputs in C order, Fortran order and strided views, the batch in
one part or split in 2 or 3 parts, run on one thread or two. Two steps of each must give
the same loss and the same gradient of every parameter as the engine.
Pictures of small integers make ties inside pooling windows common: the plan must share
the gradient among tied maxima exactly as the engine does.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import descent as ds
from descent import nn
from descent.train import conv_plan
from descent.train.conv_plan import CompiledConvStep, compile_conv_step
from descent.train.fit import _eager_step

TOL = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


@st.composite
def networks(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(3, 13)), draw(st.integers(3, 13))
    layers: list[nn.Module] = []
    channels, rng = c, np.random.default_rng(draw(st.integers(0, 2**16)))
    for _ in range(draw(st.integers(1, 3))):
        out = draw(st.integers(1, 4))
        k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        stride = draw(st.sampled_from([1, 1, 2, (1, 2)]))
        padding = draw(st.sampled_from([0, 1, 2, (0, 1), "same", "valid"]))
        if padding == "same":
            stride = 1
        dilation = draw(st.sampled_from([1, 1, 2]))
        layers.append(nn.Conv2d(channels, out, k, stride, padding, dilation,
                                bias=draw(st.booleans()), seed=rng, dtype=dtype))
        if draw(st.integers(0, 3)) == 0:
            layers.append(nn.BatchNorm2d(out, affine=draw(st.booleans()), dtype=dtype))
        act = draw(st.sampled_from(["relu", "relu", "tanh", "sigmoid", "leaky_relu", None]))
        if act:
            layers.append(nn.Activation(act))
        pool = draw(st.sampled_from([None, "max", "max", "avg"]))
        if pool:
            k = draw(st.sampled_from([1, 2, 2, 3, (2, 1)]))
            layers.append(nn.MaxPool2d(k) if pool == "max" else nn.AvgPool2d(k))
        channels = out
    layers.append(nn.Flatten())
    if draw(st.booleans()):
        layers.append(nn.Dropout(draw(st.sampled_from([0.0, 0.3, 1.0])), seed=rng))
    hidden = draw(st.sampled_from([[], [1], [5]]))
    return layers, hidden, dtype, (c, h, w), rng


def _finish(layers, hidden, dtype, shape, rng):
    """Add the dense layers once the flattened width is known (None: the picture is too
    small for the convolutions)."""
    probe = nn.Sequential(*layers).eval()
    try:
        with ds.no_grad():
            width = probe(ds.tensor(np.zeros((1, *shape), dtype))).shape[1]
    except ValueError:
        return None
    dense = []
    for n in [*hidden, 3]:
        dense += [nn.Linear(width, n, seed=rng, dtype=dtype), nn.Activation("relu")]
        width = n
    return nn.Sequential(*layers, *dense[:-1])


def _pictures(draw_data, dtype, shape, batch, layout, ties):
    rng = np.random.default_rng(draw_data)
    if ties:  # small integers: ties inside the pooling windows
        X = rng.integers(0, 3, (batch, *shape)).astype(dtype)
    else:
        X = rng.standard_normal((batch, *shape)).astype(dtype)
    if layout == "fortran":
        X = np.asfortranarray(X)
    elif layout == "strided":  # every other picture of a larger array
        big = np.empty((2 * batch, *shape), dtype)
        big[::2] = X
        X = big[::2]
    elif layout == "reversed":  # negative strides: the same values, columns read backwards
        X = np.ascontiguousarray(X[..., ::-1])[..., ::-1]
    return X, rng.integers(0, 3, batch)


# Examples from the hypothesis profile (tests/conftest.py): modest locally, more in CI, but
# at most 400: each example trains three small CNNs twice (up to 0.1 s on a quiet machine,
# several times that on a busy one), and the whole suite must keep to its time on 2 cores.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow],
          max_examples=min(settings.default.max_examples, 400))
@given(net=networks(), batch=st.sampled_from([1, 2, 5, 8, 17, 24]),
       seed=st.integers(0, 10**6), parts=st.sampled_from([1, 2, 3]),
       threads=st.sampled_from([1, 2]), waste=st.sampled_from([1.0, 1.2, 10.0]),
       layout=st.sampled_from(["c", "fortran", "strided", "reversed"]),
       loss=st.sampled_from(["cross_entropy", "cross_entropy", "mse"]))
def test_one_step_equals_the_engine(net, batch, seed, parts, threads, waste, layout, loss):
    """`waste` decides which stride-1 convolutions run as wide rows and which as slabs."""
    saved, conv_plan.MAX_WIDE_WASTE = conv_plan.MAX_WIDE_WASTE, waste
    try:
        _one_step_equals_the_engine(net, batch, seed, parts, threads, layout, loss)
    finally:
        conv_plan.MAX_WIDE_WASTE = saved


def _in_float64(model):
    """A float64 copy of a float32 model: the same weights, buffers and dropout streams."""
    twin = copy.deepcopy(model)
    for _, module in twin.named_modules():
        for p in module._parameters.values():
            p.data = p.data.astype(np.float64)
        for name, b in list(module._buffers.items()):
            setattr(module, name, b.astype(np.float64))
    return twin


def _close(ours, theirs, exact, dtype, name):
    """float64: ours equals the engine's to rounding. float32: both are compared with the
    float64 engine (`exact`), and ours must be about as accurate as the engine's float32
    result (BatchNorm makes some gradients differences of large terms, where the engine's
    float32 arithmetic is not the last word)."""
    scale = max(1.0, float(np.abs(theirs).max()))
    tol = dict(rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale)
    if dtype == np.float64 or np.allclose(ours, theirs, **tol):
        np.testing.assert_allclose(ours, theirs, **tol, err_msg=name)
        return
    our_error = float(np.abs(np.asarray(ours, np.float64) - exact).max())
    their_error = float(np.abs(np.asarray(theirs, np.float64) - exact).max())
    assert our_error <= 2 * their_error + tol["atol"], (
        f"{name}: error {our_error:.3g} against float64, the engine's float32 {their_error:.3g}")


def _one_step_equals_the_engine(net, batch, seed, parts, threads, layout, loss):
    layers, hidden, dtype, shape, rng = net
    model = _finish(layers, hidden, dtype, shape, rng)
    assume(model is not None)
    twin = copy.deepcopy(model)  # the same weights and the same dropout generator state
    exact = _in_float64(model) if dtype == np.float32 else twin
    loss_fn = nn.get_loss(loss)
    opt, twin_opt, exact_opt = (ds.optim.SGD(m.parameters(), lr=0.1)
                                for m in (model, twin, exact))
    step = compile_conv_step(model, loss_fn, opt)
    assert isinstance(step, CompiledConvStep)
    step.parts, step.threads = parts, threads  # batches of 16 and more split (parts >= 8)
    # Not with BatchNorm: a channel of equal values has variance 0, and its gradient,
    # divided by sqrt(eps), magnifies the last bit of the mean into a different answer.
    ties = seed % 3 == 0 and not any(isinstance(m, nn.BatchNorm2d) for m in model)
    X, y = _pictures(seed, dtype, shape, batch, layout, ties)
    if loss == "mse":
        y = np.random.default_rng(seed).standard_normal((batch, 3)).astype(dtype)
    assert step.covers(X)
    model.train(), twin.train(), exact.train()
    for _ in range(2):  # the second step runs on reused buffers and updated weights
        assume(_off_the_kinks(twin, X))
        try:
            theirs = _eager_step(twin, loss_fn, twin_opt)(X, y, None)
        except ValueError as error:  # BatchNorm of one value per channel: both refuse
            assert "more than one value per channel" in str(error)
            with pytest.raises(ValueError, match="more than one value per channel"):
                step(X, y, None)
            return
        if exact is not twin:
            exact_loss = _eager_step(exact, loss_fn, exact_opt)(X.astype(np.float64), y, None)
        else:
            exact_loss = theirs
        ours = step(X, y, None)
        _close(ours, theirs, exact_loss, dtype, "loss")
        for (name, p), q, r in zip(model.named_parameters(), twin.parameters(),
                                   exact.parameters(), strict=True):
            assert p.grad is not None and p.grad.dtype == dtype, name
            _close(p.grad, q.grad, r.grad, dtype, name)
        for (name, b), (_, c), (_, e) in zip(model.named_buffers(), twin.named_buffers(),
                                             exact.named_buffers(), strict=True):
            _close(b, c, e, dtype, name)


def _off_the_kinks(model, X):
    """Whether no ReLU input after a BatchNorm sits within rounding of 0, where the last
    bit decides the derivative (0 or 1) and so the whole gradient behind it. BatchNorm of
    two values gives outputs that cancel to 0 or about 1e-17 in a later mean; the plan
    and the engine round that mean differently, and both are right. (Without BatchNorm,
    exact zeros are exact in both: padding, ties of small integers.) Checked on a copy:
    the model's Dropout draws and BatchNorm statistics stay as they are."""
    probe = copy.deepcopy(model).train()
    a, after_norm = ds.tensor(X), False
    with ds.no_grad():
        for layer in probe:
            after_norm |= isinstance(layer, nn.BatchNorm2d)
            if after_norm and isinstance(layer, nn.Activation) \
                    and layer.name in ("relu", "leaky_relu"):
                z = np.abs(a.data)
                if np.any(z < 1e-9 * max(1.0, float(z.max()))):
                    return False
            try:
                a = layer(a)
            except ValueError:  # BatchNorm of one value: the test expects both to refuse
                return True
    return True


def _lenet(**kwargs):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2, seed=0, **kwargs), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(6, 16, 5, seed=1, **kwargs), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120, seed=2, **kwargs),
                         nn.ReLU(), nn.Linear(120, 84, seed=3, **kwargs), nn.ReLU(),
                         nn.Linear(84, 10, seed=4, **kwargs))


def test_fit_with_the_plan_follows_the_engine_over_an_epoch():
    rng = np.random.default_rng(0)
    X = rng.random((150, 1, 28, 28))
    y = rng.integers(0, 10, 150)
    fast, slow = _lenet(dtype=np.float64), _lenet(dtype=np.float64)
    hf = ds.fit(fast, X, y, loss="cross_entropy", optimizer="adam", epochs=2, batch_size=32,
                seed=0, verbose=False)
    hs = ds.fit(slow, X, y, loss="cross_entropy", optimizer="adam", epochs=2, batch_size=32,
                seed=0, verbose=False, compiled=False)
    np.testing.assert_allclose(hf["loss"], hs["loss"], rtol=1e-9)
    for p, q in zip(fast.parameters(), slow.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-7, atol=1e-10)


def test_fit_picks_the_plan_for_a_convnet():
    net = nn.ConvNet((1, 12, 12), 3, seed=0)
    opt = ds.optim.SGD(net.parameters(), lr=0.1)
    step = compile_conv_step(net, nn.get_loss("cross_entropy"), opt)
    assert step is not None and step.covers(np.zeros((2, 1, 12, 12), np.float32))
    assert not step.covers(np.zeros((2, 1, 12, 12), np.float64))  # the model's dtype only
    assert not step.covers(np.zeros((2, 1, 16, 12), np.float32))  # the dense layer's width


@pytest.mark.parametrize("model", [
    nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.BatchNorm1d(18)),
    nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(3, stride=1), nn.Flatten()),
    nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, padding=1), nn.Flatten()),
    nn.Sequential(nn.Conv2d(1, 2, 3), nn.GlobalAvgPool()),
    nn.Sequential(nn.Conv2d(1, 2, 3), nn.ScaledTanh(), nn.Flatten()),
    nn.Sequential(nn.Flatten(), nn.Linear(4, 1)),
    nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten()),
    nn.Sequential(nn.Conv2d(1, 2, 3, dtype=np.float64), nn.Flatten(), nn.Linear(2, 1)),
], ids=["batchnorm1d", "overlapping-pool", "padded-pool", "global-pool", "scaled-tanh",
        "no-conv-first", "conv1d", "mixed-dtypes"])
def test_networks_outside_the_plan_fall_back_to_the_engine(model):
    opt = ds.optim.SGD(model.parameters(), lr=0.1)
    assert compile_conv_step(model, nn.get_loss("mse"), opt) is None


def test_a_network_whose_output_is_not_rows_is_not_covered():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    step = compile_conv_step(model, nn.get_loss("mse"), ds.optim.SGD(model.parameters(), lr=0.1))
    assert step is not None and not step.covers(np.zeros((1, 1, 5, 5), np.float32))


def test_the_parts_not_the_threads_decide_the_arithmetic():
    """Threads only change the speed: the same parts give bit-identical weights."""
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 1, 12, 12), dtype=np.float32), rng.integers(0, 3, 40)
    weights = []
    for threads in (1, 2):
        net = nn.ConvNet((1, 12, 12), 3, seed=0)
        opt = ds.optim.SGD(net.parameters(), lr=0.1)
        step = compile_conv_step(net, nn.get_loss("cross_entropy"), opt)
        step.threads = threads
        for _ in range(3):
            step(X, y, None)
        weights.append([p.data.copy() for p in net.parameters()])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_cores_free_at_each_step_decide_how_many_parts_run_at_once(monkeypatch):
    model = _lenet()
    step = compile_conv_step(model, nn.get_loss("cross_entropy"),
                             ds.optim.SGD(model.parameters(), lr=0.1))
    monkeypatch.setattr(conv_plan, "_cores", lambda: 2)
    for others, parts, workers in ((0, 2, 2), (0, 1, 1), (1, 2, 1), (7, 2, 1)):
        monkeypatch.setattr(conv_plan, "_running_elsewhere", lambda n=others: n)
        assert step._workers(parts) == workers, (others, parts)
    step.threads = 2  # set by hand: the load is not asked
    monkeypatch.setattr(conv_plan, "_running_elsewhere", lambda: 7)
    assert step._workers(2) == 2
    # the kernel's count, without this thread; None where there is no /proc/loadavg
    n = conv_plan._running_elsewhere()
    assert n is None or isinstance(n, int) and n >= 0


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow],
          max_examples=min(settings.default.max_examples, 200))
@given(net=networks(), batch=st.sampled_from([1, 3, 8]), seed=st.integers(0, 10**6),
       layout=st.sampled_from(["c", "fortran", "strided", "reversed"]))
def test_prediction_equals_the_engine_in_evaluation_mode(net, batch, seed, layout):
    """predict_array's compiled forward: the engine's outputs with Dropout off and
    BatchNorm on running statistics (moved away from 0 and 1 first)."""
    layers, hidden, dtype, shape, rng = net
    model = _finish(layers, hidden, dtype, shape, rng)
    assume(model is not None)
    for layer in model:
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean[...] = rng.standard_normal(layer.num_features)
            layer.running_var[...] = rng.uniform(0.5, 2.0, layer.num_features)
    forward = conv_plan.compile_conv_forward(model)
    assert forward is not None
    X, _ = _pictures(seed, dtype, shape, batch, layout, seed % 3 == 0)
    assert forward.covers(X)
    ours = ds.train.predict_array(model.train(), X)
    assert model.training  # put back as it was
    with ds.no_grad():
        theirs = model.eval()(ds.tensor(X)).data
    scale = max(1.0, float(np.abs(theirs).max()))
    np.testing.assert_allclose(ours, theirs, rtol=TOL[dtype]["rtol"],
                               atol=TOL[dtype]["atol"] * scale)
    many = np.concatenate([X] * (conv_plan.PREDICT_ROWS // batch + 2))  # several chunks
    np.testing.assert_allclose(ds.train.predict_array(model, many)[:len(X)], ours,
                               rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale)
