"""Runs `descent` commands inside one Python process and times each: the in-process
column of bench/tabular_suite.py.

Reads one JSON list of command-line arguments per line on stdin (what follows `descent`
on a command line), runs it through the command's own entry point (`descent.cli.app`,
the same parsing, files, checks and output as the console script) with its output sent
to a buffer, and answers one JSON line: wall and CPU seconds, the exit code, and the
output's last line when the command failed. Importing descent and the two commands
happens once, before the first line, as scikit-learn is imported before its models are
timed.

    printf '%s\\n' '["train", "t.csv", "--target", "y", "--out", "m.safetensors"]' |
        python bench/command_worker.py
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

import descent.cli.predict  # noqa: F401  (imported before timing; see above)
import descent.cli.train  # noqa: F401
from descent.cli.app import app


def run(argv: list[str]) -> dict:
    """Time one command; its output goes to a buffer, kept only to report a failure."""
    sink = io.StringIO()
    code: int | str | None = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            app(argv)  # as the console script: click ends it with SystemExit
        except SystemExit as exit_:
            code = exit_.code
    answer = {"seconds": time.perf_counter() - start,
              "cpu_seconds": time.process_time() - cpu_start, "rc": code or 0}
    if answer["rc"]:
        answer["error"] = (sink.getvalue().strip().splitlines() or [""])[-1]
    return answer


def main() -> None:
    for line in sys.stdin:
        print(json.dumps(run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
