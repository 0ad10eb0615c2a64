"""Hints in the syntax of the interface the user is in: Python keywords or command flags.

A message raised deep in `descent.data` ("read the column as text with ...") reaches a
Python user and a shell user alike. Each hint is written once in both forms; the command
line switches the rendering for the duration of a command with `command_line()`, so the
shell user reads `--categorical zip` where the Python user reads `kinds={'zip': 'categorical'}`.

    >>> hint("missing='median'", "--missing median")
    "missing='median'"
    >>> with command_line():
    ...     hint("missing='median'", "--missing median")
    '--missing median'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_STYLE: ContextVar[str] = ContextVar("descent_hint_style", default="python")


def hint(python: str, cli: str, command: str = "train") -> str:
    """`python` or `cli`, whichever matches the interface in use.

    `command` names the `descent` subcommand whose flags `cli` uses (tests check that every
    flag named in a hint exists on that command).
    """
    return cli if _STYLE.get() == "cli" else python


def in_command_line() -> bool:
    """True inside `command_line()`."""
    return _STYLE.get() == "cli"


@contextmanager
def command_line() -> Iterator[None]:
    """Render hints as command-line flags inside this block."""
    token = _STYLE.set("cli")
    try:
        yield
    finally:
        _STYLE.reset(token)
