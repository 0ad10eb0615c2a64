"""descent: train neural networks by backpropagation and gradient descent, and see every
derivative it uses.

>>> import descent as ds
>>> ds.grad(lambda x: x**2 - 4*x + 6)(8.0)
12.0
"""

from descent import data, distributed, explain, io, nn, optim, train
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
__all__ = [
    *_autodiff_all, "DataError", "DescentError", "DivergenceError", "FormulaError",
    "ModelFileError", "NotFittedError", "SaveError", "data", "distributed", "explain", "fit",
    "io", "load", "load_model", "minimize", "nn", "optim", "save", "train",
]
