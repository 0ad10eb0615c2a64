"""Check every file a command will write before it does any work.

One helper for every command that writes (`train --out/--plots`, `predict --out`,
`descend --plot`): an output that is one of the command's inputs (the same path, or the
same file reached through a symbolic link, a hard link or a relative path) is refused, and
so is an output whose folder is missing, not a folder or not writable, or an output that is
itself a folder. Found now, a mistake costs nothing; found after training, it costs the run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

from descent.io.atomic import TEMP_PREFIX

PathLike = str | os.PathLike[str]


class OutputError(ValueError):
    """An output path that cannot be written, or that would overwrite an input."""


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when `a` and `b` name the same file: equal resolved paths, or (both existing)
    the same inode, which also catches hard links.

    >>> same_file("x/../data.csv", "data.csv")
    True
    """
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _writable_folder(folder: Path) -> str | None:
    """Why files cannot be created in `folder`, or None when they can.

    Probes by creating (and removing) an empty hidden file: permission bits say nothing to
    root, and a read-only mount shows only when a write is tried.
    """
    if not folder.exists():
        return f"the folder {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    probe = folder / f"{TEMP_PREFIX}probe.{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        if error.errno == errno.EROFS:
            return f"the folder {folder} is on a read-only file system"
        if error.errno in (errno.EACCES, errno.EPERM):
            return f"permission denied: cannot write in the folder {folder}"
        return f"cannot write in the folder {folder} ({error.strerror or error})"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def check_outputs(outputs: Mapping[str, PathLike | None], inputs: Sequence[PathLike | None],
                  folders: Mapping[str, tuple[PathLike | None, Sequence[str]]] | None = None,
                  ) -> None:
    """Refuse, with one line naming the option, any output that cannot or must not be written.

    `outputs` maps an option as the user typed it ("--out") to the file it names (None:
    not given); `inputs` are the files the command reads; `folders` maps an option naming
    a folder that will be created if needed ("--plots") to (folder, the file names the
    command writes in it). Raises OutputError (a ValueError) on the first problem.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "data.csv").write_text("x\\n1\\n")
    4
    >>> check_outputs({"--out": d / "model.safetensors"}, [d / "data.csv"])
    >>> check_outputs({"--out": d / "data.csv"}, [d / "data.csv"])
    Traceback (most recent call last):
    ...
    descent.cli.outputs.OutputError: --out ... is the input file ...; write to another file
    """
    named = [p for p in inputs if p is not None]
    files: list[tuple[str, Path]] = [(option, Path(os.fspath(path)))
                                     for option, path in outputs.items() if path is not None]
    created: set[Path] = set()  # folders the command makes: nothing in them yet to check
    for option, (folder, names) in (folders or {}).items():
        if folder is None:
            continue
        where = Path(os.fspath(folder))
        if where.exists() and not where.is_dir():
            raise OutputError(f"{option} {where}: is a file; {option} takes a folder")
        if not where.exists():  # it will be created: its first existing ancestor must take it
            ancestor = where.absolute().parent
            while not ancestor.exists():
                ancestor = ancestor.parent
            why = _writable_folder(ancestor)
            if why is not None:
                raise OutputError(f"{option} {where}: cannot create the folder: {why}")
            created.add(where)
        files += [(option, where / name) for name in names]
    for option, path in files:
        for source in named:
            if same_file(path, source):
                raise OutputError(f"{option} {path} is the input file {source}; write to "
                                  "another file (descent never overwrites its input)")
        if path.is_dir():
            raise OutputError(f"{option} {path} is a folder; name a file inside it, such as "
                              f"{path / ('out' + path.suffix)}")
        if path.parent not in created:
            why = _writable_folder(path.parent)
            if why is not None:
                raise OutputError(f"{option} {path}: {why}")
    # Two outputs on one file would overwrite each other.
    for i, (option, path) in enumerate(files):
        for other_option, other in files[i + 1:]:
            if same_file(path, other):
                raise OutputError(f"{option} and {other_option} both name {path}; give them "
                                  "different files")
