"""Run the Python code blocks of README.md and docs/*.md, so the docs cannot drift from the code.

One test per Markdown file. A file's blocks run in file order in ONE shared namespace (a
later block may use the names an earlier one defined), inside a fresh temporary working
directory (files the docs write land there), with matplotlib's non-interactive Agg backend.
A block that raises fails the test with the file, block number, Markdown line and the
block's first line; tracebacks point at the Markdown file's own line numbers.

What the runner looks at, by the fence's info string (the words after the backticks):

    ```python           run it (also ```py and ```python3)
    ```python no-run    shown to the reader, NOT run: use it for code that needs things a
                        test cannot have (a user's own CSV file, a network connection, ...)
    ```output           what the python block just above it prints: the runner compares
                        the block's captured stdout with it (trailing spaces and blank lines
                        at the ends ignored) and fails with a diff when they differ. Only
                        blank lines may separate the two fences.
    anything else       ```bash, ```console, ```text, bare ``` ...: shown, never run

Keep every printed number in an ```output block deterministic (fixed seeds, float64, explicit
formatting); for results that may move in the last digits across machines (float32 training),
print nothing exact and `assert` a range in the code instead.

When an intended change alters what a block prints, refresh the ```output blocks with

    python tests/test_docs.py --update docs/tutorial.md

and read the diff before committing it: the update writes whatever the code now prints.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_LANGUAGES = {"python", "py", "python3"}
SKIP_MARKERS = {"no-run", "norun", "no_run"}
OUTPUT_LANGUAGE = "output"
MAX_IMAGE_BYTES = 200_000

_FENCE = re.compile(r"^(?P<indent> {0,3}|\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass
class Block:
    """One fenced block: `line` is the 1-based Markdown line of its first code line."""

    info: str
    code: str
    line: int
    fence_line: int
    n_lines: int

    @property
    def language(self) -> str:
        words = self.info.split()
        return words[0].lower() if words else ""

    @property
    def runs(self) -> bool:
        words = {w.lower() for w in self.info.split()[1:]}
        return self.language in RUN_LANGUAGES and not (words & SKIP_MARKERS)

    @property
    def first_line(self) -> str:
        lines = [s.strip() for s in self.code.splitlines() if s.strip()]
        return lines[0] if lines else "(empty block)"


def parse_blocks(text: str, name: str = "<markdown>") -> list[Block]:
    """Every fenced code block of `text`, in order (CommonMark fences: ``` or ~~~, 3 or more;
    a block closes at a fence of the same character at least as long, with no info string)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match or (match["fence"][0] == "`" and "`" in match["info"]):
            i += 1
            continue
        indent, fence, info = len(match["indent"]), match["fence"], match["info"].strip()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            close = _FENCE.match(lines[i])
            if (close and close["fence"][0] == fence[0] and len(close["fence"]) >= len(fence)
                    and not close["info"].strip()):
                break
            # Inside a list item the fence is indented: drop that much from each code line.
            line = lines[i]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            i += 1
        else:
            raise ValueError(f"{name}: the code fence opened at line {start + 1} is never "
                             f"closed")
        blocks.append(Block(info, "\n".join(body) + "\n", start + 2, start + 1, len(body)))
        i += 1
    return blocks


def blank_between(text: str, earlier: Block, later: Block) -> bool:
    """True when only blank lines separate `earlier`'s closing fence and `later`'s opening."""
    lines = text.splitlines()
    closing = earlier.line - 1 + earlier.n_lines  # 0-based index of its closing fence
    return all(not s.strip() for s in lines[closing + 1:later.fence_line - 1])


def expected_outputs(text: str, blocks: list[Block]) -> dict[int, Block]:
    """{index of a running block: the ```output block right after it}."""
    found = {}
    for k, block in enumerate(blocks):
        if block.language != OUTPUT_LANGUAGE:
            continue
        if k == 0 or not blocks[k - 1].runs or not blank_between(text, blocks[k - 1], block):
            raise ValueError(f"the ```output block at line {block.fence_line} does not follow a "
                             f"running ```python block (only blank lines may separate them)")
        found[k - 1] = block
    return found


def normalise(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.strip("\n").splitlines())


def doc_files() -> list[Path]:
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    return [f for f in files if f.is_file()]


def _doc_frames_only(error: BaseException, filename: str) -> str:
    """The traceback from the first frame that is in the Markdown file onwards."""
    tb = traceback.TracebackException.from_exception(error)
    stack = tb.stack
    for k, frame in enumerate(stack):
        if frame.filename == filename:
            tb.stack = traceback.StackSummary.from_list(stack[k:])
            break
    return "".join(tb.format())


def run_file(path: Path, update: bool = False) -> tuple[int, dict[int, str]]:
    """Run the file's python blocks in one namespace; return (blocks run, {index: stdout})."""
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    blocks = parse_blocks(text, rel)
    outputs = expected_outputs(text, blocks)
    namespace: dict[str, object] = {"__name__": "__main__", "__file__": str(path)}
    printed: dict[int, str] = {}
    number = 0
    for k, block in enumerate(blocks):
        if not block.runs:
            continue
        number += 1
        where = f"{rel}, block {number} (line {block.line}): {block.first_line}"
        # Pad with newlines so line numbers in tracebacks are the Markdown file's own.
        source = "\n" * (block.line - 1) + block.code
        captured = io.StringIO()
        try:
            code = compile(source, str(path), "exec")
            with contextlib.redirect_stdout(captured):
                exec(code, namespace)  # noqa: S102 - running the docs is the point
        except BaseException as error:  # noqa: BLE001 - report SystemExit etc. as failures too
            if isinstance(error, KeyboardInterrupt):
                raise
            out = captured.getvalue()
            shown = f"\n--- printed before the error ---\n{out}" if out.strip() else ""
            pytest.fail(f"{where}\nraised {type(error).__name__}: {error}\n\n"
                        f"{_doc_frames_only(error, str(path))}{shown}", pytrace=False)
        printed[k] = captured.getvalue()
        if k in outputs and not update:
            want, got = normalise(outputs[k].code), normalise(printed[k])
            if want != got:
                diff = "\n".join(difflib.unified_diff(
                    want.splitlines(), got.splitlines(), "```output in the docs",
                    "what the block printed", lineterm=""))
                pytest.fail(f"{where}\nprinted something other than its ```output block "
                            f"(line {outputs[k].fence_line}):\n{diff}\n\nIf the change is "
                            f"intended: python tests/test_docs.py --update {rel}",
                            pytrace=False)
    return number, printed


