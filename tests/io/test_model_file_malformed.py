"""Every malformed, hostile or foreign file is refused with a ModelFileError that says why."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from descent.errors import ModelFileError
from descent.io import decode_model_file, encode_model_file, read_model_file

DATA = np.array([1.5, -2.0], dtype="<f4").tobytes()  # 8 bytes: the data area of VALID


def descent_meta(**changes: Any) -> dict[str, str]:
    payload: dict[str, Any] = {"format_version": 1, "kind": "model", "metadata": {"a": 1}}
    payload.update(changes)
    for key in [k for k, v in payload.items() if v is DROP]:
        del payload[key]
    return {"descent": json.dumps(payload)}


DROP = object()


def entry(dtype: Any = "F32", shape: Any = (2,), offsets: Any = (0, 8)) -> dict[str, Any]:
    return {"dtype": dtype, "shape": list(shape) if isinstance(shape, tuple) else shape,
            "data_offsets": list(offsets) if isinstance(offsets, tuple) else offsets}


def header(**tensors: Any) -> dict[str, Any]:
    return {"__metadata__": descent_meta(), **(tensors or {"w": entry()})}


def raw(head: dict[str, Any] | str | bytes, data: bytes = DATA, *,
        length: int | None = None) -> bytes:
    """A file from a header (dict -> JSON, or the exact text/bytes), data and length field."""
    if isinstance(head, dict):
        head = json.dumps(head)
    body = head.encode("utf-8") if isinstance(head, str) else head
    return (len(body) if length is None else length).to_bytes(8, "little") + body + data


VALID = raw(header())

# (id, file bytes, regex the ModelFileError message must match)
CASES: list[tuple[str, bytes, str]] = [
    # the length field
    ("empty file", b"", "too short"),
    ("seven bytes", VALID[:7], "too short"),
    ("length beyond file", raw(header(), length=len(VALID)), "truncated: the header length"),
    ("length just past header", raw(header(), b"", length=len(json.dumps(header())) + 1),
     "truncated"),
    ("length over limit", raw(header(), length=16 * 2**20 + 1), "over the limit of 16777216"),
    ("length 2**64-1", raw(header(), length=2**64 - 1), "over the limit"),
    ("length zero", raw(header(), length=0), "header is empty"),
    # the header text
    ("not utf-8", raw(b'{"w\xff": 1}'), "not UTF-8 text"),
    ("lone surrogate bytes", raw(b'{"\xed\xa0\x80": 1}'), "not UTF-8 text"),
    ("invalid json", raw('{"w": {"dtype": "F32",'), "header is not valid JSON"),
    ("json array", raw("[1, 2]"), "header is a JSON array, expected an object"),
    ("json string", raw('"text"'), "header is a JSON string"),
    ("duplicate key", raw('{"w": 1, "w": 2}'), "duplicate key 'w'"),
    ("nan in header", raw('{"w": NaN}'), "NaN is not allowed"),
    ("deep nesting", raw('{"a":' * 50_000 + "1" + "}" * 50_000), "nested too deeply"),
    ("5000-digit integer", raw('{"w": ' + "9" * 5000 + "}"), "not valid JSON: Exceeds"),
    # __metadata__ and the descent entry
    ("no __metadata__", raw({"w": entry()}), "without descent metadata"),
    ("no descent key", raw({"__metadata__": {"other": "x"}, "w": entry()}),
     "without descent metadata"),
    ("__metadata__ not object", raw({"__metadata__": ["x"], "w": entry()}),
     "__metadata__ is a JSON array"),
    ("__metadata__ value not str", raw({"__metadata__": {"descent": {"a": 1}}, "w": entry()}),
     r"__metadata__\['descent'\] is a JSON object; safetensors metadata values must be strings"),
    ("descent json invalid", raw({"__metadata__": {"descent": "{"}, "w": entry()}),
     "descent metadata is not valid JSON"),
    ("descent json not object", raw({"__metadata__": {"descent": "[]"}, "w": entry()}),
     "descent metadata is not a JSON object"),
    ("no format_version", raw({"__metadata__": descent_meta(format_version=DROP), "w": entry()}),
     "no valid format_version"),
    ("format_version string", raw({"__metadata__": descent_meta(format_version="1"),
                                   "w": entry()}), "no valid format_version"),
    ("format_version true", raw({"__metadata__": descent_meta(format_version=True),
                                 "w": entry()}), "no valid format_version"),
    ("format_version 0", raw({"__metadata__": descent_meta(format_version=0), "w": entry()}),
     "no valid format_version"),
    ("newer format_version", raw({"__metadata__": descent_meta(format_version=2, kind="x"),
                                  "w": entry()}),
     r"written by a newer descent \(file format version 2; this descent reads versions up "
     r"to 1\); upgrade descent"),
    ("unknown kind", raw({"__metadata__": descent_meta(kind="weights"), "w": entry()}),
     "kind 'weights', expected one of"),
    ("deeply nested kind", raw({"__metadata__": {"descent": '{"format_version": 1, "kind": '
                                  + "[" * 900 + "]" * 900 + "}"}, "w": entry()}),
     r"kind \[\[\[\[\.\.\.\]\]\]\], expected"),
    ("no kind", raw({"__metadata__": descent_meta(kind=DROP), "w": entry()}), "kind None"),
    ("no metadata", raw({"__metadata__": descent_meta(metadata=DROP), "w": entry()}),
     "no 'metadata' object"),
    ("metadata not object", raw({"__metadata__": descent_meta(metadata=[1]), "w": entry()}),
     "no 'metadata' object"),
    # tensor entries
    ("entry not object", raw(header(w=[1, 2])), "tensor 'w' is a JSON array"),
    ("entry missing key", raw(header(w={"dtype": "F32", "shape": [2]})),
     r"missing \['data_offsets'\]"),
    ("entry extra key", raw(header(w={**entry(), "extra": 1})), r"unexpected \['extra'\]"),
    ("empty name", raw(header(**{"": entry()})), "tensor name '' is empty"),
    ("lone surrogate name", raw(header(**{"\ud800": entry()})), "not valid UTF-8"),
    ("dtype BF16", raw(header(w=entry(dtype="BF16", shape=(4,)))),
     "dtype 'BF16', which descent does not read"),
    ("dtype F8", raw(header(w=entry(dtype="F8_E4M3", shape=(8,)))), "dtype 'F8_E4M3'"),
    ("dtype lowercase", raw(header(w=entry(dtype="f32"))), "dtype 'f32'"),
    ("dtype number", raw(header(w=entry(dtype=4))), "dtype 4"),
    ("shape not list", raw(header(w=entry(shape=2))), "shape 2; expected a list"),
    ("shape negative", raw(header(w=entry(shape=(-2,)))), "each dimension must be an integer"),
    ("shape float", raw(header(w=entry(shape=(2.0,)))), "each dimension must be an integer"),
    ("shape bool", raw(header(w=entry(shape=(True, 2)))), "each dimension must be an integer"),
    ("shape string", raw(header(w=entry(shape=("2",)))), "each dimension must be an integer"),
    ("shape 33 dims", raw(header(w=entry(shape=(1,) * 32 + (2,)))), "at most 32 integers"),
    ("shape huge dim", raw(header(w=entry(shape=(2**64, 0)))), "from 0 to 1099511627776"),
    ("shape huge but empty", raw(header(w=entry(shape=(0, 2**30, 2**30), offsets=(0, 0))),
                                 b""), "more than 1099511627776 elements"),
    ("offsets not list", raw(header(w=entry(offsets="0-8"))), "expected \\[begin, end\\]"),
    ("offsets three", raw(header(w=entry(offsets=(0, 4, 8)))), "expected \\[begin, end\\]"),
    ("offsets float", raw(header(w=entry(offsets=(0, 8.0)))), "expected \\[begin, end\\]"),
    ("offsets negative", raw(header(w=entry(offsets=(-8, 0)))), "need 0 <= begin <= end"),
    ("offsets reversed", raw(header(w=entry(offsets=(8, 0)))), "need 0 <= begin <= end"),
    ("offsets out of bounds", raw(header(w=entry(shape=(3,), offsets=(0, 12)))),
     r"past the end of the data area \(8 bytes\)"),
    ("offsets 2**64", raw(header(w=entry(offsets=(0, 2**64)))), "past the end"),
    ("bytes != shape x dtype", raw(header(w=entry(shape=(3,)))),
     r"has 8 data bytes but shape \[3\] of F32 needs 12"),
    ("bytes != dtype size", raw(header(w=entry(dtype="F64"))), "needs 16"),
    ("overlap", raw(header(a=entry(offsets=(0, 8)), b=entry(offsets=(4, 12))), DATA * 2),
     r"'a' \(bytes 0-8\) and 'b' \(bytes 4-12\) overlap"),
    ("same offsets twice", raw(header(a=entry(), b=entry())), "overlap"),
    ("gap", raw(header(w=entry(shape=(1,), offsets=(4, 8)))), "4 unused bytes before"),
    ("trailing bytes", raw(header(), DATA + b"\x00" * 3), "3 unexpected bytes after"),
    ("bool byte 2", raw(header(m=entry(dtype="BOOL", shape=(2,), offsets=(0, 2))),
                        b"\x01\x02"), "BOOL but holds bytes other than 0 and 1"),
    ("truncated data", VALID[:-1], "the file is truncated"),
]


def test_the_base_file_of_the_table_is_valid() -> None:
    tensors, meta = decode_model_file(VALID)
    assert tensors["w"].tolist() == [1.5, -2.0] and meta == {"a": 1}


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_bytes(data: bytes, message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        decode_model_file(data)


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_file(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match=message) as info:
        read_model_file(path)
    assert str(path) in str(info.value)


def test_wrong_kind() -> None:
    blob = raw({"__metadata__": descent_meta(kind="checkpoint"), "w": entry()})
    assert decode_model_file(blob, kind="checkpoint")[1] == {"a": 1}
    with pytest.raises(ModelFileError, match="expected a model file, but this is a checkpoint"):
        decode_model_file(blob, kind="model")


def test_smaller_header_limit_is_honoured() -> None:
    with pytest.raises(ModelFileError, match="over the limit of 64 bytes"):
        decode_model_file(VALID, max_header_bytes=64)


def test_a_bigger_limit_reads_a_bigger_header() -> None:
    meta = {"big": "x" * (2 * 2**20)}
    blob = encode_model_file({}, meta)
    with pytest.raises(ModelFileError, match="over the limit"):
        decode_model_file(blob, max_header_bytes=2**20)
    assert decode_model_file(blob, max_header_bytes=4 * 2**20)[1] == meta


def test_truncation_at_every_length_is_refused(tmp_path: Path) -> None:
    blob = encode_model_file({"w": np.arange(6.0).reshape(2, 3), "b": np.ones(3, np.float32)},
                             {"n": "ü"})
    path = tmp_path / "cut.safetensors"
    for cut in range(len(blob)):
        with pytest.raises(ModelFileError):
            decode_model_file(blob[:cut])
        if cut % 17 == 0:  # the file path too, on a sample of lengths
            path.write_bytes(blob[:cut])
            with pytest.raises(ModelFileError):
                read_model_file(path)


# ---- foreign formats, and proof that no pickle ever runs -----------------------------------


class Payload:
    """Unpickling this creates the marker file: evidence that something unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _foreign_files(marker: Path) -> dict[str, bytes]:
    payload = {f"pickle-p{p}": pickle.dumps(Payload(marker), protocol=p) for p in (2, 3, 4, 5)}
    zipped = _zip_with("archive/data.pkl", pickle.dumps(Payload(marker), protocol=2))
    npy = _npy_bytes()
    return {**payload, "zip": zipped, "npy": npy}


