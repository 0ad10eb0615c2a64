"""LazyKernel: a kernel module imported on first use, loaded once per float type."""

from __future__ import annotations

import doctest

import numpy as np

from descent.train import halves, jit, kernels
from descent.train.kernels import LazyKernel


def test_the_docstring_example_runs():
    assert doctest.testmod(kernels).failed == 0


def test_it_imports_nothing_where_the_kernel_cannot_run():
    calls = []
    k = LazyKernel("no_such_module_anywhere", available=lambda: False,
                   warm=lambda module, dtype: calls.append(dtype))
    assert k.warm_up(np.float64) is False
    assert k.module is None and not k.loaded(np.float64) and calls == []


def test_it_loads_each_float_type_once():
    calls = []
    k = LazyKernel("math", available=lambda: True,
                   warm=lambda module, dtype: calls.append((module.__name__, dtype)))
    assert k.warm_up(np.float32) and k.warm_up("float32") and k.warm_up(np.float64)
    assert calls == [("math", np.dtype(np.float32)), ("math", np.dtype(np.float64))]
    assert k.loaded(np.float32) and k.loaded(np.float64)


def test_the_compiled_paths_load_their_own_kernels():
    assert jit.warm_up(np.float32) and jit._kernel.module.__name__ == "descent.train.jit_kernel"
    assert halves.warm_up(np.float32) and halves.loaded(np.float32)
    assert halves._kernel.module.__name__ == "descent.train.halves_kernel"
