"""Hyperparameter checks shared by the optimizers and the schedules.

Each check returns the value as a plain Python number (so it is JSON-safe and NumPy 2's
scalar promotion keeps float32 arrays float32) or raises ValueError naming the owner,
the hyperparameter and the bad value.
"""

from __future__ import annotations

import math
import numbers


def _number(owner: str, name: str, value: object) -> float:
    # bool is an int subclass; `lr=True` is a mistake, not 1.0.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a real number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}")
    return x


def positive(owner: str, name: str, value: object) -> float:
    """A finite number > 0."""
    x = _number(owner, name, value)
    if x <= 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {value!r}")
    return x


def nonnegative(owner: str, name: str, value: object) -> float:
    """A finite number >= 0."""
    x = _number(owner, name, value)
    if x < 0:
        raise ValueError(f"{owner}: {name} must be >= 0, got {value!r}")
    return x


def unit_interval(owner: str, name: str, value: object) -> float:
    """A number in [0, 1), as decay rates must be for a running average to forget."""
    x = _number(owner, name, value)
    if not 0 <= x < 1:
        raise ValueError(f"{owner}: {name} must be in [0, 1), got {value!r}")
    return x


#: The largest count taken: beyond it a count no longer converts to float exactly (and a
#: state read from a file with such a count is not one descent wrote).
MAX_COUNT = 2**53


def integer(owner: str, name: str, value: object, minimum: int) -> int:
    """An integer in [minimum, MAX_COUNT] (floats such as 10.0 are refused: counts are
    counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{owner}: {name} must be an integer, got {value!r}")
    n = int(value)
    if n < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value!r}")
    if n > MAX_COUNT:
        raise ValueError(f"{owner}: {name} must be at most 2**53, got {value!r}")
    return n


def choice(owner: str, name: str, value: object, options: tuple[str, ...]) -> str:
    """One of a few strings."""
    if value not in options:
        valid = ", ".join(repr(o) for o in options)
        raise ValueError(f"{owner}: {name} must be one of {valid}, got {value!r}")
    return str(value)


def normalize_name(name: str) -> str:
    """Lower-case and drop '_', '-' and spaces, so 'RMS_Prop' finds 'rmsprop'."""
    return "".join(c for c in name.lower() if c not in "_- ")
