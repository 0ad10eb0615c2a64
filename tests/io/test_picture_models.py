"""Model files for picture networks: convolutions, pooling, dropout and BatchNorm with its
running statistics survive ds.save / ds.load, and hostile architectures are refused by name
before anything is allocated."""

from __future__ import annotations

import numpy as np
import pytest

import descent as ds
from descent.errors import ModelFileError
from descent.io import read_model_file, write_model_file


def _trained_convnet() -> ds.nn.ConvNet:
    net = ds.nn.ConvNet((1, 8, 8), 3, channels=(4, 6), kernel_size=3, hidden=(12,),
                        batch_norm=True, dropout=0.2, seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 40)
    ds.fit(net, X, y, loss="cross_entropy", epochs=2, batch_size=8, seed=0, verbose=False)
    return net


def test_convnet_round_trip_keeps_weights_running_statistics_and_predictions(tmp_path):
    net = _trained_convnet()
    assert not np.allclose(net[1].running_var, 1.0)  # training moved the statistics
    path = tmp_path / "pictures.safetensors"
    ds.save(net, path, preprocessing={"classes": ["cat", "dog", "fox"]})
    loaded = ds.load(path)
    assert loaded.config() == net.config() and not loaded.training
    for name, value in net.state_dict().items():
        assert np.array_equal(loaded.state_dict()[name], value), name
    X = np.random.default_rng(1).standard_normal((5, 1, 8, 8)).astype(np.float32)
    assert np.array_equal(ds.train.predict_array(loaded, X), ds.train.predict_array(net, X))


def test_a_sequential_of_every_picture_layer_round_trips(tmp_path):
    nn = ds.nn
    net = nn.Sequential(nn.Conv1d(2, 3, 3, padding="same", seed=0), nn.BatchNorm1d(3),
                        nn.ReLU(), nn.MaxPool1d(2), nn.AvgPool1d(2, stride=1), nn.Dropout(0.1),
                        nn.GlobalAvgPool(), nn.Linear(3, 1, seed=0))
    path = tmp_path / "signal.safetensors"
    ds.save(net, path)
    X = np.random.default_rng(0).standard_normal((4, 2, 16)).astype(np.float32)
    assert np.array_equal(ds.train.predict_array(ds.load(path), X),
                          ds.train.predict_array(net, X))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.safetensors"
    ds.save(ds.nn.ConvNet((1, 8, 8), 2, channels=(2,), hidden=(), batch_norm=True, seed=0),
            path)
    return path


def _rewrite(path, tensors=None, metadata=None):
    t, m = read_model_file(path)
    write_model_file(path, tensors if tensors is not None else t,
                     metadata if metadata is not None else m)


def test_missing_running_statistics_are_named(saved):
    t, _ = read_model_file(saved)
    del t["1.running_var"]
    _rewrite(saved, tensors=t)
    with pytest.raises(ModelFileError, match=r"missing \['1.running_var'\]"):
        ds.load(saved)


def test_running_statistics_of_the_wrong_dtype_are_refused(saved):
    t, _ = read_model_file(saved)
    t["1.running_mean"] = t["1.running_mean"].astype(np.float64)
    _rewrite(saved, tensors=t)
    with pytest.raises(ModelFileError, match="1.running_mean is float64 but the architecture"):
        ds.load(saved)


@pytest.mark.parametrize("change,message", [
    ({"channels": [2 * 10**6]}, "channel count 2000000 is larger than 65536"),
    ({"kernel_size": 10**7}, "kernel_size 10000000 is larger than 1024"),
    ({"input_shape": [1, 10**8, 10**8]}, "is too large"),
    ({"classes": 0}, "ConvNet classes must be a positive integer"),
    ({"dropout": "lots"}, "ConvNet dropout must be in"),
    ({"type": "Conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": [5, 5],
      "padding": [10**9, 0]}, "Conv2d padding .* is larger than 1024"),
    ({"type": "MaxPool2d", "kernel_size": 10**9}, "MaxPool2d kernel_size .* larger than 1024"),
])
def test_hostile_picture_architectures_are_refused_before_building(saved, change, message):
    _, m = read_model_file(saved)
    m["architecture"] = {**m["architecture"], **change} if "type" not in change else change
    _rewrite(saved, metadata=m)
    with pytest.raises(ModelFileError, match="bad architecture: .*" + message):
        ds.load(saved)
