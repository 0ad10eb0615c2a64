"""descent's model and checkpoint files: named NumPy arrays plus a JSON metadata dict.

The container is safetensors (written by the `safetensors` library itself). The header's
``__metadata__`` holds one entry, ``"descent"``: a JSON text
``{"format_version": 1, "kind": "model" | "checkpoint", "metadata": {...}}`` where
``metadata`` is the caller's dict (for nn: the architecture and preprocessing; for
train: epoch, RNG state and so on).

Reading never hands unvalidated bytes to a parser (see `descent.io.container`), never
unpickles, and turns every malformed input into a `ModelFileError` that says why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from descent.errors import ModelFileError
from descent.io.atomic import atomic_write
from descent.io.container import (
    DEFAULT_MAX_HEADER_BYTES,
    DTYPES,
    HEADER_LENGTH_BYTES,
    Header,
    header_length,
    load_json,
    parse_header,
    short_repr,
)

FORMAT_VERSION = 1
KINDS = ("model", "checkpoint")
METADATA_KEY = "descent"

Kind = Literal["model", "checkpoint"]
Tensors = dict[str, np.ndarray]
# Reads bytes at an absolute file offset into the buffer; returns how many it filled.
_ReadInto = Callable[[int, memoryview], int]


@dataclass(frozen=True)
class ModelFileInfo:
    """What a model file holds, read from its header alone (no tensor data is loaded)."""

    kind: str
    format_version: int
    metadata: dict[str, Any]
    tensors: dict[str, tuple[str, tuple[int, ...]]]  # name -> (safetensors dtype, shape)


def encode_model_file(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, Any], *,
                      kind: Kind = "model") -> bytes:
    """Return the bytes of a model file holding `tensors` and `metadata`.

    `tensors` maps non-empty names to arrays of any shape (0-d and empty included) whose
    dtype is bool, (u)int8/16/32/64 or float16/32/64. `metadata` must be JSON-safe: dicts
    with str keys, lists/tuples, str, int, float (NaN and infinities survive), bool, None;
    NumPy scalars are stored as Python numbers and tuples come back as lists.

    Example:
        >>> import numpy as np
        >>> blob = encode_model_file({"w": np.eye(2)}, {"layers": [2, 2]})
        >>> decode_model_file(blob)[1]
        {'layers': [2, 2]}
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata is a {type(metadata).__name__}, expected a dict")
    arrays = {name: _little_endian(name, array) for name, array in _checked_items(tensors)}
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "metadata": _json_safe(metadata, "metadata"),
    }
    # ensure_ascii: a lone surrogate in a str becomes an escape, not invalid UTF-8.
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return _safetensors_save(arrays, {METADATA_KEY: text})


def write_model_file(path: str | os.PathLike[str], tensors: Mapping[str, np.ndarray],
                     metadata: Mapping[str, Any], *, kind: Kind = "model") -> None:
    """Save `tensors` (name -> array) and `metadata` (JSON-safe dict) to `path`, atomically.

    See `encode_model_file` for what the arguments may hold. The file is complete or
    absent: a crash or a full disk leaves any previous file at `path` untouched
    (SaveError says what went wrong).

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.safetensors"
        >>> write_model_file(path, {"W": np.zeros((3, 2), np.float32)}, {"epoch": 4})
        >>> read_model_file(path)[0]["W"].shape
        (3, 2)
    """
    atomic_write(path, encode_model_file(tensors, metadata, kind=kind))


def decode_model_file(data: bytes | bytearray | memoryview, *, kind: Kind | None = None,
                      max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
                      source: str = "model file") -> tuple[Tensors, dict[str, Any]]:
    """Parse model-file bytes into (tensors, metadata); the in-memory twin of `read_model_file`.

    Returned arrays are fresh, writable, aligned and in native byte order. `kind`, when
    given, is the kind the caller expects ("model" or "checkpoint"). `source` names the
    input in error messages.

    Example:
        >>> import numpy as np
        >>> tensors, meta = decode_model_file(encode_model_file({"b": np.ones(3)}, {}))
        >>> tensors["b"].tolist(), meta
        ([1.0, 1.0, 1.0], {})
    """
    _check_args(kind, max_header_bytes)
    view = memoryview(data).cast("B")
    n = header_length(bytes(view[:16]), len(view), max_header_bytes=max_header_bytes,
                      source=source)
    data_start = HEADER_LENGTH_BYTES + n
    header = parse_header(bytes(view[HEADER_LENGTH_BYTES:data_start]), len(view) - data_start,
                          source=source)
    info = _descent_info(header, kind, source)

    def read_into(offset: int, out: memoryview) -> int:
        chunk = view[offset:offset + len(out)]
        out[:len(chunk)] = chunk
        return len(chunk)

    return _load_tensors(header, data_start, read_into, source), info.metadata


