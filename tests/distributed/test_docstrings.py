"""The examples in descent.distributed's docstrings (and the CSV block reader's) run and
print what they claim."""

from __future__ import annotations

import doctest
import importlib
import logging
import tempfile

import pytest

MODULES = [importlib.import_module(f"descent.{name}") for name in (
    "data.csv_blocks", "distributed.big_table", "distributed.cluster", "distributed.fit",
    "distributed.joblib_backend", "distributed.medians", "distributed.shards",
    "distributed.step")]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module, tmp_path, monkeypatch):
    logging.getLogger("distributed").setLevel(logging.ERROR)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