@contextlib.contextmanager
def docs_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A scratch working directory, the Agg backend, and no figures left open afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if "matplotlib" in sys.modules:
        import matplotlib

        matplotlib.use("Agg")
    try:
        yield
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


def runnable_doc_files() -> list[Path]:
    """The docs with at least one block to run (pages of prose and tables have none)."""
    return [p for p in doc_files()
            if any(b.runs for b in parse_blocks(p.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("path", runnable_doc_files(),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with docs_environment(tmp_path, monkeypatch):
        ran, _ = run_file(path)
    assert ran > 0


def test_the_tutorial_is_collected() -> None:
    """Guard against a runner that silently finds nothing (a broken fence regex, a move)."""
    tutorial = ROOT / "docs" / "tutorial.md"
    assert tutorial in doc_files()
    blocks = parse_blocks(tutorial.read_text(encoding="utf-8"))
    assert sum(b.runs for b in blocks) >= 20
    assert sum(b.language == OUTPUT_LANGUAGE for b in blocks) >= 10


def test_local_images_exist_and_are_small() -> None:
    image = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")
    for path in doc_files():
        for target in image.findall(path.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            file = (path.parent / target).resolve()
            assert file.is_file(), f"{path.name} shows {target}, which does not exist"
            assert file.stat().st_size < MAX_IMAGE_BYTES, f"{target} is over 200 KB"


# ---- the runner's own rules ---------------------------------------------------------------------

SAMPLE = """\
Text.

```python
x = 1
print(x + 1)
```

```output
2
```

```python no-run
open("my_own_data.csv")
```

````markdown
```python
this is an example of markdown, not code to run
```
````

~~~py
y = x * 10
~~~

```bash
descent --help
```

- a list item

  ```python
  if y:
      print(y)
  ```
"""


def test_parse_blocks_finds_fences_and_markers() -> None:
    blocks = parse_blocks(SAMPLE)
    assert [b.language for b in blocks] == ["python", "output", "python", "markdown", "py",
                                            "bash", "python"]
    assert [b.runs for b in blocks] == [True, False, False, False, True, False, True]
    assert blocks[0].line == 4 and blocks[0].first_line == "x = 1"
    assert blocks[3].code.startswith("```python")  # the inner fence belongs to the outer block
    assert blocks[6].code == "if y:\n    print(y)\n"  # the list item's indent is removed
    assert expected_outputs(SAMPLE, blocks) == {0: blocks[1]}


def test_run_file_checks_output_and_reports_the_failing_block(tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text(SAMPLE, encoding="utf-8")
    ran, printed = run_file(good)
    assert ran == 3 and printed[0] == "2\n" and printed[6] == "10\n"

    wrong = tmp_path / "wrong.md"
    wrong.write_text(SAMPLE.replace("```output\n2\n", "```output\n3\n"), encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"block 1 \(line 4\): x = 1[\s\S]*-3\n\+2"):
        run_file(wrong)

    broken = tmp_path / "broken.md"
    broken.write_text("```python\na = 1\n```\n\n```python\nb = a +\n```\n\n```python\n"
                      "raise ValueError('no')\n```\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"block 2 \(line 6\): b = a \+"):
        run_file(broken)
    broken.write_text("```python\na = 1\n```\n\n```python\nb = a\nc = b / 0\n```\n",
                      encoding="utf-8")
    with pytest.raises(pytest.fail.Exception,
                       match=r"block 2 \(line 6\): b = a\nraised ZeroDivisionError[\s\S]*line 7"):
        run_file(broken)


def test_an_unclosed_fence_is_an_error() -> None:
    with pytest.raises(ValueError, match="line 2 is never closed"):
        parse_blocks("Text\n```python\nx = 1\n")


# ---- refreshing the ```output blocks ------------------------------------------------------------

def update_outputs(path: Path) -> int:
    """Rewrite each ```output block of `path` with what its python block prints now."""
    import tempfile

    text = path.read_text(encoding="utf-8")
    blocks = parse_blocks(text, str(path))
    outputs = expected_outputs(text, blocks)
    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as mp:
        with docs_environment(Path(scratch), mp):
            _, printed = run_file(path, update=True)
    lines = text.splitlines(keepends=True)
    changed = 0
    for k in sorted(outputs, reverse=True):  # from the end, so earlier line numbers hold
        block = outputs[k]
        old = block.n_lines
        new = [line.rstrip() + "\n" for line in printed[k].strip("\n").splitlines()]
        if lines[block.line - 1:block.line - 1 + old] != new:
            changed += 1
        lines[block.line - 1:block.line - 1 + old] = new
    path.write_text("".join(lines), encoding="utf-8")
    return changed


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2 or args[0] != "--update":
        sys.exit("usage: python tests/test_docs.py --update FILE.md [FILE.md ...]")
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in args[1:]:
        count = update_outputs(Path(name).resolve())
        print(f"{name}: {count} output block(s) changed; review with git diff")
