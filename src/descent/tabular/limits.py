"""Refuse, before allocating, a network that cannot fit in this machine's memory.

An unlucky `--hidden 100000,100000` would otherwise allocate for minutes and end in a
MemoryError or the kernel's out-of-memory killer; a clear line up front costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

#: Arrays of the network's size that training holds at once: the weights, their gradients,
#: the optimizer's two moments (Adam), the compiled plan's flat copy, and the best weights
#: kept by early stopping.
TRAINING_COPIES = 6


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now, or None when unknown.

    >>> isinstance(available_memory(), int | None)
    True
    """
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


#: A CSV held in memory as a Table takes about this many times its size on disk (41 MB of
#: CSV made a 267 MB process); streaming starts when that would not fit in half the memory
#: available.
IN_MEMORY_FACTOR = 7


def should_stream(path: str | os.PathLike, available: int | None = None) -> bool:
    """True when reading `path` whole would not fit comfortably in memory: its size times
    IN_MEMORY_FACTOR is more than half of the available memory (`available_memory()`
    unless given).

    >>> should_stream(__file__, available=10**12)
    False
    """
    if not os.path.isfile(path):
        return False  # the reader names a missing file or a folder
    available = available_memory() if available is None else available
    if available is None:
        return False
    return os.path.getsize(path) * IN_MEMORY_FACTOR > available // 2


def n_weights(sizes: Sequence[int]) -> int:
    """Weights and biases of a dense network with layer widths `sizes`.

    >>> n_weights([11, 64, 1])
    833
    """
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def check_network_memory(sizes: Sequence[int], itemsize: int,
                         names: Mapping[str, str] | None = None, networks: int = 1,
                         why: str = "ensemble") -> None:
    """ValueError naming the setting to change when training `networks` networks of layer
    widths `sizes` at once would need more memory than is available. Several train
    together (stacked) as the members of an ensemble (`why="ensemble"`) or as the
    candidates of the weight-decay choice (`why="weight_decay"`).

    >>> check_network_memory([11, 64, 1], 8, networks=5)
    """
    available = available_memory()
    if available is None:
        return
    n = n_weights(sizes)
    needed = n * itemsize * TRAINING_COPIES * networks
    if needed > available:
        names = names or {}
        what, fix = f"a network of {n:,} weights needs", "use narrower layers"
        if networks > 1:
            what = f"{networks} networks of {n:,} weights each need"
            fix += (f" or a smaller {names.get('ensemble', 'ensemble')}" if why == "ensemble"
                    else f", or give {names.get('weight_decay', 'weight_decay')} (choosing "
                    f"it trains {networks} networks at once)")
        raise ValueError(
            f"{names.get('hidden', 'hidden')} {','.join(map(str, sizes[1:-1])) or 'none'}: "
            f"{what} ({' → '.join(map(str, sizes))}) about {needed / 2**30:.1f} GiB to train, "
            f"more than the {available / 2**30:.1f} GiB of memory available; {fix}")
