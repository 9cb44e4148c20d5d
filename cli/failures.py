"""The one line and exit code an exception ends the command with.

Kept apart from command.py, which imports torch: after a Ctrl-C in the middle of
`import torch`, importing it again fails, and the error handler must still work.
"""

from __future__ import annotations

import sys

from complexity.targets.spec import TargetError


class UsageError(Exception):
    """Bad input from the user: a one-line message, exit code 2."""


# C0/C1 controls but the newline, and the bidirectional overrides (render/formatting.py's
# `visible` does the same for the report; this module may import nothing heavy).
_CONTROLS = {
    code: ascii(chr(code))[1:-1]
    for code in (
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
    if code != 0x0A
}


def printable(message: str) -> str:
    """An error line with control characters written as escapes (`\\x1b`): a module name
    or path in it cannot drive the terminal."""
    return message.translate(_CONTROLS)


def describe_failure(error: BaseException) -> tuple[str, int]:
    """One line and an exit code for an exception that ends the command.

    Imports nothing: after a Ctrl-C during start-up, torch may be half imported.
    """
    analysis = sys.modules.get("complexity.analyzer.tracing")
    if isinstance(error, (UsageError, TargetError)):
        return str(error), 2
    if analysis is not None and isinstance(error, analysis.AnalysisError):
        return str(error), 1
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": "), 1
