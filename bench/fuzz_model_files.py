"""Fuzz descent's model-file reader: every input must load or raise ModelFileError.

    python bench/fuzz_model_files.py [N] [--seed S]     (N defaults to 100000)

Starts from a few valid files and mutates them: bit flips, byte insertions and deletions,
truncation, a rewritten header-length field, structural edits of the header JSON (dtypes,
huge or negative numbers in shapes and offsets, overlapping offsets, broken metadata,
newer format versions, deep nesting), and foreign magic bytes (pickle, zip, npy).
Prints how many inputs loaded, how many were refused with ModelFileError, and how many
raised anything else (with the first few tracebacks); exits 1 if any did.

The mutation engine (`seed_files`, `mutate`) is shared with tests/io/test_fuzz.py, which
drives it from hypothesis.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:
    import descent  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from descent.errors import ModelFileError
from descent.io import decode_model_file, encode_model_file

Mutator = Callable[[bytes, random.Random], bytes]

HUGE_NUMBERS: list[Any] = [
    -1, 2**31, 2**32 + 1, 2**40 + 1, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
    10**30, 10**400, -(2**63), 1e308, 1.5, float("nan"), "7", True, None, [], {},
]
BAD_DTYPES: list[Any] = ["BF16", "F8_E4M3", "C64", "", "f32", "float32", "F32 ", 5, None, []]
FOREIGN_PREFIXES = [b"\x80\x02", b"\x80\x04\x95", b"PK\x03\x04", b"PK\x05\x06",
                    b"\x93NUMPY\x01\x00"]


def seed_files() -> list[bytes]:
    """A handful of valid model files covering every dtype, 0-d and empty tensors."""
    rng = np.random.default_rng(0)
    mixed = {
        "bool": np.array([True, False, True]),
        "u8": np.arange(5, dtype=np.uint8),
        "i8": np.array([-3, 4], dtype=np.int8),
        "u16": np.arange(3, dtype=np.uint16),
        "i16": np.array([-300], dtype=np.int16),
        "u32": np.array([7], dtype=np.uint32),
        "i32": np.arange(4, dtype=np.int32).reshape(2, 2),
        "u64": np.array([2**63], dtype=np.uint64),
        "i64": np.array([-(2**40)], dtype=np.int64),
        "f16": np.array([0.5, -2.0], dtype=np.float16),
        "f32": rng.standard_normal((3, 2)).astype(np.float32),
        "f64": np.array(3.25),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    meta = {"spec": {"layers": [{"type": "dense", "units": 3}]}, "name": "ünïcode ✓"}
    return [
        encode_model_file(mixed, meta),
        encode_model_file({"W": rng.standard_normal((4, 3)), "b": np.zeros(3)}, {"epoch": 2},
                          kind="checkpoint"),
        encode_model_file({}, {}),
        encode_model_file({"x": np.array(1.0, dtype=np.float32)}, {"a": [1, 2.5, None, True]}),
    ]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Apply one to four random mutations to `data`; deterministic given `rng`'s state."""
    # Mostly one mutation, so that single faults reach the deeper checks unmasked.
    for _ in range(rng.choices([1, 2, 3, 4], weights=[6, 2, 1, 1])[0]):
        data = rng.choice(MUTATORS)(data, rng)
    return data


def _split(data: bytes) -> tuple[int, bytes, bytes] | None:
    if len(data) < 8:
        return None
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        return None
    return n, data[8:8 + n], data[8 + n:]


def _position(data: bytes, rng: random.Random) -> int:
    # Most damage worth finding is in the first few hundred bytes: length field and header.
    split = _split(data)
    limit = 8 + split[0] if split and rng.random() < 0.7 else len(data)
    return rng.randint(0, max(limit, 1) - 1) if data else 0


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[_position(data, rng)] ^= 1 << rng.randrange(8)
    return bytes(out)


def insert_bytes(data: bytes, rng: random.Random) -> bytes:
    pos = _position(data, rng)
    junk = rng.choice([
        bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))),
        b"{", b"}", b'"', b",", b"[", b"]", b"\\", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00",
    ])
    return data[:pos] + junk + data[pos:]


def delete_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    pos = _position(data, rng)
    return data[:pos] + data[pos + rng.randint(1, 32):]


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randint(0, len(data))]


def append_bytes(data: bytes, rng: random.Random) -> bytes:
    return data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


def rewrite_length(data: bytes, rng: random.Random) -> bytes:
    split = _split(data)
    n = split[0] if split else len(data)
    value = rng.choice([0, 1, 2, n - 1, n + 1, n + 8, len(data), len(data) - 8, 2**24 + 1,
                        2**31, 2**63, 2**64 - 1, rng.getrandbits(64)])
    return (value % 2**64).to_bytes(8, "little") + data[8:]


