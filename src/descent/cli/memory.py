"""Give freed arrays back to the system: the command's memory follows what it holds.

glibc's malloc serves an allocation of at least its mmap threshold with fresh pages and
returns them on free, but it raises that threshold (up to 32 MiB) each time such a block is
freed; from then on, arrays of a column or a block of rows (a few to 30 MiB for a table of
millions of rows) come from the heap, where freed space stays with the process. Reading and
training on a large table then peaks hundreds of MiB above what it holds. A fixed threshold
(`mallopt(M_MMAP_THRESHOLD, ...)`, which also stops the raising) keeps every large array on
pages of its own. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: glibc's mallopt parameter number for the mmap threshold (malloc.h).
M_MMAP_THRESHOLD = -3
#: Allocations from this size up get pages of their own (glibc's default start: 128 KiB).
THRESHOLD_BYTES = 128 * 1024


def release_large_frees() -> bool:
    """Fix glibc's mmap threshold at `THRESHOLD_BYTES`; True when it was set (Linux with
    glibc), False where there is no such allocator.

    >>> isinstance(release_large_frees(), bool)
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # musl or no C library found: no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
