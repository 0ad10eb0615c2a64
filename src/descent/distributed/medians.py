"""Exact medians of columns too long to hold, from passes over their blocks.

np.median of n numbers is the mean of the values of rank (n-1)//2 and n//2 in sorted
order. Each float64 maps to a 64-bit key in the same order (`order_keys`). The statistics
pass counts, per block, the keys' top 16 bits (`top_counts`: a few hundred distinct
counts, added block by block); their running sum says in which of those 65 536 ranges
each rank lies and how many values lie below it. A further pass over the blocks then
either gathers the values of that range (with their counts; at most `GATHER_LIMIT` of
them) and picks the rank exactly, or, when the range holds more, counts the next 16 bits
of its keys and narrows again. Four narrowings fix all 64 bits, so the result is exact in
every case; in practice one further pass suffices. Memory: the counts of one range.

    >>> x = np.array([3.0, -1.0, 7.5, 2.0])
    >>> finder = MedianFinder({"x": top_counts(x)})
    >>> while finder.pending():  # one pass over the blocks (here, one block)
    ...     finder.add(finder.scan({"x": x}))
    ...     finder.finish()
    >>> finder.medians()["x"] == np.median(x)
    True
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GATHER_LIMIT = 1 << 21  # values gathered from one range (16 MB of float64 and counts)
_SIGN = np.uint64(1 << 63)


def order_keys(x: np.ndarray) -> np.ndarray:
    """uint64 keys that sort as the float64 values do (-0.0 just before 0.0)."""
    bits = np.ascontiguousarray(x, np.float64).view(np.uint64)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def top_counts(x: np.ndarray) -> Counter:
    """How many of the values have each top 16 bits of key (NaN left out)."""
    x = x[~np.isnan(x)]
    top, counts = np.unique(order_keys(x) >> np.uint64(48), return_counts=True)
    return Counter(dict(zip(top.tolist(), counts.tolist(), strict=True)))


@dataclass
class _Rank:
    """One wanted rank: its key's known top `bits` bits are `prefix`; `below` values lie
    under that range and `inside` within it."""

    column: str
    rank: int
    prefix: int = 0
    bits: int = 0
    below: int = 0
    inside: int = 0
    value: float | None = None


def _narrow(rank: _Rank, counts: Counter, step: int) -> None:
    """Move `rank` into the sub-range of `counts` (sub-range -> count) holding it."""
    seen = rank.below
    for part in sorted(counts):
        if seen + counts[part] > rank.rank:
            rank.prefix = (rank.prefix << step) | part
            rank.bits += step
            rank.below, rank.inside = seen, counts[part]
            return
        seen += counts[part]
    raise AssertionError("the counts do not add up to the rank")  # pragma: no cover


@dataclass
class MedianFinder:
    """The medians of some columns, from their `top_counts` summed over every block; then
    `scan` each block (any process) and `add` the results, block after block, while
    `pending()`."""

    tops: dict[str, Counter]
    ranks: list[_Rank] = field(default_factory=list)
    _partial: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        for column, counts in self.tops.items():
            n = sum(counts.values())
            if n == 0:
                continue
            for r in sorted({(n - 1) // 2, n // 2}):
                rank = _Rank(column, r)
                _narrow(rank, counts, 16)
                self.ranks.append(rank)
        self._partial = [None] * len(self.ranks)

    def pending(self) -> list[_Rank]:
        return [r for r in self.ranks if r.value is None]

    def plan(self) -> list[tuple[str, int, int, bool]]:
        """(column, prefix, bits, gather) of each pending rank: what `scan` looks for."""
        return [(r.column, r.prefix, r.bits, r.inside <= GATHER_LIMIT or r.bits == 64)
                for r in self.pending()]

    def scan(self, columns: dict[str, np.ndarray],
             plan: list[tuple[str, int, int, bool]] | None = None) -> list[Counter]:
        """For each pending rank, from one block's values (NaN left out): the counts of
        the values in its range (gather), or of the next 16 bits of their keys."""
        return scan_block(columns, self.plan() if plan is None else plan)

    def add(self, found: list[Counter]) -> None:
        """Add one block's `scan`; after the last block, call `finish()`."""
        for i, counts in enumerate(found):
            self._partial[i] = counts if self._partial[i] is None else self._partial[i] + counts

    def finish(self) -> None:
        """Narrow or settle every pending rank from the added scans."""
        for (rank, counts), (_, _, _, gather) in zip(
                zip(self.pending(), self._partial, strict=True), self.plan(), strict=True):
            counts = counts or Counter()
            if gather:
                seen = rank.below
                for value in sorted(counts):
                    seen += counts[value]
                    if seen > rank.rank:
                        rank.value = float(value)
                        break
            else:
                _narrow(rank, counts, 16)
        self._partial = [None] * len(self.pending())

    def medians(self) -> dict[str, float]:
        """column -> np.median of its values, once nothing is pending."""
        values: dict[str, list[float]] = {}
        for r in self.ranks:
            assert r.value is not None, "scan the blocks while pending()"
            values.setdefault(r.column, []).append(r.value)
        return {c: float(np.mean(v)) if len(v) == 2 else v[0] for c, v in values.items()}


def scan_block(columns: dict[str, np.ndarray],
               plan: list[tuple[str, int, int, bool]]) -> list[Counter]:
    """`MedianFinder.scan` for a plan: a plain function that travels to Dask workers."""
    out = []
    for column, prefix, bits, gather in plan:
        x = columns[column]
        x = x[~np.isnan(x)]
        keys = order_keys(x)
        inside = (keys >> np.uint64(64 - bits)) == np.uint64(prefix) if bits < 64 else \
            keys == np.uint64(prefix)
        if gather:
            values, counts = np.unique(x[inside], return_counts=True)
        else:
            shift = np.uint64(64 - bits - 16)
            values, counts = np.unique((keys[inside] >> shift) & np.uint64(0xFFFF),
                                       return_counts=True)
        out.append(Counter(dict(zip(values.tolist(), counts.tolist(), strict=True))))
    return out
