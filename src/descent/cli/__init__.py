"""The `descent` command line (typer): train, predict, descend, explain, demo.

Run `descent --help`, or `descent COMMAND --help` for a command's options and examples.
"""

from descent.cli.app import app, main

__all__ = ["app", "main"]
