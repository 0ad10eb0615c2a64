"""Model files: what goes in comes out, and bad arguments are refused before writing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

from descent.errors import ModelFileError
from descent.io import (
    DTYPES,
    FORMAT_VERSION,
    decode_model_file,
    encode_model_file,
    read_model_file,
    read_model_info,
    write_model_file,
)

ALL_DTYPES = [np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32,
              np.uint64, np.int64, np.float16, np.float32, np.float64]


def _sample(dtype, shape, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return rng.standard_normal(shape).astype(dtype)


def _assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert list(got) == list(want) or sorted(got) == sorted(want)
    for name, array in want.items():
        assert got[name].dtype == array.dtype, name
        assert got[name].shape == array.shape, name
        np.testing.assert_array_equal(got[name], array, err_msg=name)


def test_every_dtype_and_shape_round_trips(tmp_path: Path) -> None:
    tensors = {}
    for i, dtype in enumerate(ALL_DTYPES):
        name = np.dtype(dtype).name
        tensors[f"{name}/matrix"] = _sample(dtype, (3, 4), seed=i)
        tensors[f"{name}/scalar"] = _sample(dtype, (), seed=i)
        tensors[f"{name}/empty"] = np.zeros((0,), dtype)
        tensors[f"{name}/empty3d"] = np.zeros((2, 0, 3), dtype)
    path = tmp_path / "all.safetensors"
    write_model_file(path, tensors, {})
    got, meta = read_model_file(path)
    _assert_same(got, tensors)
    assert meta == {}
    assert len(DTYPES) == len(ALL_DTYPES)


def test_float_specials_and_extremes_survive_bit_exactly() -> None:
    values = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(np.float64).max])
    got, _ = decode_model_file(encode_model_file({"x": values}, {}))
    assert got["x"].tobytes() == values.tobytes()


def test_loaded_arrays_are_fresh_writable_aligned_native() -> None:
    blob = encode_model_file({"a": np.arange(3, dtype=np.uint8), "b": np.ones(5)}, {})
    got, _ = decode_model_file(blob)
    for array in got.values():
        assert array.flags.writeable and array.flags.aligned and array.flags.c_contiguous
        assert array.dtype.isnative
    got["b"][0] = 42.0  # must not touch anything shared
    assert decode_model_file(blob)[0]["b"][0] == 1.0


def test_strided_big_endian_and_fortran_inputs_are_saved_by_value() -> None:
    # safetensors.numpy.save copies raw memory from the data pointer, so a strided view
    # would otherwise be saved as the wrong numbers.
    base = np.arange(24.0).reshape(4, 6)
    tensors = {
        "strided": base[:, ::2],
        "big_endian": np.arange(5, dtype=">i4"),
        "fortran": np.asfortranarray(base),
        "transposed": base.T,
    }
    got, _ = decode_model_file(encode_model_file(tensors, {}))
    for name, array in tensors.items():
        np.testing.assert_array_equal(got[name], array, err_msg=name)
    assert got["big_endian"].dtype == np.dtype("int32")


def test_metadata_round_trips_unicode_nesting_and_specials() -> None:
    meta = {
        "name": "réseau ✓ 网络 🧠",
        "spec": {"layers": [{"type": "dense", "units": 3, "activation": "tanh"}]},
        "scaler": {"mean": [1.5, -2.25], "scale": [0.5, 4.0]},
        "rng": {"bit_generator": "PCG64", "state": {"state": 2**127 + 12345, "inc": 7}},
        "best_loss": math.inf, "flags": [True, False, None], "empty": {},
        "lone surrogate \ud800": "survives as an escape",
    }
    _, got = decode_model_file(encode_model_file({}, meta))
    assert got == meta
    _, got = decode_model_file(encode_model_file({}, {"nan": math.nan}))
    assert math.isnan(got["nan"])


def test_numpy_scalars_become_python_numbers_and_tuples_lists() -> None:
    meta = {"epoch": np.int64(3), "lr": np.float32(0.5), "ok": np.bool_(True), "t": (1, 2)}
    _, got = decode_model_file(encode_model_file({}, meta))
    assert got == {"epoch": 3, "lr": 0.5, "ok": True, "t": [1, 2]}
    assert type(got["epoch"]) is int and type(got["ok"]) is bool


@pytest.mark.parametrize("kind", ["model", "checkpoint"])
def test_kind_round_trips_and_can_be_required(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.safetensors"
    write_model_file(path, {"w": np.ones(2)}, {"epoch": 1}, kind=kind)
    assert read_model_file(path, kind=kind)[1] == {"epoch": 1}
    assert read_model_info(path).kind == kind
    other = "model" if kind == "checkpoint" else "checkpoint"
    with pytest.raises(ModelFileError, match=f"expected a {other} file, but this is a {kind}"):
        read_model_file(path, kind=other)


def test_read_model_info_reads_the_header_only(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    write_model_file(path, {"W": np.zeros((3, 2), np.float32), "n": np.int64(4)}, {"a": 1})
    info = read_model_info(path)
    assert info.format_version == FORMAT_VERSION and info.metadata == {"a": 1}
    assert info.tensors == {"W": ("F32", (3, 2)), "n": ("I64", ())}
    # Damage every data byte: the header alone still reads; a full load still works too,
    # because the values are not checked (only BOOL bytes are).
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert read_model_info(path).tensors == info.tensors


def test_file_is_a_real_safetensors_file_readable_by_the_library(tmp_path: Path) -> None:
    tensors = {"W": _sample(np.float32, (4, 3)), "mask": _sample(np.bool_, (5,))}
    blob = encode_model_file(tensors, {"x": 1})
    _assert_same(safetensors.numpy.load(blob), tensors)
    header = json.loads(blob[8:8 + int.from_bytes(blob[:8], "little")])
    payload = json.loads(header["__metadata__"]["descent"])
    assert payload == {"format_version": 1, "kind": "model", "metadata": {"x": 1}}


def test_a_file_made_by_safetensors_with_descent_metadata_loads() -> None:
    payload = json.dumps({"format_version": 1, "kind": "model", "metadata": {"k": "v"}})
    blob = safetensors.numpy.save({"z": np.arange(4.0)}, metadata={"descent": payload})
    tensors, meta = decode_model_file(blob)
    np.testing.assert_array_equal(tensors["z"], np.arange(4.0))
    assert meta == {"k": "v"}


def test_overwriting_replaces_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    write_model_file(path, {"w": np.zeros(3)}, {"v": 1})
    write_model_file(path, {"w": np.ones(2)}, {"v": 2})
    tensors, meta = read_model_file(path)
    assert meta == {"v": 2} and tensors["w"].tolist() == [1.0, 1.0]


BAD_TENSORS = [
    ({"c": np.ones(2, np.complex128)}, ValueError, "complex128, which a model file cannot"),
    ({"o": np.array([object()])}, ValueError, "dtype object"),
    ({"s": np.array(["text"])}, ValueError, "dtype <U4"),
    ({"l": [1.0, 2.0]}, TypeError, "is a list, expected a NumPy array"),
    ({"": np.ones(1)}, ValueError, "non-empty strings"),
    ({"__metadata__": np.ones(1)}, ValueError, "other than '__metadata__'"),
    ({3: np.ones(1)}, ValueError, "got 3"),
    ({"\ud800": np.ones(1)}, ValueError, "non-empty strings"),
]


@pytest.mark.parametrize(("tensors", "error", "message"), BAD_TENSORS)
def test_bad_tensors_are_refused_and_nothing_is_written(
    tmp_path: Path, tensors, error, message: str
) -> None:
    path = tmp_path / "m.safetensors"
    with pytest.raises(error, match=message):
        write_model_file(path, tensors, {})
    assert list(tmp_path.iterdir()) == []


BAD_METADATA = [
    ({"s": {1, 2}}, "metadata\\['s'\\] is a set, which is not JSON-safe"),
    ({"deep": {"x": [1, object()]}}, r"metadata\['deep'\]\['x'\]\[1\] is a object"),
    ({1: "a"}, "has key 1: JSON object keys must be strings"),
    ({"a": np.ones(2)}, "is a ndarray, which is not JSON-safe"),
    ({"c": 1j}, "is a complex"),
]


@pytest.mark.parametrize(("metadata", "message"), BAD_METADATA)
def test_metadata_that_is_not_json_safe_is_refused(metadata, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        encode_model_file({}, metadata)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        encode_model_file({}, {}, kind="weights")
    with pytest.raises(TypeError, match="tensors must be a dict"):
        encode_model_file([("a", np.ones(1))], {})
    with pytest.raises(TypeError, match="metadata is a list"):
        encode_model_file({}, [1])
    with pytest.raises(ValueError, match="max_header_bytes must be an integer"):
        decode_model_file(encode_model_file({}, {}), max_header_bytes=0)
    with pytest.raises(ValueError, match="kind must be None or one of"):
        decode_model_file(encode_model_file({}, {}), kind="weights")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.safetensors"
    with pytest.raises(ModelFileError, match="no model file at .*nowhere.safetensors"):
        read_model_file(path)
    with pytest.raises(ModelFileError, match="nowhere.safetensors"):
        read_model_info(path)


def test_a_folder_is_not_a_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="is a folder, not a model file"):
        read_model_file(tmp_path)


def test_errors_name_the_path_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ModelFileError, match=r"broken\.safetensors: file is truncated"):
        read_model_file(path)


def test_a_file_that_shrinks_while_being_read(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from descent.io import model_file

    path = tmp_path / "m.safetensors"
    write_model_file(path, {"w": np.ones(1000)}, {})
    real_parse = model_file.parse_header

    def parse_then_truncate(*args, **kwargs):
        header = real_parse(*args, **kwargs)
        with open(path, "r+b") as f:  # another process cuts the file after the header check
            f.truncate(path.stat().st_size - 100)
        return header

    monkeypatch.setattr(model_file, "parse_header", parse_then_truncate)
    with pytest.raises(ModelFileError, match="truncated inside tensor 'w'"):
        read_model_file(path)


def test_a_huge_file_that_is_not_a_model_is_refused_without_reading_it(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as f:
        f.write((40).to_bytes(8, "little") + b'{"w": "not a tensor entry at all", "x":}')
        f.truncate(2**30)  # sparse: 1 GiB that costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="header is not valid JSON"):
            read_model_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20