def foreign_prefix(data: bytes, rng: random.Random) -> bytes:
    prefix = rng.choice(FOREIGN_PREFIXES)
    return prefix + data[len(prefix):] if rng.random() < 0.5 else prefix + data


def edit_header(data: bytes, rng: random.Random) -> bytes:
    """Decode the header JSON, change its structure, and write it back."""
    split = _split(data)
    if split is None:
        return data
    n, raw, rest = split
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        return data
    if not isinstance(header, dict):
        return data
    try:
        # Edits assume a sane header; one damaged by an earlier mutation may trip them up.
        rng.choice(HEADER_EDITS)(header, rng)
    except (TypeError, ValueError, KeyError, AttributeError):
        return data
    try:
        text = _dump(header, rng)
    except (ValueError, RecursionError):
        return data
    if rng.random() < 0.1:
        text = _textual_edit(text, rng)
    body = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.5:
        body += b" " * (-len(body) % 8)  # the writer's alignment padding
    length = len(body) if rng.random() < 0.9 else n
    return length.to_bytes(8, "little") + body + rest


def _dump(header: dict[str, Any], rng: random.Random) -> str:
    return json.dumps(header, ensure_ascii=rng.random() < 0.5, allow_nan=True)


def _textual_edit(text: str, rng: random.Random) -> str:
    choice = rng.randrange(5)
    if choice == 0:  # a duplicate key
        return text[:-1] + ', "dup": 1, "dup": 2}' if text.endswith("}") else text
    if choice == 1:
        return '{"a":' * 100_000 + "1" + "}" * 100_000
    if choice == 2:
        return text.replace("0", "1" * 5000, 1)  # an integer too long to convert
    if choice == 3:
        return text.replace("[", "[NaN, ", 1)
    return text.replace('"', "'", 1)


def _tensor_names(header: dict[str, Any]) -> list[str]:
    return [k for k in header if k != "__metadata__"]


