"""The `complexity` console script: a fresh process of its own, so it may set up the
process as the command needs it.

- Nothing heavy is imported before Ctrl-C is handled: `typer`, `rich` and `torch` take a
  noticeable time to import, and a Ctrl-C (or SIGTERM, SIGHUP) during those imports, or at
  any later moment up to the process's very end, ends like any other interrupt: exit 128 +
  the signal's number (130 for Ctrl-C), one line, no traceback.
- stdout carries the report alone: what other threads print goes to stderr, and once the
  command is done, so does everything else (the user's `atexit` handlers and threads).
- A closed stdout (`complexity ... >&-`) is a usage error, not a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from .signals import STOPPING_SIGNALS

USAGE = 2


class _MainThreadStdout:
    """sys.stdout for the command: the main thread's writes reach stdout; those of other
    threads (a model's logger or progress thread) go to stderr, so `--json -` stays JSON."""

    def __init__(self, stdout: Any, stderr: Any) -> None:
        self._stdout, self._stderr = stdout, stderr

    def _stream(self) -> Any:
        main = threading.current_thread() is threading.main_thread()
        return self._stdout if main else self._stderr

    def write(self, text: str) -> int:
        return self._stream().write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stdout.flush()
        self._stderr.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer...
        return getattr(self._stdout, name)


class _ProcessSignals:
    """The process's handler of stopping signals, behind the command's own (signals.py).

    While the command runs, the first signal raises KeyboardInterrupt (later ones are only
    recorded, so that no second one escapes the code handling the first); once the command
    is done, a signal ends the process at once with 128 + its number. Python's own
    teardown restores the default action of SIGINT, under which a late Ctrl-C kills the
    process (exit -2): that teardown is skipped (see `_finish`).
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self.finishing = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        first = self.received is None
        if first:
            self.received = signum
        if self.finishing:
            _stop(signum)
        if first:
            raise KeyboardInterrupt

    def install(self) -> None:
        for signum in STOPPING_SIGNALS:
            signal.signal(signum, self)


def _message_and_code(signum: int) -> tuple[str, int]:
    if signum == signal.SIGINT:
        return "interrupted", 128 + signum
    return f"stopped by {signal.Signals(signum).name}", 128 + signum


_STREAM_ERRORS = (AttributeError, OSError, ValueError)  # a closed stream, a reader gone


def _flush_all() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(*_STREAM_ERRORS):
            stream.flush()


def _say(message: str) -> None:
    _flush_all()
    with contextlib.suppress(*_STREAM_ERRORS):
        sys.__stderr__.write(f"error: {message}\n")
        sys.__stderr__.flush()


def _stop(signum: int) -> None:
    message, code = _message_and_code(signum)
    _say(message)
    os._exit(code)


def _command_code(argv: list[str] | None, handler: _ProcessSignals) -> int:
    try:
        from .main import run as run_command

        run_command(argv)
        return 0
    except KeyboardInterrupt:
        message, code = _message_and_code(handler.received or signal.SIGINT)
        sys.stderr.write(f"error: {message}\n")
        return code
    except SystemExit as stop:
        if isinstance(stop.code, int) or stop.code is None:
            return stop.code or 0
        sys.stderr.write(f"{stop.code}\n")
        return 1


def _finish(code: int) -> None:
    """End the process with `code`: the report is out; what the user's code still prints
    (non-daemon threads, `atexit` handlers) goes to stderr; no teardown after that."""
    _flush_all()
    with contextlib.suppress(*_STREAM_ERRORS):  # stdout's reader (a pipe) sees its end
        os.dup2(sys.__stderr__.fileno(), sys.__stdout__.fileno())
    sys.stdout = sys.stderr
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon:  # Python's own exit waits for these
            thread.join()
    import atexit

    atexit._run_exitfuncs()  # before os._exit, which would skip them
    _flush_all()
    os._exit(code)


def run(argv: list[str] | None = None) -> None:
    handler = _ProcessSignals()
    try:
        handler.install()
        if sys.stdout is None or sys.stderr is None:
            if sys.stderr is not None:
                sys.stderr.write(
                    "error: stdout is closed; give the command an open stdout "
                    "(e.g. > report.txt, or > /dev/null with --json PATH)\n"
                )
            code = USAGE
        else:
            sys.stdout = _MainThreadStdout(sys.stdout, sys.stderr)
            code = _command_code(argv, handler)
    except KeyboardInterrupt:  # a signal between the command's end and here
        message, code = _message_and_code(handler.received or signal.SIGINT)
        _say(message)
    handler.finishing = True
    if handler.received is not None and code == 0:  # a signal the command did not see
        _stop(handler.received)
    _finish(code)


if __name__ == "__main__":
    run()
