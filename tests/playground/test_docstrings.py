"""The examples in the playground's docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["formula_view", "datasets", "session", "server"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(f"descent.playground.{module}"),
                             optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_the_training_plots_examples_run():
    result = doctest.testmod(importlib.import_module("descent.explain.training_plots"))
    assert result.attempted > 0 and result.failed == 0
