"""ds.save / ds.load: weights + architecture + preprocessing in one safe file."""

import json
import struct

import numpy as np
import pytest

import descent as ds
from descent.errors import ModelFileError
from descent.io import read_model_file, write_model_file
from descent.io.models import load_model


def _predict(net, X):
    return ds.train.predict_array(net, X)


@pytest.mark.parametrize("net", [
    ds.nn.MLP([3, 5, 2], activation="relu", seed=0),
    ds.nn.MLP([3, 4, 1], activation="scaled_tanh", output_activation="sigmoid", seed=1,
              dtype=np.float64),
    ds.nn.Sequential(ds.nn.Linear(3, 4, seed=0), ds.nn.Tanh(), ds.nn.Linear(4, 2, bias=False)),
])
def test_round_trip_predicts_identically(tmp_path, net):
    path = tmp_path / "net.safetensors"
    ds.save(net, path, preprocessing={"scale": [1.5, 2.0]}, extra={"note": "ünïcode"})
    saved = load_model(path)
    X = np.random.default_rng(0).standard_normal((7, 3))
    assert np.array_equal(_predict(net, X), _predict(saved.model, X))
    assert saved.preprocessing == {"scale": [1.5, 2.0]} and saved.extra == {"note": "ünïcode"}
    assert saved.model.config() == net.config()


def test_load_of_a_checkpoint_gives_its_model(tmp_path):
    net = ds.nn.MLP([2, 3, 1], seed=0)
    path = tmp_path / "ckpt.safetensors"
    ds.fit(net, np.zeros((4, 2)), np.zeros(4), epochs=1, verbose=False,
           callbacks=[ds.train.ModelCheckpoint(path)])
    loaded = ds.load(path)
    for name, value in net.state_dict().items():
        assert np.array_equal(value, loaded.state_dict()[name])


def _rewrite(path, tensors=None, metadata=None):
    t, m = read_model_file(path)
    write_model_file(path, tensors if tensors is not None else t,
                     metadata if metadata is not None else m)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.safetensors"
    ds.save(ds.nn.MLP([2, 3, 1], seed=0), path)
    return path


def test_architecture_that_does_not_match_tensors(saved):
    t, m = read_model_file(saved)
    m["architecture"]["sizes"] = [2, 4, 1]
    _rewrite(saved, metadata=m)
    with pytest.raises(ModelFileError, match=r"does not match the tensors.*wrong shape"):
        ds.load(saved)


def test_missing_and_extra_tensors(saved):
    t, _ = read_model_file(saved)
    t["9.weight"] = t.pop("2.weight")
    _rewrite(saved, tensors=t)
    with pytest.raises(ModelFileError, match=r"missing \['2.weight'\], unexpected \['9.weight'\]"):
        ds.load(saved)


@pytest.mark.parametrize("arch,message", [
    ({"type": "Transformer"}, "unknown layer type 'Transformer'"),
    ({"type": "MLP", "sizes": [2, 10**12, 1], "activation": "tanh",
      "output_activation": None}, "does not match"),
    ({"type": "MLP", "sizes": [2, 3, 1], "activation": "__import__", "output_activation": None},
     "unknown activation"),
    ("MLP", "must be an object"),
    (None, "no architecture"),
])
def test_hostile_architectures_are_refused_before_building(saved, arch, message):
    _, m = read_model_file(saved)
    m["architecture"] = arch
    _rewrite(saved, metadata=m)
    with pytest.raises(ModelFileError, match=message):
        ds.load(saved)


def test_deeply_nested_architecture(saved):
    arch = {"type": "Activation", "name": "tanh"}
    for _ in range(100):  # deeper than any real model
        arch = {"type": "Sequential", "layers": [arch]}
    _, m = read_model_file(saved)
    m["architecture"] = arch
    _rewrite(saved, metadata=m)
    with pytest.raises(ModelFileError, match="nested more than 32 deep"):
        ds.load(saved)


def test_integer_weights_are_refused(saved):
    t, _ = read_model_file(saved)
    t["0.bias"] = np.zeros(3, np.int32)
    _rewrite(saved, tensors=t)
    with pytest.raises(ModelFileError, match="must be float32 or float64"):
        ds.load(saved)


def test_raw_header_edit_is_caught(saved):
    raw = bytearray(saved.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header["0.weight"]["shape"] = [3, 2]  # same byte count, transposed shape
    text = json.dumps(header).encode().ljust(n)
    if len(text) == n:
        raw[8:8 + n] = text
        saved.write_bytes(bytes(raw))
        with pytest.raises(ModelFileError):
            ds.load(saved)
