"""The `complexity` console script: nothing heavy is imported before Ctrl-C is handled.

`typer`, `rich` and `torch` take a noticeable time to import; a Ctrl-C during those imports
(or before the command installs its own handling) must end like any other interrupt: exit
130, one line, no traceback.
"""

from __future__ import annotations

import os
import sys

INTERRUPTED = 130


def run(argv: list[str] | None = None) -> None:
    try:
        from .main import run as run_command

        run_command(argv)
        code = 0
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        code = INTERRUPTED
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, (int, type(None))):
            sys.stderr.write(f"{stop.code}\n")
    if code == INTERRUPTED:
        # A Ctrl-C that escaped code CPython ran through exec (an import, a user file)
        # leaves its "unhandled KeyboardInterrupt" flag set even though we caught it, and
        # the interpreter then ends by re-raising SIGINT (exit -2) whatever sys.exit says.
        # This is a fresh process of its own: flush and leave with 130 directly.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED)
    sys.exit(code)


if __name__ == "__main__":
    run()
