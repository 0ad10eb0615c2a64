"""Every `$ descent ...` command in README.md and docs/*.md runs as written (exit status 0).

Commands are taken from the shell blocks (```console, ```bash, ```shell, ```sh) in file
order and run in one scratch folder per file, so a later command may use what an earlier
one wrote (`descent train` writes model.safetensors for `descent explain`). Files that the
docs present as the reader's own are stand-ins: houses.csv, new_houses.csv and big.csv are
copies of the embedded Windsor data, customers.csv and new_customers.csv the spreadsheet
fixtures in tests/fixtures; picture folders (my_pets/, new_photos/, ...) are a few small
PNGs, and cat.png a picture from the shipped cats and dogs.
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
import numpy as np
import pytest
from typer.testing import CliRunner

import descent
from descent.cli import app
from tests.test_docs import doc_files, parse_blocks

ROOT = Path(__file__).resolve().parents[1]
SHELL = {"console", "bash", "shell", "sh"}
WINDSOR = Path(descent.__file__).parent / "datasets" / "windsor_housing.csv"
FIXTURES = ROOT / "tests" / "fixtures"
READERS_FILES = {"houses.csv": WINDSOR, "new_houses.csv": WINDSOR, "big.csv": WINDSOR,
                 "customers.csv": FIXTURES / "customers.csv",
                 "new_customers.csv": FIXTURES / "customers_new.csv"}


# Picture folders a doc may present as the reader's own: a folder per class, or loose files.
PICTURE_FOLDERS = {"my_pets": ("cat", "dog"), "pets": ("cat", "dog"), "new_photos": (),
                   "photos": ()}


def _picture_stand_in(folder: Path, classes: tuple[str, ...]) -> None:
    """12 small gray PNGs per class (round blobs for the first class, squares for the
    second), or 6 loose ones (tom.png among them) for a folder to predict on."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)

    def picture(kind: int, path: Path) -> None:
        image = Image.new("L", (28, 28), 0)
        x, y = (int(v) for v in rng.integers(4, 10, 2))
        size = int(rng.integers(12, 17))
        box = (x, y, x + size, y + size)
        (ImageDraw.Draw(image).ellipse if kind == 0 else ImageDraw.Draw(image).rectangle)(
            box, fill=255)
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)

    if classes:
        for kind, name in enumerate(classes):
            for k in range(12):
                picture(kind, folder / name / f"{name}{k}.png")
    else:
        for k, name in enumerate(["tom", "rex", "kit", "max", "bob", "zoe"]):
            picture(k % 2, folder / f"{name}.png")


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


def _readers_picture(path: Path) -> None:
    """One picture of a cat from the shipped cats and dogs, as a PNG file."""
    from PIL import Image

    Image.fromarray(descent.data.load_cats_dogs().images[1, 0]).save(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", _files_with_commands(),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_in_the_docs_runs_as_written(path: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    commands = doc_commands(path)
    for name, source in READERS_FILES.items():
        if any(name in shlex.split(line, comments=True) for line in commands):
            shutil.copy(source, tmp_path / name)
    for name, classes in PICTURE_FOLDERS.items():
        if any(re.search(rf"(^|\s){name}/", line) for line in commands):
            _picture_stand_in(tmp_path / name, classes)
    if any("cat.png" in line for line in commands):
        _readers_picture(tmp_path / "cat.png")
    runner = CliRunner()
    for line in commands:
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
