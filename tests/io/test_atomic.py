"""atomic_write: complete new file or untouched old one, and a SaveError that says why."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from descent.errors import DescentError, SaveError
from descent.io import TEMP_PREFIX, atomic_write
from descent.io import atomic as atomic_module

OLD = b"old contents \x00\xff" * 100
NEW = b"new contents" * 1000


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    target = tmp_path / "model.safetensors"
    target.write_bytes(OLD)
    return target


def test_writes_bytes_and_returns_the_path(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    assert atomic_write(target, NEW) == target
    assert target.read_bytes() == NEW
    assert _listing(tmp_path) == ["a.bin"]


def test_writes_through_a_function(existing: Path) -> None:
    def write(f):
        f.write(b"part one, ")
        f.write(bytearray(b"part two"))

    atomic_write(existing, write)
    assert existing.read_bytes() == b"part one, part two"


def test_accepts_memoryview_and_str_paths(tmp_path: Path) -> None:
    atomic_write(str(tmp_path / "m.bin"), memoryview(NEW)[:10])
    assert (tmp_path / "m.bin").read_bytes() == NEW[:10]


def test_new_file_gets_umask_permissions_not_mkstemp_0600(tmp_path: Path) -> None:
    atomic_write(tmp_path / "f", b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o666 & ~umask


def test_replacing_keeps_the_old_file_permissions(existing: Path) -> None:
    existing.chmod(0o640)
    atomic_write(existing, NEW)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640


def test_a_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.bin"
    real.write_bytes(OLD)
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    atomic_write(link, NEW)
    assert link.is_symlink() and real.read_bytes() == NEW


def test_a_long_file_name_still_fits_with_the_temp_prefix(tmp_path: Path) -> None:
    target = tmp_path / ("m" * 240 + ".safetensors")
    atomic_write(target, NEW)
    assert target.read_bytes() == NEW


def test_temp_file_is_anonymous_while_written_on_linux(existing: Path) -> None:
    """With O_TMPFILE the new contents have no name until complete: a kill -9 mid-write
    (see test_kill_during_save.py) leaves nothing behind."""
    assert atomic_module._O_TMPFILE, "Linux has O_TMPFILE"
    seen: list[str] = []

    def write(f):
        f.write(NEW)
        seen.extend(_listing(existing.parent))

    atomic_write(existing, write)
    assert seen == [existing.name]
    assert existing.read_bytes() == NEW


def test_temp_file_is_hidden_and_not_matched_by_the_target_suffix(
        existing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic_module, "_O_TMPFILE", 0)  # as on a system without O_TMPFILE
    seen: list[str] = []

    def write(f):
        f.write(NEW)
        seen.extend(_listing(existing.parent))

    atomic_write(existing, write)
    temps = [name for name in seen if name != existing.name]
    assert len(temps) == 1 and temps[0].startswith(TEMP_PREFIX)
    assert not temps[0].endswith(".safetensors")
    assert _listing(existing.parent) == [existing.name]


def _fail_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


# (what fails, errno, text the message must contain)
INJECTED = [
    ("open", errno.EROFS, "read-only file system"),
    ("open", errno.EACCES, "permission denied"),
    ("write", errno.ENOSPC, "disk full"),
    ("fsync", errno.ENOSPC, "disk full"),
    ("fsync", errno.EIO, "Input/output error"),
    ("close", errno.EDQUOT, "quota"),
    ("replace", errno.EACCES, "permission denied"),
    ("fchmod", errno.EPERM, "permission denied"),
]


@pytest.mark.parametrize(("function", "code", "reason"), INJECTED,
                         ids=[f"{f}-{errno.errorcode[c]}" for f, c, _ in INJECTED])
def test_injected_failure_raises_save_error_and_keeps_old_file(
    existing: Path, monkeypatch: pytest.MonkeyPatch, function: str, code: int, reason: str
) -> None:
    real = getattr(os, function)

    def fail_on_temp(*args, **kwargs):
        # Only the save's own calls fail: pytest and the rest of the process carry on.
        anonymous = function == "open" and len(args) > 1 and \
            args[1] & atomic_module._O_TMPFILE == atomic_module._O_TMPFILE
        if function in ("open", "replace") and TEMP_PREFIX not in str(args[0]) \
                and not anonymous:
            return real(*args, **kwargs)
        if function == "close":
            real(*args)  # as on Linux: the descriptor is released even when close fails
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic_module.os, function, fail_on_temp)
    with pytest.raises(SaveError) as info:
        atomic_write(existing, NEW)
    monkeypatch.undo()
    message = str(info.value)
    assert str(existing) in message and reason in message
    assert info.value.errno == code
    assert isinstance(info.value, OSError) and isinstance(info.value, DescentError)
    assert existing.read_bytes() == OLD
    assert _listing(existing.parent) == [existing.name]


def test_enospc_half_way_through_a_write_function(existing: Path) -> None:
    def write(f):
        f.write(NEW[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(SaveError, match="disk full"):
        atomic_write(existing, write)
    assert existing.read_bytes() == OLD
    assert _listing(existing.parent) == [existing.name]


def test_non_os_error_from_the_write_function_propagates_unchanged(existing: Path) -> None:
    def write(f):
        f.write(NEW)
        raise KeyError("a bug in the caller")

    with pytest.raises(KeyError, match="a bug in the caller"):
        atomic_write(existing, write)
    assert existing.read_bytes() == OLD
    assert _listing(existing.parent) == [existing.name]


def test_interrupt_cleans_up_too(existing: Path) -> None:
    def write(f):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(existing, write)
    assert _listing(existing.parent) == [existing.name]


def test_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "model.safetensors"
    with pytest.raises(SaveError, match=r"the folder .*such does not exist") as info:
        atomic_write(target, NEW)
    assert str(target) in str(info.value) and info.value.errno == errno.ENOENT
    assert not (tmp_path / "no").exists()


def test_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(OLD)
    with pytest.raises(SaveError, match="is a file, not a folder"):
        atomic_write(tmp_path / "plain" / "model.safetensors", NEW)
    assert (tmp_path / "plain").read_bytes() == OLD


def test_path_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep").write_bytes(OLD)
    with pytest.raises(SaveError, match="is a folder, not a file") as info:
        atomic_write(tmp_path / "d", NEW)
    assert info.value.errno == errno.EISDIR
    assert (tmp_path / "d" / "keep").read_bytes() == OLD
    assert _listing(tmp_path) == ["d"]


@contextlib.contextmanager
def _read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Make `folder` refuse new files by the first means that really works here.

    chmod is enough for ordinary users; root ignores it, but not the immutable attribute
    (chattr +i, on ext4/xfs/btrfs). Where neither works, os.open fails as a read-only
    mount would. Yields the means used.
    """
    probe = folder / "probe"
    folder.chmod(0o555)
    try:
        if not _can_create(probe):
            yield "chmod"
            return
        if _chattr("+i", folder) and not _can_create(probe):
            try:
                yield "chattr"
            finally:
                _chattr("-i", folder)
            return
        monkeypatch.setattr(atomic_module.os, "open", _fail_with(errno.EROFS))
        yield "monkeypatch"
        monkeypatch.undo()
    finally:
        folder.chmod(0o755)


