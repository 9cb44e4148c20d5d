"""Running the user's code (model file, factory, forward) without letting it take over.

- Whatever it prints goes to stderr: stdout carries only the report (`--json -` is pure
  JSON), at the Python level and at the file-descriptor level (C extensions, subprocesses).
- It sees `sys.argv == [its file]`, as under `python its_file.py`, so an argparse parser at
  import time parses its own (empty) command line, not ours.
- `sys.exit()` or an argparse error in it becomes one TargetError line (exit 2) that quotes
  the last line it printed to stderr, instead of silently ending the command.
- It cannot take Ctrl-C away: a handler it sets for SIGINT (even SIG_IGN), SIGTERM or
  SIGHUP is replaced by the caller's when it returns.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from collections.abc import Iterator

from .spec import TargetError

LOADING_EXIT_HINT = "keep script code (argparse, main()) under `if __name__ == '__main__':`"
FORWARD_EXIT_HINT = "a forward must return its outputs"


_SIGNALS_KEPT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _handlers_kept() -> Iterator[None]:
    """A model file that ignores Ctrl-C (`signal.signal(SIGINT, SIG_IGN)`) or installs its
    own handler does not take it away from the caller: the caller's handlers come back."""
    callers = {signum: signal.getsignal(signum) for signum in _SIGNALS_KEPT}
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # off the main thread nothing was changed
            for signum, handler in callers.items():
                if handler is not None and signal.getsignal(signum) is not handler:
                    signal.signal(signum, handler)


@contextlib.contextmanager
def _stdout_descriptor_to_stderr() -> Iterator[None]:
    try:
        stdout_fd, stderr_fd = sys.__stdout__.fileno(), sys.__stderr__.fileno()
    except (AttributeError, OSError, ValueError):  # no real descriptors (embedded, tests)
        yield
        return
    sys.__stdout__.flush()
    saved = os.dup(stdout_fd)
    try:
        os.dup2(stderr_fd, stdout_fd)
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.__stdout__.flush()
        os.dup2(saved, stdout_fd)
        os.close(saved)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


@contextlib.contextmanager
def user_code(where: str, doing: str, hint: str) -> Iterator[None]:
    """Run the user's code for `where` (a path or spec) while `doing` (e.g. "loading it").

    `hint` is the fix the error line gives if that code calls sys.exit.
    """
    argv = sys.argv
    real_stderr = sys.stderr
    said = io.StringIO()  # its stderr: replayed after it, or quoted if it exits
    sys.argv = [where]
    try:
        with (
            _handlers_kept(),
            _stdout_descriptor_to_stderr(),
            contextlib.redirect_stdout(real_stderr),
            contextlib.redirect_stderr(said),
        ):
            yield
    except SystemExit as stop:
        quoted = _last_line(said.getvalue())
        if not quoted and isinstance(stop.code, str):
            quoted = _last_line(stop.code)
        said = io.StringIO()  # quoted instead of replayed: one line in all
        code = "" if stop.code is None else stop.code if isinstance(stop.code, int) else 1
        raise TargetError(
            f"{where} called sys.exit({code}) while {doing}"
            + (f" ({quoted})" if quoted else "")
            + "; "
            + hint
        ) from None
    finally:
        sys.argv = argv
        real_stderr.write(said.getvalue())
