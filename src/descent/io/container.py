"""Check a safetensors container before anything trusts it.

A safetensors file is: 8 bytes (little-endian unsigned header length N), N bytes of UTF-8
JSON (the header), then the data area. The header maps each tensor name to
``{"dtype": ..., "shape": [...], "data_offsets": [begin, end]}`` (offsets relative to the
data area) and may hold ``"__metadata__"``, a map of strings to strings.

Every rule below is checked here, in plain Python, so that a hostile or damaged file is
refused with a `ModelFileError` that says what is wrong, and no parser ever sees it:

- the header length fits in the file and is at most `max_header_bytes` (16 MiB default);
- the header is UTF-8, a JSON object, with no duplicate keys and no NaN/Infinity;
- each tensor's dtype is one of `DTYPES` (no BF16 or float8: NumPy has no such types);
- each shape is a list of at most `MAX_NDIM` integers in [0, `MAX_ELEMENTS`], and the
  product of its non-zero dimensions is at most `MAX_ELEMENTS`;
- each ``data_offsets`` is two integers with 0 <= begin <= end <= data size, and
  end - begin == prod(shape) * itemsize;
- the non-empty tensors tile the data area exactly, as the safetensors format demands:
  no overlaps, no gaps, no trailing bytes.

Files that are not safetensors at all (pickle, zip - which is what ``.pt`` and ``.npz``
are - or ``.npy``) are recognised by their first bytes and named in the message.
"""

from __future__ import annotations

import json
import math
import reprlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from descent.errors import ModelFileError

DEFAULT_MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_NDIM = 32
MAX_ELEMENTS = 2**40
HEADER_LENGTH_BYTES = 8

# safetensors dtype code -> little-endian NumPy dtype. BOOL is one byte holding 0 or 1.
DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype("?"),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}

_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip archive (.pt, .npz, .zip)"),
    (b"PK\x05\x06", "zip archive (.pt, .npz, .zip)"),
    (b"\x93NUMPY", "NumPy .npy file"),
    *((b"\x80" + bytes([p]), "pickle") for p in range(2, 6)),
)
_ENTRY_KEYS = frozenset({"dtype", "shape", "data_offsets"})


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives: `begin`/`end` are byte offsets into the data area."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """A validated header: the tensors in file order and the ``__metadata__`` map."""

    tensors: tuple[TensorEntry, ...]
    metadata: dict[str, str] | None


def header_length(head: bytes, total_size: int, *, max_header_bytes: int, source: str) -> int:
    """Read and check the header length N from the first bytes of a file of `total_size` bytes.

    `head` must hold the file's first min(total_size, 16) bytes (more is fine). Returns N;
    the header is ``file[8 : 8 + N]`` and the data area is ``file[8 + N :]``.

    Example:
        >>> header_length(b"\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00{}", 10,
        ...               max_header_bytes=1024, source="m.safetensors")
        2
    """
    if total_size < HEADER_LENGTH_BYTES:
        _refuse_foreign(head, source)
        raise ModelFileError(
            f"{source}: file is too short to be a model file ({total_size} bytes; a "
            f"safetensors file starts with an {HEADER_LENGTH_BYTES}-byte header length)"
        )
    n = int.from_bytes(head[:HEADER_LENGTH_BYTES], "little")
    available = total_size - HEADER_LENGTH_BYTES
    plausible = n <= max_header_bytes and n <= available and head[8:9] == b"{"
    if not plausible:
        _refuse_foreign(head, source)
    if n > max_header_bytes:
        raise ModelFileError(
            f"{source}: header length {n} bytes is over the limit of {max_header_bytes} "
            "bytes (pass a larger max_header_bytes if the file is trusted)"
        )
    if n > available:
        raise ModelFileError(
            f"{source}: file is truncated: the header length says {n} bytes but only "
            f"{available} bytes follow"
        )
    if n < 2:
        raise ModelFileError(f"{source}: header is empty (length {n})")
    return n


def parse_header(raw: bytes, data_size: int, *, source: str) -> Header:
    """Parse and check the header bytes of a file whose data area is `data_size` bytes.

    Returns the tensor entries in file order; raises ModelFileError naming the first rule
    the header breaks.

    Example:
        >>> raw = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
        >>> parse_header(raw, 8, source="m.safetensors").tensors[0].shape
        (2,)
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError(
            f"{source}: header is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    obj = load_json(text, source=source, what="header", allow_nan=False)
    if not isinstance(obj, dict):
        raise ModelFileError(f"{source}: header is a JSON {_json_type(obj)}, expected an object")
    metadata = _check_metadata(obj.pop("__metadata__", None), source)
    entries = tuple(_check_entry(name, spec, data_size, source) for name, spec in obj.items())
    _check_tiling(entries, data_size, source)
    return Header(tensors=entries, metadata=metadata)


def load_json(text: str, *, source: str, what: str, allow_nan: bool) -> Any:
    """`json.loads` that raises ModelFileError for every malformed input.

    Duplicate object keys are refused (JSON parsers disagree on which one wins), and so are
    NaN/Infinity unless `allow_nan`.

    Example:
        >>> load_json('{"a": [1, 2]}', source="m", what="header", allow_nan=False)
        {'a': [1, 2]}
    """
    def no_constants(name: str) -> Any:
        raise _JSONRuleError(f"{name} is not allowed")

    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=None if allow_nan else no_constants,
        )
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, our rule errors, and integers too long to
        # convert; RecursionError covers "[[[[...]]]]" nested past the interpreter's limit.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelFileError(f"{source}: {what} is not valid JSON: {reason}") from None


