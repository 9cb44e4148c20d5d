"""Output files other than the JSON report (HTML pages): checked early, written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .loading import UsageError


def check_output_target(option: str, target: str | None, example: str) -> Path | None:
    """Refuse a path we could not write, before any work is done."""
    if target is None:
        return None
    path = Path(target)
    if path.is_dir():
        raise UsageError(
            f"{option} {target} is a folder; give a file path such as {path / example}"
        )
    if not path.parent.is_dir():
        raise UsageError(f"{option} {target}: folder {path.parent} does not exist; create it first")
    return path


def _mode_for(path: Path) -> int:
    """An existing file keeps its mode; a new one gets 0666 less the umask, as open() gives."""
    with contextlib.suppress(OSError):
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_text_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: never a partial or clobbered file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _mode_for(path))  # mkstemp makes 0600; keep what a new file gets
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
