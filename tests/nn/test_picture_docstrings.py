"""The examples in the docstrings of the picture layers and the convolution functions run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["descent.autodiff.convolution", "descent.nn.conv", "descent.nn.pooling",
           "descent.nn.regularization", "descent.nn.normalization", "descent.nn.convnet",
           "descent.nn.config", "descent.nn.module"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