class _JSONRuleError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _JSONRuleError(f"duplicate key {short_repr(dup)}")
    return obj


def _refuse_foreign(head: bytes, source: str) -> None:
    for magic, kind in _FOREIGN_MAGIC:
        if head.startswith(magic):
            raise ModelFileError(
                f"{source}: not a descent model file (looks like a {kind}); descent never "
                "unpickles, so it cannot load pickle/zip/npy files. Save models with "
                "descent (ds.save) to get a .safetensors file."
            )


def _check_metadata(meta: Any, source: str) -> dict[str, str] | None:
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise ModelFileError(
            f"{source}: header __metadata__ is a JSON {_json_type(meta)}, expected an object"
        )
    for key, value in meta.items():
        if not isinstance(value, str):
            raise ModelFileError(
                f"{source}: header __metadata__[{short_repr(key)}] is a JSON {_json_type(value)}; "
                "safetensors metadata values must be strings"
            )
    return meta


def _check_entry(name: str, spec: Any, data_size: int, source: str) -> TensorEntry:
    where = f"{source}: tensor {short_repr(name)}"
    if not name or not _is_utf8(name):
        raise ModelFileError(
            f"{source}: tensor name {short_repr(name)} is empty or not valid UTF-8"
        )
    if not isinstance(spec, dict):
        raise ModelFileError(f"{where} is a JSON {_json_type(spec)}, expected an object")
    if set(spec) != _ENTRY_KEYS:
        missing = sorted(_ENTRY_KEYS - set(spec))
        extra = sorted(set(spec) - _ENTRY_KEYS)
        raise ModelFileError(
            f"{where} must have exactly dtype, shape and data_offsets "
            f"(missing {missing}, unexpected {extra})"
        )
    dtype = spec["dtype"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ModelFileError(
            f"{where} has dtype {short_repr(dtype)}, which descent does not read "
            f"(allowed: {', '.join(DTYPES)})"
        )
    shape = _check_shape(spec["shape"], where)
    begin, end = _check_offsets(spec["data_offsets"], data_size, where)
    expected = math.prod(shape) * DTYPES[dtype].itemsize
    if end - begin != expected:
        raise ModelFileError(
            f"{where} has {end - begin} data bytes but shape {list(shape)} of {dtype} "
            f"needs {expected}"
        )
    return TensorEntry(name=name, dtype=dtype, shape=shape, begin=begin, end=end)


def _check_shape(shape: Any, where: str) -> tuple[int, ...]:
    if not isinstance(shape, list) or len(shape) > MAX_NDIM:
        raise ModelFileError(
            f"{where} has shape {short_repr(shape)}; expected a list of at most {MAX_NDIM} integers"
        )
    for dim in shape:
        # type() not isinstance(): JSON true/false arrive as bool, a subclass of int.
        if type(dim) is not int or not 0 <= dim <= MAX_ELEMENTS:
            raise ModelFileError(
                f"{where} has shape {short_repr(shape)}; each dimension must be an integer "
                f"from 0 to {MAX_ELEMENTS}"
            )
    # NumPy refuses shapes whose non-zero dimensions multiply past its index range, even
    # when another dimension is 0, so bound that product too.
    if math.prod(d for d in shape if d) > MAX_ELEMENTS:
        raise ModelFileError(
            f"{where} has shape {short_repr(shape)}, more than {MAX_ELEMENTS} elements"
        )
    return tuple(shape)


def _check_offsets(offsets: Any, data_size: int, where: str) -> tuple[int, int]:
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or any(type(v) is not int for v in offsets)
    ):
        raise ModelFileError(
            f"{where} has data_offsets {short_repr(offsets)}; expected [begin, end] integers"
        )
    begin, end = offsets
    if not 0 <= begin <= end:
        raise ModelFileError(
            f"{where} has data_offsets {short_repr(offsets)}; need 0 <= begin <= end"
        )
    if end > data_size:
        raise ModelFileError(
            f"{where} has data_offsets {short_repr(offsets)} past the end of the data area "
            f"({data_size} bytes): the file is truncated or its header is wrong"
        )
    return begin, end


def _check_tiling(entries: tuple[TensorEntry, ...], data_size: int, source: str) -> None:
    filled = sorted((e for e in entries if e.end > e.begin), key=lambda e: e.begin)
    position = 0
    previous: TensorEntry | None = None
    for entry in filled:
        if previous is not None and entry.begin < position:
            raise ModelFileError(
                f"{source}: tensors {short_repr(previous.name)} (bytes {previous.begin}-"
                f"{previous.end}) and {short_repr(entry.name)} (bytes {entry.begin}-"
                f"{entry.end}) overlap"
            )
        if entry.begin > position:
            raise ModelFileError(
                f"{source}: {entry.begin - position} unused bytes before tensor "
                f"{short_repr(entry.name)} in the data area; safetensors data must be contiguous"
            )
        position, previous = entry.end, entry
    if position != data_size:
        raise ModelFileError(
            f"{source}: {data_size - position} unexpected bytes after the last tensor's data"
        )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800"-style JSON escapes
        return False
    return True


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def short_repr(value: Any) -> str:
    """repr() cut to a readable length, cheap even for huge or deeply nested values."""
    # reprlib bounds the work too: a hostile header can hold a list of millions of items.
    return _REPR.repr(value)


_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxdict = 8
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxlong = _REPR.maxother = 40
