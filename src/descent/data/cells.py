"""What one CSV cell means: a number, a missing value, a yes/no word, or text.

Every reader and encoder in `descent.data` asks these functions, so a cell is read the same
way whether it comes from a file, a DataFrame or a model's stored metadata.

    >>> looks_numeric("1e3"), looks_numeric("3 rooms"), is_missing("NA")
    (True, False, True)
"""

from __future__ import annotations

import math
import re

import numpy as np

#: Cell texts read as "no value here" (compared after stripping, case-insensitive).
#: "NaN" is among them, as in pandas; "none" is not, because it is a real category
#: ("heating: none").
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "?", "#n/a", "<na>"})

#: Words read as yes (1) and no (0) in a yes/no column (case-insensitive).
TRUE_WORDS = frozenset({"yes", "y", "true"})
FALSE_WORDS = frozenset({"no", "n", "false"})

#: The largest float32; a feature beyond it would become infinity in training.
FLOAT32_MAX = float(np.finfo(np.float32).max)

# Plain decimal notation only: Python's float() also takes "1_000", which no CSV means.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")
_INFINITY = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})


def is_missing(cell: str) -> bool:
    """True when the cell text stands for a missing value (see `MISSING_TOKENS`).

    >>> is_missing(" ? "), is_missing("0")
    (True, False)
    """
    return cell.strip().lower() in MISSING_TOKENS


def looks_numeric(cell: str) -> bool:
    """True when the text is a number in decimal notation, or an infinity spelled out.

    Infinities count as numbers here so that a column of numbers with one "inf" is still a
    numeric column, and the "inf" gets its own clear error (see `number_problem`).

    >>> looks_numeric("-2.5e3"), looks_numeric("inf"), looks_numeric("1,000")
    (True, True, False)
    """
    text = cell.strip()
    return _NUMBER.match(text) is not None or text.lower() in _INFINITY


def parse_number(cell: str) -> float:
    """The float of a cell that `looks_numeric`; "1e999" gives inf (checked separately).

    >>> parse_number(" 42 ")
    42.0
    """
    return float(cell.strip())


def number_problem(cell: str, value: float) -> str | None:
    """Why a parsed number cannot be used as a feature, or None when it can.

    >>> number_problem("1e999", float("1e999"))
    "value '1e999' overflows to infinity"
    """
    if math.isinf(value):
        if cell.strip().lower() in _INFINITY:
            return f"value {cell.strip()!r} is infinite"
        return f"value {cell.strip()!r} overflows to infinity"
    if abs(value) > FLOAT32_MAX:
        return f"value {cell.strip()!r} is too large for float32 (largest is {FLOAT32_MAX:.8g})"
    return None


def yes_no_value(cell: str) -> float | None:
    """1.0 for a yes-like word, 0.0 for a no-like word, None for anything else.

    >>> yes_no_value("Yes"), yes_no_value("n"), yes_no_value("maybe")
    (1.0, 0.0, None)
    """
    word = cell.strip().lower()
    if word in TRUE_WORDS:
        return 1.0
    if word in FALSE_WORDS:
        return 0.0
    return None


def format_number(value: float) -> str:
    """The shortest text for a number: integers without ".0", as a person writes them.

    >>> format_number(3.0), format_number(0.25)
    ('3', '0.25')
    """
    if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))
