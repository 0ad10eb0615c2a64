"""Find a cell's category, whether the cell arrives as text or as a number.

A column can be read as numbers at predict time although it held categories in training
(a file where every size happens to be "10" or "12"), or the reverse. `CategoryLookup`
matches exact text first and falls back to the numeric value, so "10", "10.0" and 10.0 all
find the category "10".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from descent.data.cells import format_number, looks_numeric, parse_number


class CategoryLookup:
    """Maps a cell (str or float) to the index of its category in `categories`, or None.

    >>> lookup = CategoryLookup(["10", "S", "M"])
    >>> lookup.index("S"), lookup.index("10.0"), lookup.index(10.0), lookup.index("XL")
    (1, 0, 0, None)
    """

    def __init__(self, categories: Sequence[str | int | float]) -> None:
        self.by_text: dict[str, int] = {}
        self.by_number: dict[float, int] = {}
        for k, category in enumerate(categories):
            if isinstance(category, str):
                self.by_text.setdefault(category, k)
                if looks_numeric(category):
                    number = parse_number(category)
                    if math.isfinite(number):
                        self.by_number.setdefault(number, k)
            else:
                self.by_number.setdefault(float(category), k)
                self.by_text.setdefault(format_number(float(category)), k)

    def index(self, cell: str | float) -> int | None:
        """The category index of one cell, or None for an unseen value."""
        if isinstance(cell, str):
            k = self.by_text.get(cell)
            if k is None and looks_numeric(cell):
                k = self.by_number.get(parse_number(cell))
            return k
        return self.by_number.get(float(cell))
