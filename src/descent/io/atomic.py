"""Write a file so that readers see the old bytes or the new ones, never a mix.

The new contents go to a temporary file in the target's folder (same file system, so the
final rename is atomic), are flushed and fsynced, then `os.replace`d onto the target, and
the folder is fsynced so the rename itself survives a power cut. A crash at any moment
leaves either the complete old file or the complete new one.

On Linux the temporary file is anonymous (O_TMPFILE) until the moment it is complete: a
process killed while writing, even by SIGKILL, leaves nothing behind, because the kernel
frees a file that has no name. Elsewhere (or on a file system without O_TMPFILE) it is a
named file whose name starts with `TEMP_PREFIX` (hidden, and never ending in the target's
suffix, so globs such as ``*.safetensors`` do not pick it up), removed on any exception,
Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from descent.errors import SaveError

TEMP_PREFIX = ".tmp-"

WriteFn = Callable[[BinaryIO], object]

# Folder fsync is unsupported on some file systems; the file itself is already durable.
_DIR_SYNC_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF}
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def atomic_write(path: str | os.PathLike[str], data: bytes | bytearray | memoryview | WriteFn,
                 ) -> Path:
    """Replace the file at `path` with `data` atomically and durably; return the path written.

    `data` is either the bytes to write or a function that writes them to a binary file
    object it is given. A symbolic link at `path` is followed: the file it points to is
    replaced. The folder must exist (it is not created).

    Raises SaveError (an OSError) naming the path and the reason when the file cannot be
    written (disk full, read-only or missing folder, `path` is a folder); the temporary file
    is removed and the previous file at `path` is left untouched. An exception raised by a
    `data` function that is not an OSError propagates unchanged, after the same clean-up.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> atomic_write(folder / "note.txt", b"hello").read_bytes()
        b'hello'
        >>> atomic_write(folder / "note.txt", lambda f: f.write(b"bye")).read_bytes()
        b'bye'
    """
    target = _resolve_target(path)
    tmp: str | None = None
    fd = -1
    try:
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
        fd, tmp = _create_temp(target)
        _copy_mode(fd, target)
        _write(fd, data)
        os.fsync(fd)
        if tmp is None:  # anonymous until now: give it a name for the atomic rename
            tmp = _link_anonymous(fd, target)
        closing, fd = fd, -1
        os.close(closing)  # close can report a deferred write error (NFS, quotas)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise _save_error(target, exc) from exc
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _sync_folder(target)
    return target


def _resolve_target(path: str | os.PathLike[str]) -> Path:
    target = Path(os.fspath(path))
    if target.is_symlink():
        return Path(os.path.realpath(target))
    return target


_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_PROC_FD = "/proc/self/fd"
# Errors meaning "this file system (or kernel) has no O_TMPFILE": use a named file instead.
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL, errno.ENOENT}


def _create_temp(target: Path) -> tuple[int, str | None]:
    """An open file descriptor for the new contents, and its name (None: anonymous)."""
    if _O_TMPFILE and os.path.isdir(_PROC_FD):
        try:
            return os.open(target.parent, _O_TMPFILE | os.O_WRONLY | _O_CLOEXEC, 0o666), None
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE:
                raise
    return _create_named_temp(target)


def _link_anonymous(fd: int, target: Path) -> str:
    """Give the complete anonymous file a temporary name in the target's folder."""
    stem = target.name[:100]
    # linkat(AT_SYMLINK_FOLLOW) through /proc/self/fd: os.link uses plain link() (which
    # does not follow the magic link) unless a directory fd is given.
    proc = os.open(_PROC_FD, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
    try:
        for _ in range(100):
            tmp = str(target.parent / f"{TEMP_PREFIX}{stem}.{secrets.token_hex(4)}")
            try:
                os.link(str(fd), tmp, src_dir_fd=proc, follow_symlinks=True)
                return tmp
            except FileExistsError:
                continue
    finally:
        with contextlib.suppress(OSError):  # the link is made; a failed close changes nothing
            os.close(proc)
    raise FileExistsError(errno.EEXIST, "could not pick a free temporary file name", str(target))


def _create_named_temp(target: Path) -> tuple[int, str]:
    # Our own O_EXCL open (not mkstemp) so the kernel applies the umask to mode 0o666 and the
    # new file gets the same permissions a plain open() would have given it.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY | _O_CLOEXEC
    stem = target.name[:100]  # stay under NAME_MAX with the prefix and random tail
    for _ in range(100):
        tmp = str(target.parent / f"{TEMP_PREFIX}{stem}.{secrets.token_hex(4)}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not pick a free temporary file name", str(target))


def _copy_mode(fd: int, target: Path) -> None:
    if not hasattr(os, "fchmod"):
        return
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    os.fchmod(fd, mode)


def _write(fd: int, data: bytes | bytearray | memoryview | WriteFn) -> None:
    if callable(data):
        with open(fd, "wb", closefd=False) as f:
            data(f)
        return
    view = memoryview(data).cast("B")
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_folder(target: Path) -> None:
    if os.name == "nt" or not hasattr(os, "O_DIRECTORY"):
        return  # Windows cannot open a folder for fsync; NTFS journals the rename itself
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        if exc.errno in _DIR_SYNC_UNSUPPORTED:
            return
        err = SaveError(
            f"saved {target}, but could not sync its folder ({exc.strerror or exc}); "
            "the new file may not survive a power cut"
        )
        err.errno = exc.errno
        raise err from exc


def _save_error(target: Path, exc: OSError) -> SaveError:
    err = SaveError(
        f"could not save {target}: {_reason(target, exc)}; "
        "any previous file at that path is unchanged"
    )
    err.errno = exc.errno
    return err


def _reason(target: Path, exc: OSError) -> str:
    folder = target.parent
    code = exc.errno
    if code == errno.ENOSPC:
        return "no space left on the device (disk full)"
    if code == getattr(errno, "EDQUOT", None):
        return "disk quota exceeded"
    if code == errno.EROFS:
        return f"the folder {folder} is on a read-only file system"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: cannot write in the folder {folder}"
    if code == errno.EISDIR:
        return f"{target} is a folder, not a file"
    if code == errno.ENOENT and not folder.exists():
        return f"the folder {folder} does not exist"
    if code == errno.ENOTDIR:
        return f"a part of {folder} is a file, not a folder"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long"
    return exc.strerror or str(exc) or type(exc).__name__
