"""The examples in the CLI helpers' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["boundary", "options", "scores_table", "plots"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(f"descent.cli.{module}"))
    assert result.attempted > 0 and result.failed == 0
