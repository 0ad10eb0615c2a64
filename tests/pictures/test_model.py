"""ImageModel files: the reading recipe survives a round trip; what does not fit is named."""

from __future__ import annotations

import numpy as np
import pytest

import descent as ds
from descent.errors import ModelFileError
from descent.io.models import save
from descent.pictures import ImageModel, softmax


def model(classes=("cat", "dog"), size=(8, 8), channels=1) -> ImageModel:
    net = ds.nn.ConvNet((channels, *size), len(classes), channels=(2, 3), hidden=(4,), seed=0)
    return ImageModel(net, list(classes), size, channels)


def test_round_trip(tmp_path):
    m = model(("a", "b", "c"), (6, 10), 3)
    path = tmp_path / "m.safetensors"
    m.save(path, extra={"note": 1})
    back, extra = ImageModel.load(path)
    assert (back.classes, back.size, back.channels, extra) == (["a", "b", "c"], (6, 10), 3,
                                                               {"note": 1})
    pics = np.random.default_rng(0).integers(0, 256, (4, 3, 6, 10), dtype=np.uint8)
    np.testing.assert_array_equal(back.probabilities(pics), m.probabilities(pics))
    assert np.allclose(m.probabilities(pics).sum(axis=1), 1)


def test_softmax_is_stable():
    p = softmax(np.array([[1000.0, 0.0], [-1000.0, -1000.0]]))
    assert p.tolist() == [[1.0, 0.0], [0.5, 0.5]]


def test_a_table_model_is_not_a_picture_model(tmp_path):
    path = tmp_path / "net.safetensors"
    ds.save(ds.nn.MLP([2, 3, 2], seed=0), path)
    with pytest.raises(ModelFileError, match="not a picture model"):
        ImageModel.load(path)


@pytest.mark.parametrize("change, message", [
    ({"classes": ["only"]}, "classes must be a list of 2"),
    ({"classes": ["a", "b", "c"]}, "outputs for 3 classes"),
    ({"size": [8, 8, 8]}, "size must be"),
    ({"size": [10**6, 8]}, "size must be"),
    ({"size": [2, 2]}, "cannot read"),
    ({"channels": 2}, "channels must be 1 or 3"),
    ({"channels": 3}, "cannot read"),
    ({"version": 99}, "format version 99"),
])
def test_what_does_not_fit_is_named(tmp_path, change, message):
    m = model()
    pre = {**m.preprocessing(), **change}
    path = tmp_path / "bad.safetensors"
    save(m.network, path, preprocessing=pre)
    with pytest.raises(ModelFileError, match=message):
        ImageModel.load(path)