def _zip_with(name: str, content: bytes) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def _npy_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.arange(3.0))
    return buffer.getvalue()


def test_the_payload_really_would_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))  # our own payload, on purpose
    assert marker.exists()


@pytest.mark.parametrize("suffix", [".safetensors", ".pkl", ".npz", ".pt", ".npy"])
def test_pickle_zip_and_npy_are_refused_without_running_anything(
    tmp_path: Path, suffix: str
) -> None:
    marker = tmp_path / "ran"
    for kind, blob in _foreign_files(marker).items():
        path = tmp_path / f"{kind}{suffix}"
        path.write_bytes(blob)
        with pytest.raises(ModelFileError, match="descent never unpickles") as info:
            read_model_file(path)
        assert str(path) in str(info.value)
        expected = {"zip": "zip archive", "npy": "npy"}.get(kind, "pickle")
        assert expected in str(info.value), kind
    assert not marker.exists()


def test_real_torch_and_numpy_files_are_refused(tmp_path: Path) -> None:
    import torch

    marker = tmp_path / "ran"
    torch.save({"w": torch.ones(2), "payload": Payload(marker)}, tmp_path / "m.pt")
    np.savez(tmp_path / "m.npz", w=np.ones(2))
    np.save(tmp_path / "m.npy", np.ones(2))
    for name in ("m.pt", "m.npz", "m.npy"):
        with pytest.raises(ModelFileError, match="not a descent model file"):
            read_model_file(tmp_path / name)
    assert not marker.exists()


def test_protocol_0_pickle_is_refused_too(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps(Payload(marker), protocol=0))
    with pytest.raises(ModelFileError):
        read_model_file(path)
    assert not marker.exists()
