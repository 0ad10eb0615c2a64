"""`descent playground`: the browser playground, served from this machine."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from descent.cli.boundary import user_errors

EPILOG = """Examples:

  descent playground

  descent playground --port 8765 --no-browser

Everything the page uses ships with descent: nothing is fetched from the internet. The \
server listens on 127.0.0.1 only, unless --host says otherwise.
"""

LOCAL = ("127.0.0.1", "localhost", "::1")


def playground(
    port: Annotated[int, typer.Option(
        "--port", min=0, max=65535, help="The port to listen on (0: a free one).")] = 0,
    host: Annotated[str, typer.Option(
        "--host", help="The address to listen on. Anything but 127.0.0.1 lets other "
                       "machines use it (there is no login).")] = "127.0.0.1",
    browser: Annotated[bool, typer.Option(
        "--browser/--no-browser", help="Open the page in the default browser.")] = True,
) -> None:
    """Watch derivatives train a network, live, in the browser.

    Gradient descent on a formula you type; a network training on the circle, XOR, spiral,
    two moons, the Windsor house prices or your own CSV, each neuron drawn as a heat map;
    click a weight to see ∂C/∂w as a product of chain-rule factors, checked against the
    engine.
    """
    with user_errors():
        try:
            from descent.playground.server import serve
        except ImportError as error:
            raise ImportError(f"the playground needs {error.name}: pip install "
                              f"'descent[playground]'") from None
        if host not in LOCAL:
            print(f"warning: listening on {host}: anyone who can reach this machine can open "
                  f"the playground and make it train (there is no login)", file=sys.stderr,
                  flush=True)
        try:
            serve(host, port, open_browser=browser, announce=lambda s: print(s, flush=True))
        except KeyboardInterrupt:
            pass
