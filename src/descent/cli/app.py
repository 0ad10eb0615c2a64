"""The `descent` command: train, predict, descend, explain, demo, playground."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

import descent

#: The subcommands: name -> (module in descent.cli, its function, its click class or None).
#: Each module is imported when its command runs (or `--help` lists them all), so that
#: `descent predict` does not import what `descent demo` or `descent train` need.
COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "train": ("train", "train", None),
    "predict": ("predict", "predict", None),
    "descend": ("descend", "descend", "FormulaCommand"),
    "explain": ("explain", "explain", None),
    "demo": ("demo", "demo", None),
    "playground": ("playground", "playground", None),
}


def _load_command(name: str) -> Any:
    """The click command of subcommand `name`, built by typer from its module's function."""
    module_name, function, cls = COMMANDS[name]
    module = importlib.import_module(f"descent.cli.{module_name}")
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    options: dict[str, Any] = {"epilog": module.EPILOG}
    if cls is not None:
        options["cls"] = getattr(module, cls)
    single.command(name, **options)(getattr(module, function))
    return typer.main.get_command(single)


class _Commands(dict):
    """The group's name -> command mapping, each command built on first lookup."""

    def __missing__(self, name: str) -> Any:
        if name not in COMMANDS:
            raise KeyError(name)
        command = self[name] = _load_command(name)
        return command

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or dict.__contains__(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter([*COMMANDS, *(n for n in dict.keys(self) if n not in COMMANDS)])

    def __len__(self) -> int:
        return len(list(iter(self)))

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(iter(self))

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(n, self[n]) for n in self]

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[n] for n in self]


class _LazyGroup(TyperGroup):
    """A typer group whose subcommands are imported when used (see COMMANDS)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)


app = typer.Typer(
    cls=_LazyGroup,
    name="descent",
    help="Train neural networks by backpropagation and gradient descent, and see every "
         "derivative they use.",
    epilog="Start with: descent train   (then: descent demo)",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # our errors are one line; tracebacks only for bugs
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        print(f"descent {descent.__version__}")
        raise typer.Exit()


@app.callback()
def _group(
    version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Train neural networks by backpropagation and gradient descent, and see every
    derivative they use."""


def main() -> None:
    """Entry point of the `descent` console script."""
    app()
