"""Writing the JSON report to the path the user named, without destroying anything there.

What is at the path decides how it is written:

- nothing, or a regular file: a temporary file beside it is written, given the mode a new
  file would get (umask) or the existing file's mode and owner, and renamed over it, so a
  failed or interrupted run never leaves a partial or clobbered file;
- a symlink: followed; its final target is written as above and the link stays;
- a character device or a FIFO (`/dev/null`, `/dev/stdout` on a terminal or a pipe, a named
  pipe with a reader): written directly, never replaced;
- anything else (a block device, a socket, a folder): refused.

Everything that can be checked before the analysis is checked by `check_json_target`, so a
bad path costs no work and its message names the path the user gave.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .loading import UsageError
from .signals import raise_if_interrupted


@dataclass(frozen=True)
class JsonTarget:
    """Where the report goes. `path` is what the user typed; `real` is where bytes land."""

    path: str
    real: Path
    direct: bool  # a device or FIFO: opened and written in place


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_our_stdout(info: os.stat_result) -> bool:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        return os.path.samestat(info, os.fstat(sys.stdout.fileno()))
    return False


def _probe_folder(target: str, folder: Path) -> None:
    """Create and remove a file in `folder`: the one test that `os.replace` will work there."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".complexity-probe.")
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise UsageError(
            f"--json {target}: cannot create files in folder {folder} ({reason}); "
            "choose a writable folder"
        ) from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_json_target(target: str | None) -> JsonTarget | None:
    """Refuse a JSON path we could not or must not write, before any work is done."""
    if target is None or target == "-":
        return None
    if not target.strip():
        raise UsageError("--json needs a file path (or - for stdout); it was given ''")
    path = Path(target)
    try:
        info = os.stat(path)  # follows symlinks, as every write here does
    except FileNotFoundError:
        info = None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UsageError(
                f"--json {target} is a symlink loop; remove the link or give another path"
            ) from None
        if error.errno == errno.ENOTDIR:
            raise UsageError(
                f"--json {target}: a part of the path is not a folder; check the path"
            ) from None
        raise UsageError(f"--json {target}: {os.strerror(error.errno or 0)}") from None

    if info is None:  # a new file, possibly at the end of a dangling symlink
        real = Path(os.path.realpath(path))
        if not real.parent.is_dir():
            raise UsageError(
                f"--json {target}: folder {real.parent} does not exist; create it first"
            )
        _probe_folder(target, real.parent)
        return JsonTarget(target, real, direct=False)

    if stat.S_ISDIR(info.st_mode):
        raise UsageError(
            f"--json {target} is a folder; give a file path such as {path / 'report.json'}"
        )
    if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode) or _is_our_stdout(info):
        if not os.access(path, os.W_OK):
            raise UsageError(f"--json {target}: you may not write to it; give another path")
        return JsonTarget(target, path, direct=True)
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(
            f"--json {target} is not a regular file (a block device or socket); give a file path"
        )
    # A regular file (or a symlink to one): it is replaced, so it must be one the user could
    # have written. Root may write anything, so a file with no write bit at all is taken as
    # the owner's "read-only" and refused for everyone.
    mode = stat.S_IMODE(info.st_mode)
    if not os.access(path, os.W_OK) or not mode & 0o222:
        raise UsageError(
            f"--json {target} is read-only (mode {mode:04o}); make it writable "
            f"(chmod u+w {target}) or give another path"
        )
    real = Path(os.path.realpath(path))
    _probe_folder(target, real.parent)
    return JsonTarget(target, real, direct=False)


def _dump(data: Any, stream: TextIO) -> None:
    json.dump(data, stream, indent=2)
    stream.write("\n")
    stream.flush()


def write_json(target: JsonTarget, data: Any) -> None:
    """Write `data` as JSON to `target` as its kind requires (see the module docstring)."""
    if target.direct:
        _write_in_place(target, data)
    else:
        _write_atomically(target, data)


def _write_in_place(target: JsonTarget, data: Any) -> None:
    info = os.stat(target.real)
    if _is_our_stdout(info):  # e.g. --json /dev/stdout with stdout redirected to a file
        raise_if_interrupted()
        _dump(data, sys.stdout)
        return
    flags = os.O_WRONLY
    if stat.S_ISFIFO(info.st_mode):
        flags |= os.O_NONBLOCK  # a FIFO nobody reads would block forever: refuse it instead
    try:
        handle = os.open(target.real, flags)
    except OSError as error:
        if error.errno == errno.ENXIO:
            raise UsageError(
                f"--json {target.path} is a named pipe that nobody is reading; "
                "start its reader first"
            ) from None
        raise UsageError(f"--json {target.path}: {os.strerror(error.errno or 0)}") from None
    os.set_blocking(handle, True)
    raise_if_interrupted()
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        _dump(data, stream)


def _write_atomically(target: JsonTarget, data: Any) -> None:
    try:
        previous = os.stat(target.real)
    except FileNotFoundError:
        previous = None
    handle, temporary = tempfile.mkstemp(
        dir=target.real.parent, prefix=f".{target.real.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            _dump(data, stream)
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
