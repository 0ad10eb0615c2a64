"""The `descent` command: train, predict, descend, explain, demo, playground."""

from __future__ import annotations

from typing import Annotated

import typer

import descent
from descent.cli import demo, descend, explain, playground, predict, train

app = typer.Typer(
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


app.command("train", epilog=train.EPILOG)(train.train)
app.command("predict", epilog=predict.EPILOG)(predict.predict)
app.command("descend", epilog=descend.EPILOG, cls=descend.FormulaCommand)(descend.descend)
app.command("explain", epilog=explain.EPILOG)(explain.explain)
app.command("demo", epilog=demo.EPILOG)(demo.demo)
app.command("playground", epilog=playground.EPILOG)(playground.playground)


def main() -> None:
    """Entry point of the `descent` console script."""
    app()
