"""The `complexity` console script: nothing heavy is imported before Ctrl-C is handled.

`typer`, `rich` and `torch` take a noticeable time to import; a Ctrl-C during those imports
(or before the command installs its own handling) must end like any other interrupt: exit
130, one line, no traceback.
"""

from __future__ import annotations

import sys

INTERRUPTED = 130


def run(argv: list[str] | None = None) -> None:
    try:
        from .main import run as run_command

        run_command(argv)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(INTERRUPTED)


if __name__ == "__main__":
    run()
