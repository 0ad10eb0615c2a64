"""A numba kernel module imported on first use, and the float types it is loaded for.

The compiled paths (train/jit.py, train/halves.py) each keep one: importing numba and
loading a kernel from numba's cache costs about 0.5-1 s, so a path asks `loaded(dtype)`
before it decides a fit is long enough to pay for that, and `warm_up(dtype)` does it.

>>> import numpy as np
>>> k = LazyKernel("math", available=lambda: True, warm=lambda module, dtype: None)
>>> k.loaded(np.float32), k.warm_up(np.float32), k.loaded(np.float32), k.module.__name__
(False, True, True, 'math')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np


class LazyKernel:
    """The kernel module `name`, imported by the first `warm_up` where `available()`;
    `warm(module, dtype)` loads (or compiles, once per machine) its code for a dtype."""

    def __init__(self, name: str, available: Callable[[], bool],
                 warm: Callable[[ModuleType, np.dtype], None]) -> None:
        self.name, self._available, self._warm = name, available, warm
        self.module: ModuleType | None = None
        self.warmed: set[np.dtype] = set()

    def loaded(self, dtype: Any = np.float32) -> bool:
        """Whether the kernel is loaded for `dtype` in this process."""
        return np.dtype(dtype) in self.warmed

    def warm_up(self, dtype: Any = np.float32) -> bool:
        """Import the module and load its code for `dtype`; False, doing nothing, where
        it cannot run here."""
        dtype = np.dtype(dtype)
        if dtype in self.warmed:
            return True
        if not self._available():
            return False
        if self.module is None:
            self.module = importlib.import_module(self.name)
        self._warm(self.module, dtype)
        self.warmed.add(dtype)
        return True
