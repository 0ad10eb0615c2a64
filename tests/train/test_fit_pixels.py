"""fit from uint8 pictures (a PixelArray) trains exactly as from their float copy, and never
makes that copy: each batch becomes floats when it is drawn, on the compiled CNN step and on
the engine alike."""

from __future__ import annotations

import copy
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descent as ds
from descent.data import ImageSet, PixelArray
from descent.data.augment import Augmentation
from descent.pictures import train_images
from descent.pictures.training import PICTURE_RECIPE
from descent.tabular import training as tabular_training


def _pixels(n, shape, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n, *shape)).astype(np.uint8)
    y = (pixels.reshape(n, -1)[:, : pixels[0].size // 2].mean(axis=1) > 127).astype(np.int64)
    return pixels, y


def _network(kind, shape, dtype):
    c, h, w = shape
    if kind == "plan":  # a LeNet-like stack the compiled CNN step covers (with Dropout)
        return ds.nn.ConvNet(shape, 2, channels=(3,), kernel_size=3, hidden=(5,), dropout=0.25,
                             seed=0, dtype=dtype)
    # not covered by the plan: the engine runs every step
    return ds.nn.Sequential(ds.nn.Conv2d(c, 3, 3, padding="same", seed=0, dtype=dtype),
                            ds.nn.ReLU(), ds.nn.GlobalAvgPool(),
                            ds.nn.Linear(3, 2, seed=1, dtype=dtype))


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(["plan", "engine"]), shape=st.sampled_from([(1, 6, 7), (3, 5, 5)]),
       n=st.integers(9, 40), batch=st.sampled_from([1, 4, 16, 64]),
       dtype=st.sampled_from([np.float32, np.float64]), augment=st.booleans(),
       split=st.sampled_from(["none", "fraction", "data"]), seed=st.integers(0, 100))
def test_training_from_pixels_equals_training_from_floats(kind, shape, n, batch, dtype,
                                                          augment, split, seed):
    pixels, y = _pixels(n, shape, seed)
    floats = pixels.astype(np.float32) * np.float32(1 / 255)  # what training used before
    source = PixelArray(pixels)
    net = _network(kind, shape, dtype)
    twin = copy.deepcopy(net)  # same weights, same dropout stream
    kwargs = dict(loss="cross_entropy", optimizer="adam", lr=0.01, epochs=2, batch_size=batch,
                  seed=seed, verbose=False, metrics=["accuracy"],
                  augment=Augmentation(shift=1, rotate=15.0) if augment else None)
    if split == "fraction":
        kwargs["validation_split"] = 0.25
    ours_kwargs, theirs_kwargs = dict(kwargs), dict(kwargs)
    if split == "data":
        ours_kwargs["validation_data"] = (source[:5], y[:5])
        theirs_kwargs["validation_data"] = (floats[:5], y[:5])
    h_ours = ds.fit(net, source, y, **ours_kwargs)
    h_theirs = ds.fit(twin, floats, y, **theirs_kwargs)
    for (name, p), q in zip(net.named_parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    assert h_ours.history == h_theirs.history
    np.testing.assert_array_equal(ds.train.predict_array(net, source),
                                  ds.train.predict_array(twin, floats))


def _peak_during(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind,metrics", [("plan", ["accuracy"]), ("engine", [])])
def test_fit_never_makes_a_float_copy_of_the_pictures(kind, metrics):
    """(The engine's own prediction of a whole set holds its patches, several times the
    pictures' size, so its epoch-end metrics are left out here; the next test bounds
    predict_array on pixels in small batches.)"""
    shape = (1, 12, 12)
    pixels, y = _pixels(30000, shape, 0)
    float_copy = pixels.size * 4  # 17 MB of float32 (the plan's buffers take about 2 MB)
    net = _network(kind, shape, np.float32)
    twin = copy.deepcopy(net)
    kwargs = dict(loss="cross_entropy", optimizer="sgd", lr=0.1, epochs=1, batch_size=128,
                  seed=0, verbose=False, metrics=metrics)
    ours = _peak_during(lambda: ds.fit(net, PixelArray(pixels), y, **kwargs))
    # the measurement can fail: converting first holds the float copy
    before = _peak_during(lambda: ds.fit(
        twin, pixels.astype(np.float32) * np.float32(1 / 255), y, **kwargs))
    assert before >= float_copy
    assert ours < float_copy / 2, (ours, float_copy)


@pytest.mark.parametrize("kind", ["plan", "engine"])
def test_predict_array_on_pixels_makes_floats_a_chunk_at_a_time(kind):
    shape = (1, 12, 12)
    pixels, _ = _pixels(30000, shape, 2)
    net = _network(kind, shape, np.float32)
    X = PixelArray(pixels)
    out = None

    def predict():
        nonlocal out
        out = ds.train.predict_array(net, X, batch_size=256)

    assert _peak_during(predict) < pixels.size * 4 / 2
    np.testing.assert_array_equal(out[:300], ds.train.predict_array(net, np.asarray(X[:300])))


def test_picture_training_keeps_the_pictures_uint8(monkeypatch):
    pixels, y = _pixels(40000, (1, 10, 10), 1)
    images = ImageSet(pixels, y, ["a", "b"], [f"{i}.png" for i in range(len(y))])
    float_copy = pixels.size * 4  # 16 MB: what converting every part first held at once
    net = ds.nn.ConvNet((1, 10, 10), 2, channels=(2,), kernel_size=3, hidden=(4,), seed=0)
    recipe = replace(PICTURE_RECIPE, epochs=1)
    seen = []
    real_fit = tabular_training.fit

    def fit(model, X, y, **kwargs):
        seen.append((X, kwargs["validation_data"][0]))
        return real_fit(model, X, y, **kwargs)

    monkeypatch.setattr(tabular_training, "fit", fit)
    peak = _peak_during(lambda: train_images(images, network=net, recipe=recipe,
                                             augmentation=Augmentation(), seed=0,
                                             verbose=False))
    [(X, X_val)] = seen
    assert isinstance(X, PixelArray) and isinstance(X_val, PixelArray)
    assert X.pixels.dtype == np.uint8 and len(X) == 28000
    # The split's uint8 copies (4 MB), an engine probe and the plans' buffers, no floats
    # of the set: converting first peaked above 16 MB + all of these.
    assert peak < float_copy, (peak, float_copy)
