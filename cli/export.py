"""The one export step of `analyze`, `compare` and `sweep`: every `--json`/`--html` path
is checked before any work, and all exports are written together at the end, destroying
nothing the user had.

What is at a path decides how it is written:

- nothing, or a regular file: a temporary file beside it is written, given the mode a new
  file would get (umask) or the existing file's mode and owner, and renamed over it;
- a symlink: followed; its final target is written as above and the link stays;
- a character device or a FIFO (`/dev/null`, `/dev/stdout` on a terminal or a pipe, a named
  pipe with a reader): opened when checked (a FIFO nobody reads is refused then, before
  the analysis) and written directly, never replaced;
- anything else (a block device, a socket, a folder, a path ending in `/`, a file with
  other hard links, which a rename would split from it): refused.

All or nothing: every file export is written to its temporary file first; only when all
are complete are they renamed, together, with Ctrl-C, SIGTERM and SIGHUP held until the
last rename (cli/signals.py). A failure or a signal before that removes the temporary
files and leaves every path as it was.

A path may not be what the command reads: the target, model A or B, or a file the config
reads (its `_base_` files, a config.json): writing the report there would destroy it.
Two exports may not share a path, and only one may go to stdout (`-`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .failures import UsageError
from .signals import deferred, raise_if_interrupted


@dataclass
class ExportTarget:
    """Where an export goes. `path` is what the user typed; `real` is where bytes land."""

    option: str  # "--json", for messages
    path: str
    real: Path
    direct: bool  # a device or FIFO: opened and written in place
    handle: int | None = None  # a direct target's descriptor, opened when it was checked

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
    if target.endswith(("/", os.sep)) and not os.path.isdir(target):
        raise UsageError(
            f"{option} {target} ends with '/', which names a folder; give a file path "
            f"such as {target.rstrip('/' + os.sep)}"
        )
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
        return ExportTarget(
            option, target, path, direct=True, handle=_open_direct(option, target, info)
        )
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
    if info.st_nlink > 1:
        raise UsageError(
            f"{option} {target} has {info.st_nlink - 1} other hard link(s), which replacing "
            "it would leave with the old report; give another path, or remove the other links"
        )
    real = Path(os.path.realpath(path))
    _probe_folder(option, target, real.parent)
    return ExportTarget(option, target, real, direct=False)


def _open_direct(option: str, target: str, info: os.stat_result) -> int | None:
    """Open a device or FIFO now, so a FIFO nobody reads is refused before any work.

    None for our own stdout (`/dev/stdout` redirected to a file): written through sys.stdout.
    """
    if _is_our_stdout(info):
        return None
    flags = os.O_WRONLY
    if stat.S_ISFIFO(info.st_mode):
        flags |= os.O_NONBLOCK  # a FIFO nobody reads would block forever: refuse it instead
    try:
        handle = os.open(target, flags)
    except OSError as error:
        if error.errno == errno.ENXIO:
            raise UsageError(
                f"{option} {target} is a named pipe that nobody is reading; start its reader first"
            ) from None
        raise UsageError(f"{option} {target}: {os.strerror(error.errno or 0)}") from None
    os.set_blocking(handle, True)
    return handle


def _dump(text: str, stream: TextIO) -> None:
    stream.write(text)
    stream.flush()


def _same_file(first: os.stat_result, path: str | Path) -> bool:
    try:
        return os.path.samestat(first, os.stat(path))
    except (OSError, ValueError):  # not a file (an import spec), or gone
        return False


class Exports:
    """The exports of one command, checked; `write` writes them all at the end."""

    def __init__(self, targets: Mapping[str, ExportTarget | None]) -> None:
        self.targets = dict(targets)  # format -> target, None for stdout
        # Descriptors held from the check are closed however the command ends.
        self._close = weakref.finalize(self, _close_all, list(self.targets.values()))

    def __contains__(self, fmt: str) -> bool:
        return fmt in self.targets

    @property
    def stdout_format(self) -> str | None:
        """The format that goes to stdout (`--json -`), if any."""
        return next((fmt for fmt, target in self.targets.items() if target is None), None)

    def refuse_overwriting(self, files: Mapping[str | Path, str]) -> None:
        """UsageError if an export path is one of `files` (path -> what it is to the command,
        e.g. "model B"): the report would replace what it was computed from."""
        for target in self.targets.values():
            if target is None:
                continue
            try:
                info = os.stat(target.real)
            except OSError:  # a new file: it cannot be one that was read
                continue
            for path, role in files.items():
                if _same_file(info, path):
                    raise UsageError(
                        f"{target.option} {target.path} is {role}: writing the report there "
                        "would destroy it; give another path"
                    )

    def write(self, texts: Mapping[str, str]) -> bool:
        """Write every export (`texts`: format -> text), all or nothing; the stdout export
        last. True when stdout carried an export (it then carries nothing else)."""
        staged: list[tuple[ExportTarget, str]] = []
        try:
            for fmt, target in self.targets.items():
                if target is not None and not target.direct:
                    staged.append((target, _stage(target, texts[fmt])))
            for fmt, target in self.targets.items():
                if target is not None and target.direct:
                    _write_in_place(target, texts[fmt])
            raise_if_interrupted()  # a signal that some library swallowed still stops them
            with deferred():  # a signal now waits for the last rename
                while staged:
                    target, temporary = staged[0]
                    os.replace(temporary, target.real)
                    staged.pop(0)
        finally:
            for _, temporary in staged:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            self._close()
        fmt = self.stdout_format
        if fmt is None:
            return False
        _dump(texts[fmt], sys.stdout)
        return True

    def written_lines(self) -> list[str]:
        """`JSON report written to PATH`, for each export to a path, as the user gave it."""
        return [
            f"{fmt.upper()} report written to {target.path}"
            for fmt, target in self.targets.items()
            if target is not None
        ]


def _close_all(targets: Iterable[ExportTarget | None]) -> None:
    for target in targets:
        if target is not None and target.handle is not None:
            handle, target.handle = target.handle, None
            with contextlib.suppress(OSError):
                os.close(handle)


def files_read_by(target: str, who: str) -> dict[str | Path, str]:
    """`target` ("model B", "the model (CONFIG)") and the files it is known to read before
    it is built (a folder's config.json, its `_base_` files), for `check_exports(reads=)`."""
    from complexity.targets import files_named

    reads: dict[str | Path, str] = {target: f"{who} itself"}
    for number, path in enumerate(files_named(target)):
        reads[path] = f"{who} itself" if number == 0 else f"a file {who} reads ({path.name})"
    return reads


def check_exports(
    exports: Mapping[str, str], reads: Mapping[str | Path, str] | None = None
) -> Exports:
    """Each export's path checked before any work: writable, not shared, not a file the
    command reads (`reads`: path -> what it is, e.g. {"m.py": "the model (CONFIG)"})."""
    targets: dict[str, ExportTarget | None] = {}
    try:
        for fmt, to in exports.items():
            targets[fmt] = check_export_target(fmt, to)
            _refuse_shared_path(targets, fmt)
        if "html" in targets:
            from .validation import PLOTLY_MISSING, plotly_available  # torch-free

            if not plotly_available():
                raise UsageError(PLOTLY_MISSING)
        if sum(target is None for target in targets.values()) > 1:
            raise UsageError("only one export can go to stdout (-); give the others a file path")
        checked = Exports(targets)
    except BaseException:
        _close_all(targets.values())
        raise
    checked.refuse_overwriting(reads or {})
    return checked


def _refuse_shared_path(targets: Mapping[str, ExportTarget | None], fmt: str) -> None:
    new = targets[fmt]
    if new is None or (new.direct and new.handle is None):
        return
    for other_fmt, other in targets.items():
        if other_fmt == fmt or other is None:
            continue
        same = other.real == new.real
        with contextlib.suppress(OSError):
            same = same or os.path.samefile(other.real, new.real)
        if same and not (new.direct and stat.S_ISCHR(os.stat(new.real).st_mode)):
            raise UsageError(
                f"{other.option} {other.path} and {new.option} {new.path} name the same file, "
                "so one report would replace the other; give each its own path"
            )


def _write_in_place(target: ExportTarget, text: str) -> None:
    if target.handle is None:  # our own stdout, e.g. --json /dev/stdout redirected to a file
        raise_if_interrupted()
        _dump(text, sys.stdout)
        return
    handle, target.handle = target.handle, None
    data = memoryview(text.encode("utf-8"))
    try:
        raise_if_interrupted()
        while data:  # unbuffered: after a signal, closing must not wait on a slow reader
            data = data[os.write(handle, data) :]
    finally:
        os.close(handle)


def _stage(target: ExportTarget, text: str) -> str:
    """Write `text` to a temporary file beside `target`, with its final mode; its path."""
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
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return temporary