def _can_create(probe: Path) -> bool:
    try:
        probe.touch()
    except OSError:
        return False
    probe.unlink()
    return True


def _chattr(flag: str, folder: Path) -> bool:
    try:
        done = subprocess.run(["chattr", flag, str(folder)], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def test_read_only_folder(existing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _read_only(existing.parent, monkeypatch):
        with pytest.raises(SaveError) as info:
            atomic_write(existing, NEW)
    message = str(info.value)
    assert str(existing) in message
    assert "permission denied" in message or "read-only" in message
    assert existing.read_bytes() == OLD
    assert _listing(existing.parent) == [existing.name]


def test_folder_sync_unsupported_is_ignored(existing: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic_module.os, "fsync", _fsync_failing_on_folders(errno.EINVAL))
    atomic_write(existing, NEW)
    assert existing.read_bytes() == NEW


def test_folder_sync_io_error_is_reported(existing: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic_module.os, "fsync", _fsync_failing_on_folders(errno.EIO))
    with pytest.raises(SaveError, match="could not sync its folder") as info:
        atomic_write(existing, NEW)
    assert info.value.errno == errno.EIO
    assert existing.read_bytes() == NEW  # the rename had happened: say so, don't pretend


def _fsync_failing_on_folders(code: int):
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(code, os.strerror(code))
        real(fd)

    return fsync
