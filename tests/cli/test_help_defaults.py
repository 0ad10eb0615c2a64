"""Every option help's "[default: ...]" reaches the screen: rich reads an unescaped
"[default: ...]" in help text as markup and drops it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import run

CLI = Path(__file__).resolve().parents[2] / "src" / "descent" / "cli"
WRITTEN = sorted({(path.stem, m.group(1)) for path in CLI.glob("*.py")
                  for m in re.finditer(r'\\\\\[default: ([^"\]]{1,30})', path.read_text())})


def test_the_help_texts_with_a_written_default_are_found():
    assert len(WRITTEN) >= 10
    assert not [p.name for p in CLI.glob("*.py")
                if re.search(r'[^\\]\[default:', p.read_text())], "escape it as \\\\[default:"


@pytest.mark.parametrize("command", ["train", "predict", "explain", "demo"])
def test_each_written_default_is_shown(command):
    # the help table wraps its cells: join its lines without the borders
    text = run(command, "--help").stdout
    shown = " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())
    for module, start in WRITTEN:
        if module == command:
            assert "[default: " + " ".join(start.split()) in shown, (command, start)