def read_model_file(path: str | os.PathLike[str], *, kind: Kind | None = None,
                    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
                    ) -> tuple[Tensors, dict[str, Any]]:
    """Load a model or checkpoint file: returns (tensors, metadata) as written.

    The header is validated before any tensor data is read, so a huge file that is not a
    model file is refused after reading a few bytes. `kind` ("model" / "checkpoint"), when
    given, must match the file's. Raises ModelFileError, naming the path and the reason,
    for a missing, unreadable, malformed, foreign (pickle, zip, npy) or newer-format file.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "ckpt.safetensors"
        >>> write_model_file(path, {"m": np.arange(3)}, {"epoch": 7}, kind="checkpoint")
        >>> tensors, meta = read_model_file(path, kind="checkpoint")
        >>> tensors["m"].tolist(), meta["epoch"]
        ([0, 1, 2], 7)
    """
    _check_args(kind, max_header_bytes)
    with _open(path) as f:
        header, data_start, source = _read_header(f, path, max_header_bytes)
        info = _descent_info(header, kind, source)

        def read_into(offset: int, out: memoryview) -> int:
            f.seek(offset)
            filled = 0
            while filled < len(out):
                got = f.readinto(out[filled:])
                if not got:
                    break
                filled += got
            return filled

        try:
            return _load_tensors(header, data_start, read_into, source), info.metadata
        except OSError as exc:
            raise ModelFileError(f"{source}: could not read: {exc.strerror or exc}") from exc


def preprocessing_format(path: str | os.PathLike[str]) -> str | None:
    """The name of the preprocessing a model file stores (its metadata's
    "preprocessing"."format": a table's encoder, a picture model's sizes), read from the
    header alone; None for a file that is no model file or stores no such name, which
    the loader that is then tried names in its own words.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
        >>> write_model_file(path, {}, {"preprocessing": {"format": "x/1"}})
        >>> preprocessing_format(path), preprocessing_format(path.with_name("none"))
        ('x/1', None)
    """
    try:
        info = read_model_info(path)
    except (ValueError, OSError):
        return None
    pre = info.metadata.get("preprocessing")
    name = pre.get("format") if isinstance(pre, dict) else None
    return name if isinstance(name, str) else None


def read_model_info(path: str | os.PathLike[str], *,
                    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> ModelFileInfo:
    """Read a model file's kind, metadata and tensor names/dtypes/shapes, but no tensor data.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.safetensors"
        >>> write_model_file(path, {"W": np.zeros((3, 2), np.float32)}, {"epoch": 4})
        >>> info = read_model_info(path)
        >>> info.kind, info.tensors["W"]
        ('model', ('F32', (3, 2)))
    """
    _check_args(None, max_header_bytes)
    with _open(path) as f:
        header, _, source = _read_header(f, path, max_header_bytes)
    return _descent_info(header, None, source)


def _checked_items(tensors: Mapping[str, np.ndarray]) -> list[tuple[str, Any]]:
    if not isinstance(tensors, Mapping):
        raise TypeError(f"tensors must be a dict of name -> array, got {type(tensors).__name__}")
    for name in tensors:
        if not isinstance(name, str) or not name or name == "__metadata__" or not _utf8(name):
            raise ValueError(f"tensor names must be non-empty strings other than "
                             f"'__metadata__', got {name!r}")
    return list(tensors.items())


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _little_endian(name: str, array: Any) -> np.ndarray:
    if isinstance(array, np.generic):
        array = np.asarray(array)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"tensor {name!r} is a {type(array).__name__}, expected a NumPy array")
    code = _dtype_code(array.dtype)
    if code is None:
        raise ValueError(
            f"tensor {name!r} has dtype {array.dtype}, which a model file cannot hold "
            "(use bool, (u)int8/16/32/64 or float16/32/64)"
        )
    # safetensors copies raw memory from the data pointer: a strided view would be saved as
    # the wrong numbers, so hand it a contiguous little-endian copy when needed.
    # (Not np.ascontiguousarray: it turns 0-d arrays into shape (1,).)
    return np.asarray(array, dtype=DTYPES[code], order="C")


def _dtype_code(dtype: np.dtype) -> str | None:
    for code, allowed in DTYPES.items():
        if dtype.kind == allowed.kind and dtype.itemsize == allowed.itemsize:
            return code
    return None


