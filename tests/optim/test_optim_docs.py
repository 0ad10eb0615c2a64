"""The runnable examples in the optim docstrings give the outputs they show."""

from __future__ import annotations

import doctest

import pytest

import descent.optim.optimizers
import descent.optim.schedules


@pytest.mark.parametrize("module", [descent.optim.optimizers, descent.optim.schedules])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 15
    assert result.failed == 0