def _pick_entry(header: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    names = [k for k in _tensor_names(header) if isinstance(header[k], dict)]
    return header[rng.choice(names)] if names else None


def edit_dtype(header: dict[str, Any], rng: random.Random) -> None:
    entry = _pick_entry(header, rng)
    if entry is not None:
        valid = ["BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F16", "F32", "F64"]
        entry["dtype"] = rng.choice(valid + BAD_DTYPES)


def edit_shape(header: dict[str, Any], rng: random.Random) -> None:
    entry = _pick_entry(header, rng)
    if entry is None:
        return
    shape = entry.get("shape")
    options: list[Any] = [
        [], [rng.choice(HUGE_NUMBERS)], [0, 2**62], [2**62, 0], [0, 2**40 + 1],
        [2**32, 2**32], [1] * rng.choice([33, 64, 100]), "3", 3, None, [[2]],
    ]
    if isinstance(shape, list) and shape:
        bumped = list(shape)
        i = rng.randrange(len(bumped))
        bumped[i] = rng.choice([bumped[i], 0]) if not isinstance(bumped[i], int) else (
            bumped[i] + rng.choice([-1, 1, 2**64]))
        options += [bumped, shape[::-1], [*shape, 1], shape[:-1]]
    entry["shape"] = rng.choice(options)


def edit_offsets(header: dict[str, Any], rng: random.Random) -> None:
    entry = _pick_entry(header, rng)
    if entry is None:
        return
    offsets = entry.get("data_offsets")
    b, e = offsets if isinstance(offsets, list) and len(offsets) == 2 else (0, 0)
    if type(b) is not int or type(e) is not int:  # an earlier edit made them odd
        b, e = 0, 0
    others = [header[k]["data_offsets"] for k in _tensor_names(header)
              if isinstance(header[k], dict) and "data_offsets" in header[k]]
    options: list[Any] = [
        [e, b], [b, e + 1], [b - 1, e], [b + 1, e + 1], [b, e - 1], [-1, e], [0, 2**64],
        [b, rng.choice(HUGE_NUMBERS)], [rng.choice(HUGE_NUMBERS), e], [b], [b, e, 0], "x",
        [1.5, 2], None, rng.choice(others) if others else [0, 0],
    ]
    entry["data_offsets"] = rng.choice(options)


def edit_entry_keys(header: dict[str, Any], rng: random.Random) -> None:
    names = _tensor_names(header)
    if not names:
        return
    name = rng.choice(names)
    entry = header[name]
    choice = rng.randrange(4)
    if choice == 0 and isinstance(entry, dict) and entry:
        del entry[rng.choice(list(entry))]
    elif choice == 1 and isinstance(entry, dict):
        entry[rng.choice(["extra", "dtype ", "offsets"])] = rng.choice(HUGE_NUMBERS)
    elif choice == 2:
        header[name] = rng.choice([1, "s", [], None, True, {}])
    else:
        header[rng.choice(["", "\ud800", "__metadata__ ", "new"])] = header.pop(name)


def add_entry(header: dict[str, Any], rng: random.Random) -> None:
    header[f"extra{rng.randrange(10)}"] = {
        "dtype": rng.choice(["F32", "U8", "BOOL", "BF16"]),
        "shape": rng.choice([[0], [1], [2, 2], [rng.choice(HUGE_NUMBERS)]]),
        "data_offsets": rng.choice([[0, 0], [0, 4], [0, 1], [4, 8], [0, 2**63]]),
    }


def edit_metadata(header: dict[str, Any], rng: random.Random) -> None:
    choice = rng.randrange(5)
    if choice == 0:
        header.pop("__metadata__", None)
    elif choice == 1:
        header["__metadata__"] = rng.choice([None, [], "x", 1, {"descent": 1}, {"other": "x"}])
    elif choice == 2:
        meta = header.get("__metadata__")
        if isinstance(meta, dict):
            meta[rng.choice(["descent", "other"])] = rng.choice(
                [None, 1, [], "{", "[" * 100_000, "1" * 5000, "NaN", "[]", '{"a":1}'])
    else:
        meta = header.get("__metadata__")
        text = meta.get("descent") if isinstance(meta, dict) else None
        try:
            payload = json.loads(text) if isinstance(text, str) else None
        except (ValueError, RecursionError):  # an earlier mutation left it broken
            payload = None
        if not isinstance(payload, dict):
            return
        key = rng.choice(["format_version", "kind", "metadata"])
        if rng.random() < 0.2:
            payload.pop(key, None)
        else:
            payload[key] = rng.choice({
                "format_version": [0, 1, 2, 99, -1, "1", 1.0, True, None, 2**70],
                "kind": ["model", "checkpoint", "weights", None, 3, ""],
                "metadata": [None, [], "x", {}, {"nan": float("nan")}, {"deep": [[[[1]]]]}],
            }[key])
        meta["descent"] = json.dumps(payload, allow_nan=True)


def replace_header(header: dict[str, Any], rng: random.Random) -> None:
    header.clear()
    header.update(rng.choice([{}, {"__metadata__": {}}, {"a": None}]))


HEADER_EDITS = [edit_dtype, edit_shape, edit_offsets, edit_entry_keys, add_entry,
                edit_metadata, edit_metadata, replace_header]
MUTATORS: list[Mutator] = [flip_bits, insert_bytes, delete_bytes, truncate, append_bytes,
                           rewrite_length, foreign_prefix, edit_header, edit_header,
                           edit_header]


def check_one(data: bytes) -> bool:
    """Decode `data`; True if it loaded, False if refused with ModelFileError.

    Anything else propagates. A successful load must return sane arrays and metadata.
    """
    try:
        tensors, metadata = decode_model_file(data)
    except ModelFileError:
        return False
    assert isinstance(metadata, dict)
    for array in tensors.values():
        assert isinstance(array, np.ndarray) and array.flags.writeable
    return True


def run(count: int, seed: int, show: int = 3) -> dict[str, int]:
    """Fuzz `count` inputs; return the counts and print the first `show` tracebacks."""
    rng = random.Random(seed)
    seeds = seed_files()
    counts = {"total": 0, "loaded": 0, "refused": 0, "unexpected": 0}
    for _ in range(count):
        data = mutate(rng.choice(seeds), rng)
        counts["total"] += 1
        try:
            counts["loaded" if check_one(data) else "refused"] += 1
        except Exception:  # counting them is the point
            counts["unexpected"] += 1
            if counts["unexpected"] <= show:
                print(f"--- unexpected exception on a {len(data)}-byte input "
                      f"(first 120 bytes: {data[:120]!r})")
                traceback.print_exc(file=sys.stdout)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="inputs to try")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts = run(args.n, args.seed)
    elapsed = time.perf_counter() - start
    print(f"total {counts['total']}  loaded OK {counts['loaded']}  "
          f"ModelFileError {counts['refused']}  unexpected {counts['unexpected']}  "
          f"({elapsed:.1f} s, {counts['total'] / max(elapsed, 1e-9):.0f} inputs/s, "
          f"seed {args.seed})")
    return 1 if counts["unexpected"] else 0


if __name__ == "__main__":
    sys.exit(main())
