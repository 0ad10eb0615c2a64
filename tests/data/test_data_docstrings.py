"""Every example in the data layer's docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import descent.data

MODULES = ["descent.data"] + [
    f"descent.data.{m.name}" for m in pkgutil.iter_modules(descent.data.__path__)
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_functions_have_examples():
    lacking = []
    for name in descent.data.__all__:
        obj = getattr(descent.data, name)
        if callable(obj) and ">>>" not in (obj.__doc__ or ""):
            lacking.append(name)
    assert lacking == []
