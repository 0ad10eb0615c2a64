"""Every hint names options that exist, in the syntax of the interface.

Reads the source: every `hint(python, cli, command=...)` call in the package (the hints the
data and tabular layers raise) and every string in a command's own module, and checks that
each `--flag` it names is an option of that `descent` subcommand. A hint naming a flag that
does not exist fails here, before a user reads it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import typer

import descent
from descent.cli import app
from descent.cli.options import CLI_NAMES
from descent.data.hints import command_line, hint

SRC = Path(descent.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# modules of the command line -> the subcommand whose flags their strings name
COMMAND_MODULES = {"train.py": "train", "predict.py": "predict", "descend.py": "descend",
                   "explain.py": "explain", "demo.py": "demo"}


def flags_of(command: str) -> set[str]:
    click_app = typer.main.get_command(app)
    params = click_app.commands[command].params  # type: ignore[attr-defined]
    flags = {"--help"}
    for p in params:
        flags.update(o for o in [*p.opts, *p.secondary_opts] if o.startswith("--"))
    return flags


def literal_text(node: ast.AST) -> str:
    """The constant parts of a string or f-string expression (placeholders dropped)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(literal_text(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return literal_text(node.left) + " " + literal_text(node.right)
    return " "


def hint_calls() -> list[tuple[str, int, str, str]]:
    """(file, line, command, cli text) of every hint(...) call in the package."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in ("hint", "_hint") or len(node.args) < 2:
                continue
            command = "train"
            for kw in node.keywords:
                if kw.arg == "command":
                    command = kw.value.value  # type: ignore[attr-defined]
            found.append((path.name, node.lineno, command, literal_text(node.args[1])))
    return found


def test_there_are_hints_to_check():
    calls = hint_calls()
    assert len(calls) >= 8
    assert {c for _, _, c, _ in calls} >= {"train", "predict"}


@pytest.mark.parametrize("where, line, command, text", hint_calls(),
                         ids=lambda v: str(v)[:40])
def test_every_hint_names_flags_of_its_command(where, line, command, text):
    flags = FLAG.findall(text)
    assert flags, f"{where}:{line}: the command-line form {text!r} names no flag"
    missing = set(flags) - flags_of(command)
    assert not missing, f"{where}:{line}: {sorted(missing)} are not options of `descent {command}`"


@pytest.mark.parametrize("module, command", sorted(COMMAND_MODULES.items()))
def test_every_flag_a_command_module_names_exists(module, command):
    tree = ast.parse((SRC / "cli" / module).read_text())
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            named.update(FLAG.findall(node.value))
    missing = named - flags_of(command)
    assert not missing, f"cli/{module} names {sorted(missing)}, not options of `descent {command}`"


def test_the_recipe_names_in_messages_are_train_flags():
    assert set(CLI_NAMES.values()) <= flags_of("train")


def test_hints_switch_syntax_inside_the_command_line():
    assert hint("missing='median'", "--missing median") == "missing='median'"
    with command_line():
        assert hint("missing='median'", "--missing median") == "--missing median"
    assert hint("a", "b") == "a"
