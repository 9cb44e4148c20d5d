"""Ctrl-C ends the command with exit code 130, no traceback and nothing written.

Python turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be, and
some libraries catch it (a bare `except:` during an import, a model's own handler). The
handler below also records that the signal came, so the export can refuse to write after an
interrupt that something swallowed.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

_interrupted = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether a SIGINT arrived since the last guard was entered (even if swallowed)."""
    return _interrupted


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a SIGINT arrived since the guard was entered."""
    if _interrupted:
        raise KeyboardInterrupt


@contextlib.contextmanager
def interrupt_guard() -> Iterator[None]:
    """Record SIGINTs for the duration of one command; restore the previous handler after."""
    global _interrupted
    _interrupted = False
    try:
        previous = signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread: signals cannot be handled here anyway
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
