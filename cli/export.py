"""Writing an export (`--json PATH`, ...) to the path the user named, destroying nothing there.

What is at the path decides how it is written:

- nothing, or a regular file: a temporary file beside it is written, given the mode a new
  file would get (umask) or the existing file's mode and owner, and renamed over it, so a
  failed or interrupted run never leaves a partial or clobbered file;
- a symlink: followed; its final target is written as above and the link stays;
- a character device or a FIFO (`/dev/null`, `/dev/stdout` on a terminal or a pipe, a named
  pipe with a reader): written directly, never replaced;
- anything else (a block device, a socket, a folder): refused.

Everything that can be checked before the analysis is checked by `check_export_target`, so
a bad path costs no work and its message names the path the user gave.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .failures import UsageError
from .signals import raise_if_interrupted


@dataclass(frozen=True)
class ExportTarget:
    """Where an export goes. `path` is what the user typed; `real` is where bytes land."""

    option: str  # "--json", for messages
    path: str
    real: Path
    direct: bool  # a device or FIFO: opened and written in place

    def __str__(self) -> str:
        return self.path


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_our_stdout(info: os.stat_result) -> bool:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        return os.path.samestat(info, os.fstat(sys.stdout.fileno()))
    return False


def _probe_folder(option: str, target: str, folder: Path) -> None:
    """Create and remove a file in `folder`: the one test that `os.replace` will work there."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".complexity-probe.")
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise UsageError(
            f"{option} {target}: cannot create files in folder {folder} ({reason}); "
            "choose a writable folder"
        ) from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_export_target(fmt: str, target: str) -> ExportTarget | None:
    """Refuse a `--{fmt}` path we could not or must not write, before any work is done.

    None for `-` (stdout).
    """
    option = f"--{fmt}"
    if target == "-":
        return None
    if not target.strip():
        raise UsageError(f"{option} needs a file path (or - for stdout); it was given ''")
    path = Path(target)
    try:
        info = os.stat(path)  # follows symlinks, as every write here does
    except FileNotFoundError:
        info = None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UsageError(
                f"{option} {target} is a symlink loop; remove the link or give another path"
            ) from None
        if error.errno == errno.ENOTDIR:
            raise UsageError(
                f"{option} {target}: a part of the path is not a folder; check the path"
            ) from None
        raise UsageError(f"{option} {target}: {os.strerror(error.errno or 0)}") from None

    if info is None:  # a new file, possibly at the end of a dangling symlink
        real = Path(os.path.realpath(path))
        if not real.parent.is_dir():
            raise UsageError(
                f"{option} {target}: folder {real.parent} does not exist; create it first"
            )
        _probe_folder(option, target, real.parent)
        return ExportTarget(option, target, real, direct=False)

    if stat.S_ISDIR(info.st_mode):
        raise UsageError(
            f"{option} {target} is a folder; give a file path such as {path / f'report.{fmt}'}"
        )
    if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode) or _is_our_stdout(info):
        if not os.access(path, os.W_OK):
            raise UsageError(f"{option} {target}: you may not write to it; give another path")
        return ExportTarget(option, target, path, direct=True)
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(
            f"{option} {target} is not a regular file (a block device or socket); give a file path"
        )
    # A regular file (or a symlink to one): it is replaced, so it must be one the user could
    # have written. Root may write anything, so a file with no write bit at all is taken as
    # the owner's "read-only" and refused for everyone.
    mode = stat.S_IMODE(info.st_mode)
    if not os.access(path, os.W_OK) or not mode & 0o222:
        raise UsageError(
            f"{option} {target} is read-only (mode {mode:04o}); make it writable "
            f"(chmod u+w {target}) or give another path"
        )
    real = Path(os.path.realpath(path))
    _probe_folder(option, target, real.parent)
    return ExportTarget(option, target, real, direct=False)


def _dump(text: str, stream: TextIO) -> None:
    stream.write(text)
    stream.flush()


def write_export(target: ExportTarget, text: str) -> None:
    """Write `text` to `target` as its kind requires (see the module docstring)."""
    if target.direct:
        _write_in_place(target, text)
    else:
        _write_atomically(target, text)


def _write_in_place(target: ExportTarget, text: str) -> None:
    info = os.stat(target.real)
    if _is_our_stdout(info):  # e.g. --json /dev/stdout with stdout redirected to a file
        raise_if_interrupted()
        _dump(text, sys.stdout)
        return
    flags = os.O_WRONLY
    if stat.S_ISFIFO(info.st_mode):
        flags |= os.O_NONBLOCK  # a FIFO nobody reads would block forever: refuse it instead
    try:
        handle = os.open(target.real, flags)
    except OSError as error:
        if error.errno == errno.ENXIO:
            raise UsageError(
                f"{target.option} {target.path} is a named pipe that nobody is reading; "
                "start its reader first"
            ) from None
        raise UsageError(
            f"{target.option} {target.path}: {os.strerror(error.errno or 0)}"
        ) from None
    os.set_blocking(handle, True)
    raise_if_interrupted()
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        _dump(text, stream)


def _write_atomically(target: ExportTarget, text: str) -> None:
    try:
        previous = os.stat(target.real)
    except FileNotFoundError:
        previous = None
    handle, temporary = tempfile.mkstemp(
        dir=target.real.parent, prefix=f".{target.real.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            _dump(text, stream)
            os.fsync(stream.fileno())
            if previous is not None:
                # Keep owner and mode of the file being replaced (mkstemp makes it 0600).
                with contextlib.suppress(OSError):
                    os.fchown(stream.fileno(), previous.st_uid, previous.st_gid)
                os.fchmod(stream.fileno(), stat.S_IMODE(previous.st_mode))
            else:
                os.fchmod(stream.fileno(), 0o666 & ~_current_umask())  # as `open` would
        raise_if_interrupted()  # a Ctrl-C that some library swallowed still stops the export
        os.replace(temporary, target.real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
