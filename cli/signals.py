"""Ctrl-C, SIGTERM and SIGHUP end the command with exit code 128 + the signal's number (130
for Ctrl-C), one line, no traceback, and no export half written or left behind.

Python turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be, and
some libraries catch it (a bare `except:` during an import, a model's own handler). The
handler below raises the same KeyboardInterrupt for SIGTERM and SIGHUP (whose default
action would kill the process before the export's temporary files are removed), and
records which signal came, so the export can refuse to write after an interrupt that
something swallowed and the exit code can name the signal.

While `deferred()` is active (the export's final renames) a signal is only recorded; it is
raised when the block ends, so the renames happen all or not at all.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_received: int | None = None  # the first stopping signal since the guard was entered
_deferring = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _received
    if _received is None:
        _received = signum
    if not _deferring:
        raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether a stopping signal arrived since the guard was entered (even if swallowed)."""
    return _received is not None


def received_signal() -> int | None:
    """The first stopping signal since the guard was entered (signal.SIGINT, ...), or None."""
    return _received


def exit_code_and_message() -> tuple[int, str]:
    """128 + the signal's number and the line to print: (130, "interrupted") for Ctrl-C."""
    signum = _received or signal.SIGINT
    if signum == signal.SIGINT:
        return 128 + signum, "interrupted"
    return 128 + signum, f"stopped by {signal.Signals(signum).name}"


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a stopping signal arrived since the guard was entered."""
    if _received is not None:
        raise KeyboardInterrupt


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Record stopping signals without raising inside the block; raise at its end."""
    global _deferring
    previous, _deferring = _deferring, True
    try:
        yield
    finally:
        _deferring = previous
    raise_if_interrupted()


def _install(handler: Any) -> dict[int, Any] | None:
    """Set `handler` for every stopping signal; the previous handlers, None off the main thread."""
    previous: dict[int, Any] = {}
    try:
        for signum in STOPPING_SIGNALS:
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread: signals cannot be handled here anyway
        for signum, old in previous.items():
            signal.signal(signum, old)
        return None
    return previous


@contextlib.contextmanager
def interrupt_guard() -> Iterator[None]:
    """Handle stopping signals for the duration of one command; restore the handlers after."""
    global _received
    _received = None
    previous = _install(_on_signal)
    try:
        yield
    finally:
        if previous is not None:
            for signum, old in previous.items():
                signal.signal(signum, old)