def _json_safe(value: Any, where: str) -> Any:
    """A JSON-ready copy of `value`; TypeError naming the first part that is not JSON-safe."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return int(value) if isinstance(value, int) else float(value)
    if isinstance(value, np.generic) and isinstance(value.item(), bool | int | float):
        return value.item()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has key {key!r}: JSON object keys must be strings")
            out[key] = _json_safe(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, list | tuple):
        return [_json_safe(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"{where} is a {type(value).__name__}, which is not JSON-safe "
        "(use dict, list, str, int, float, bool or None)"
    )


def _safetensors_save(arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    try:
        from safetensors.numpy import save
    except ImportError as exc:  # an optional dependency: reading does not need it
        raise ImportError(
            "writing model files needs the safetensors package: pip install 'descent[files]'"
        ) from exc
    return save(arrays, metadata=metadata)


def _check_args(kind: str | None, max_header_bytes: int) -> None:
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be None or one of {KINDS}, got {kind!r}")
    if type(max_header_bytes) is not int or max_header_bytes < 2:
        raise ValueError(f"max_header_bytes must be an integer >= 2, got {max_header_bytes!r}")


def _open(path: str | os.PathLike[str]) -> BinaryIO:
    # open(1) would read file descriptor 1 and close it: only paths name files here.
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"a model file is named by a path (str or os.PathLike), got "
                        f"{type(path).__name__} {short_repr(path)}")
    try:
        return open(path, "rb")  # the caller's `with` closes it
    except FileNotFoundError:
        raise ModelFileError(f"no model file at {path}: file not found") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a folder, not a model file") from None
    except PermissionError:
        raise ModelFileError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_header(f: BinaryIO, path: str | os.PathLike[str],
                 max_header_bytes: int) -> tuple[Header, int, str]:
    source = str(Path(path))
    try:
        total = os.fstat(f.fileno()).st_size
        head = f.read(16)
        n = header_length(head, total, max_header_bytes=max_header_bytes, source=source)
        f.seek(HEADER_LENGTH_BYTES)
        raw = f.read(n)
    except OSError as exc:
        raise ModelFileError(f"{source}: could not read: {exc.strerror or exc}") from exc
    if len(raw) != n:
        raise ModelFileError(f"{source}: file is truncated (it shrank while being read)")
    data_start = HEADER_LENGTH_BYTES + n
    return parse_header(raw, total - data_start, source=source), data_start, source


def _descent_info(header: Header, kind: str | None, source: str) -> ModelFileInfo:
    text = (header.metadata or {}).get(METADATA_KEY)
    if text is None:
        raise ModelFileError(
            f"{source}: a safetensors file without descent metadata (no "
            f"'{METADATA_KEY}' entry in its __metadata__); it was not written by descent"
        )
    payload = load_json(text, source=source, what="descent metadata", allow_nan=True)
    if not isinstance(payload, dict):
        raise ModelFileError(f"{source}: descent metadata is not a JSON object")
    version = payload.get("format_version")
    if type(version) is not int or version < 1:
        raise ModelFileError(f"{source}: descent metadata has no valid format_version")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{source}: written by a newer descent (file format version {version}; this "
            f"descent reads versions up to {FORMAT_VERSION}); upgrade descent to load it"
        )
    file_kind = payload.get("kind")
    if file_kind not in KINDS:
        raise ModelFileError(
            f"{source}: descent metadata has kind {short_repr(file_kind)}, "
            f"expected one of {KINDS}"
        )
    if kind is not None and file_kind != kind:
        raise ModelFileError(f"{source}: expected a {kind} file, but this is a {file_kind} file")
    metadata = payload.get("metadata")
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{source}: descent metadata has no 'metadata' object")
    tensors = {e.name: (e.dtype, e.shape) for e in header.tensors}
    return ModelFileInfo(kind=file_kind, format_version=version, metadata=metadata,
                         tensors=tensors)


def _load_tensors(header: Header, data_start: int, read_into: _ReadInto,
                  source: str) -> Tensors:
    tensors: Tensors = {}
    for entry in header.tensors:
        stored = DTYPES[entry.dtype]
        array = np.empty(entry.shape, dtype=stored)
        expected = entry.end - entry.begin
        if expected:
            buffer = memoryview(array.reshape(-1).view(np.uint8))
            if read_into(data_start + entry.begin, buffer) != expected:
                raise ModelFileError(f"{source}: file is truncated inside tensor {entry.name!r}")
        if entry.dtype == "BOOL" and array.view(np.uint8).max(initial=0) > 1:
            raise ModelFileError(
                f"{source}: tensor {entry.name!r} is BOOL but holds bytes other than 0 and 1"
            )
        native = stored.newbyteorder("=")
        tensors[entry.name] = array if stored == native else array.astype(native)
    return tensors
