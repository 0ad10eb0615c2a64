"""The CLI's error boundary: a mistake a user can make ends in one line and exit status 2.

descent's own errors (DataError, ModelFileError, SaveError, FormulaError, DivergenceError:
all DescentError) already name the file, line, column or setting; so do the ValueErrors
that descent raises for bad settings, OSErrors name their path, and an ImportError of an
optional dependency (matplotlib for plots) says what to install; running out of memory
says so. Each becomes
`error: <message>` on stderr, on one line, and exit status 2; nothing a user can cause
prints a traceback. Set DESCENT_DEBUG=1 to get the traceback anyway (for bug reports).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from descent.errors import DescentError

USAGE_ERROR = 2  # the status click gives usage errors; ours match it
INTERRUPTED = 130  # 128 + SIGINT, the shell's convention


def one_line(message: str) -> str:
    """`message` as a single line: its lines joined, except that a formula error's echo of
    the text with a caret under the bad column is dropped (its first line names the column).

    >>> one_line("bad thing at column 3: `x.y`\\n  x.y\\n   ^")
    'bad thing at column 3: `x.y`'
    """
    lines = [part.strip() for part in str(message).splitlines() if part.strip()]
    if len(lines) >= 2 and set(lines[-1]) == {"^"}:
        lines = lines[:-2]
    return " ".join(lines)


def fail(message: str) -> typer.Exit:
    """Print `error: message` to stderr and return the Exit to raise (status 2)."""
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)
    return typer.Exit(USAGE_ERROR)


def _describe_os_error(error: OSError) -> str:
    if error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


@contextmanager
def user_errors() -> Iterator[None]:
    """Run a command body, turning user-caused errors into one line and exit status 2.

    >>> import typer
    >>> from descent.errors import DataError
    >>> try:
    ...     with user_errors():
    ...         raise DataError("houses.csv, line 3, column 'price': 'abc' is not a number")
    ... except typer.Exit as stop:
    ...     print(stop.exit_code)
    2
    """
    try:
        yield
    except typer.Exit:
        raise
    except BrokenPipeError:
        # The reader went away (`descent predict ... | head`): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(1) from None
    except (DescentError, ValueError, OSError, ImportError) as error:
        if os.environ.get("DESCENT_DEBUG"):
            raise
        message = _describe_os_error(error) if isinstance(error, OSError) \
            and not isinstance(error, DescentError) else str(error)
        raise fail(message) from None
    except MemoryError as error:
        if os.environ.get("DESCENT_DEBUG"):
            raise
        detail = f": {error}" if str(error) else ""
        raise fail(f"out of memory{detail}; try fewer rows, fewer columns or a smaller "
                   "network") from None
    except KeyboardInterrupt as stop:
        # Ctrl-C: exit 130 with one line; a command may say what it kept in the message.
        print(str(stop) or "interrupted", file=sys.stderr, flush=True)
        raise typer.Exit(INTERRUPTED) from None
