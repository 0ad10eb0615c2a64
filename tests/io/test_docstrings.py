"""The examples in descent.io's docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import tempfile
from pathlib import Path

import pytest

from descent.io import atomic, container, model_file


@pytest.mark.parametrize("module", [atomic, container, model_file], ids=lambda m: m.__name__)
def test_docstring_examples(module, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the examples' mkdtemp() goes here
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
    assert any(tmp_path.iterdir()) or module is container
