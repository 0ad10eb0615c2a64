"""Checks for fitted state read back from JSON (`from_dict`), which may come from a hostile file.

Each check names the exact place of the bad entry, e.g. ``TableEncoder metadata:
columns[2].categories[0]: expected a string, got int``, and raises `DataError`. Values are
quoted at most 60 characters long so a huge hostile entry cannot flood a message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from descent.errors import DataError


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(where: str, message: str) -> DataError:
    """The DataError for a bad entry at `where`."""
    return DataError(f"{where}: {message}")


def mapping(obj: Any, where: str, required: Iterable[str], optional: Iterable[str] = ()) -> dict:
    """`obj` as a dict with string keys: all `required` present, none outside both lists."""
    if not isinstance(obj, Mapping):
        raise fail(where, f"expected a JSON object, got {type(obj).__name__}")
    required, allowed = set(required), set(required) | set(optional)
    keys = set(obj)
    if not all(isinstance(k, str) for k in keys):
        raise fail(where, "keys must be strings")
    if required - keys:
        raise fail(where, f"missing key(s) {sorted(required - keys)}")
    if keys - allowed:
        raise fail(where, f"unexpected key(s) {sorted(keys - allowed)[:5]}")
    return dict(obj)


def header(obj: Mapping, where: str, fmt: str, version: int) -> None:
    """Check the "format" name and a supported "version" of a stored object."""
    if obj.get("format") != fmt:
        raise fail(where, f"format must be {fmt!r}, got {_show(obj.get('format'))}")
    v = obj.get("version")
    if isinstance(v, bool) or not isinstance(v, int):
        raise fail(where, f"version must be an integer, got {_show(v)}")
    if v > version:
        raise fail(where, f"version {v} is newer than this descent reads ({version}); upgrade")
    if v < 1:
        raise fail(where, f"version must be at least 1, got {v}")


def string(obj: Any, where: str) -> str:
    """A non-empty string."""
    if not isinstance(obj, str) or not obj:
        raise fail(where, f"expected a non-empty string, got {_show(obj)}")
    return obj


def choice(obj: Any, where: str, choices: Iterable[str]) -> str:
    """One of `choices`."""
    choices = tuple(choices)
    if not isinstance(obj, str) or obj not in choices:
        raise fail(where, f"expected one of {choices}, got {_show(obj)}")
    return obj


def number(obj: Any, where: str) -> float:
    """A finite int or float (not a bool, not NaN or infinity)."""
    if isinstance(obj, bool) or not isinstance(obj, int | float):
        raise fail(where, f"expected a number, got {_show(obj)}")
    value = float(obj)
    if not math.isfinite(value):
        raise fail(where, f"expected a finite number, got {_show(obj)}")
    return value


def integer(obj: Any, where: str, minimum: int | None = None) -> int:
    """An int (not a bool), at least `minimum`."""
    if isinstance(obj, bool) or not isinstance(obj, int):
        raise fail(where, f"expected an integer, got {_show(obj)}")
    if minimum is not None and obj < minimum:
        raise fail(where, f"expected at least {minimum}, got {obj}")
    return obj


def array(obj: Any, where: str, min_length: int = 0) -> list:
    """A JSON array of at least `min_length` entries."""
    if not isinstance(obj, list | tuple):
        raise fail(where, f"expected a JSON array, got {type(obj).__name__}")
    if len(obj) < min_length:
        raise fail(where, f"expected at least {min_length} entries, got {len(obj)}")
    return list(obj)


def unique_strings(obj: Any, where: str, min_length: int = 0) -> list[str]:
    """A JSON array of distinct non-empty strings."""
    items = [string(x, f"{where}[{i}]") for i, x in enumerate(array(obj, where, min_length))]
    if len(set(items)) != len(items):
        raise fail(where, "entries must be distinct")
    return items
