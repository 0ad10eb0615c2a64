"""descent: train neural networks by backpropagation and gradient descent, and see every
derivative it uses.

>>> import descent as ds
>>> ds.grad(lambda x: x**2 - 4*x + 6)(8.0)
12.0
"""

import importlib

from descent.autodiff import *  # noqa: F403 - the engine's names are the top-level API
from descent.autodiff import __all__ as _autodiff_all
from descent.errors import (
    DataError,
    DescentError,
    DivergenceError,
    FormulaError,
    ModelFileError,
    NotFittedError,
    SaveError,
)

__version__ = "0.1.0"

# The layers above the engine, and the names taken from them, are imported on first use
# (`ds.nn`, `ds.fit`, ...): a command that needs a few of them (`descent predict`) then
# starts without importing the others. `ds.distributed` is an optional layer (the
# `distributed` extra): `import descent` must not depend on it.
_SUBPACKAGES = ("data", "distributed", "explain", "io", "nn", "optim", "train")
_NAMES = {"minimize": "descent.explain", "load": "descent.io.models",
          "load_model": "descent.io.models", "save": "descent.io.models",
          "fit": "descent.train"}


def __getattr__(name: str) -> object:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"descent.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'descent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBPACKAGES, *_NAMES})


__all__ = [
    *_autodiff_all, "DataError", "DescentError", "DivergenceError", "FormulaError",
    "ModelFileError", "NotFittedError", "SaveError",
    *(name for name in _SUBPACKAGES if name != "distributed"), *_NAMES,
]
