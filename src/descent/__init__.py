"""descent: train neural networks by backpropagation and gradient descent, and see every
derivative it uses.

>>> import descent as ds
>>> ds.grad(lambda x: x**2 - 4*x + 6)(8.0)
12.0
"""

from descent import data, explain, io, nn, optim, train
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
from descent.explain import minimize
from descent.io.models import load, load_model, save
from descent.train import fit

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # `ds.distributed` is imported on first use: it is an optional layer (the `distributed`
    # extra), and `import descent` must not depend on it.
    if name == "distributed":
        import importlib

        return importlib.import_module("descent.distributed")
    raise AttributeError(f"module 'descent' has no attribute {name!r}")
__all__ = [
    *_autodiff_all, "DataError", "DescentError", "DivergenceError", "FormulaError",
    "ModelFileError", "NotFittedError", "SaveError", "data", "explain", "fit",
    "io", "load", "load_model", "minimize", "nn", "optim", "save", "train",
]
