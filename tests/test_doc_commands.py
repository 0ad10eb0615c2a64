"""Every `$ descent ...` command in README.md and docs/*.md runs as written (exit status 0).

Commands are taken from the shell blocks (```console, ```bash, ```shell, ```sh) in file
order and run in one scratch folder per file, so a later command may use what an earlier
one wrote (`descent train` writes model.safetensors for `descent explain`). Files that the
docs present as the reader's own are stand-ins: houses.csv and new_houses.csv are copies of
the embedded Windsor data, customers.csv and new_customers.csv the spreadsheet fixtures in
tests/fixtures; cat.png, photos/ and my_pets/ are pictures from the shipped cats and dogs.
`descent playground` serves until stopped: it must print its address and
serve the page, then it is stopped. `python3 dev.py ...` lines set up the project and are
not run here (`dev.py test` would run this suite again).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import descent
from descent.cli import app
from tests.test_docs import doc_files, parse_blocks

ROOT = Path(__file__).resolve().parents[1]
SHELL = {"console", "bash", "shell", "sh"}
WINDSOR = Path(descent.__file__).parent / "datasets" / "windsor_housing.csv"
FIXTURES = ROOT / "tests" / "fixtures"
READERS_FILES = {"houses.csv": WINDSOR, "new_houses.csv": WINDSOR,
                 "customers.csv": FIXTURES / "customers.csv",
                 "new_customers.csv": FIXTURES / "customers_new.csv"}


def doc_commands(path: Path) -> list[str]:
    """The `descent ...` command lines of one Markdown file, comments removed."""
    found = []
    for block in parse_blocks(path.read_text(encoding="utf-8")):
        if block.language not in SHELL:
            continue
        for line in block.code.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            if line.startswith("descent ") or line == "descent":
                found.append(line)
    return found


def _files_with_commands() -> list[Path]:
    return [p for p in doc_files() if doc_commands(p)]


def _run_playground(argv: list[str]) -> None:
    env = {**os.environ, "BROWSER": "true", "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([sys.executable, "-c", "from descent.cli import main; main()",
                               *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
    try:
        line = server.stdout.readline()
        match = re.search(r"http://\S+/", line)
        assert match, f"descent playground printed {line!r}; stderr: {server.stderr.read()}"
        for _ in range(100):
            try:
                page = httpx.get(match.group(0), timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert page.status_code == 200 and "descent playground" in page.text
    finally:
        server.terminate()
        server.wait(timeout=10)


def _readers_pictures(folder: Path) -> None:
    """cat.png, photos/ (6 pictures) and my_pets/cat, my_pets/dog (20 each), as PNG files."""
    from PIL import Image

    pets = descent.data.load_cats_dogs()
    Image.fromarray(pets.images[1, 0]).save(folder / "cat.png")
    for where, rows in (("photos", [*range(3), *range(1000, 1003)]),
                        ("my_pets", [*range(20), *range(1000, 1020)])):
        for i in rows:
            path = folder / where / (pets.files[i] if where == "my_pets"
                                     else pets.files[i].split("/")[1])
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pets.images[i, 0]).save(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", _files_with_commands(),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_in_the_docs_runs_as_written(path: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for name, source in READERS_FILES.items():
        shutil.copy(source, tmp_path / name)
    _readers_pictures(tmp_path)
    runner = CliRunner()
    for line in doc_commands(path):
        argv = shlex.split(line, comments=True)[1:]
        if argv[:1] == ["playground"]:
            _run_playground(argv)
            continue
        result = runner.invoke(app, argv, env={"COLUMNS": "160"})
        assert result.exit_code == 0, (f"{path.name}: `{line}` exited {result.exit_code}:\n"
                                       f"{result.output[-2000:]}")


def test_the_commands_are_found() -> None:
    readme = doc_commands(ROOT / "README.md")
    assert any(c.startswith("descent descend") for c in readme)
    tutorial = doc_commands(ROOT / "docs" / "tutorial.md")
    assert "descent train" in tutorial and any(c.startswith("descent explain model")
                                               for c in tutorial)
