"""Number formats of fvcore and mmengine, so our cells read exactly like the seed's."""

from __future__ import annotations

import re

# C0 and C1 controls (ESC starts colour, cursor and title sequences) and the bidirectional
# overrides that can reorder what a line shows. A newline stays a newline.
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with control characters written as Python escapes (`\\x1b`), so a module name
    (or any text from the user's code) cannot drive or hide things in the terminal."""
    return _CONTROLS.sub(lambda match: ascii(match.group())[1:-1], text)


def format_size(value: float, sig_figs: int = 3, hide_zero: bool = False) -> str:
    """fvcore's `_format_size`: 14835000000 -> '14.835G', 464 -> '0.464K', 100 -> '100'.

    `sig_figs` is really the number of decimals (fvcore's name), trailing zeros stripped;
    the thresholds are fvcore's (a value just above 1e5 is already written in M).
    """
    if hide_zero and value == 0:
        return ""

    def fixed(x: float) -> str:
        return f"{x:.{sig_figs}f}".rstrip("0").rstrip(".")

    magnitude = abs(value)
    for threshold, divisor, suffix in (
        (1e14, 1e15, "P"),
        (1e11, 1e12, "T"),
        (1e8, 1e9, "G"),
        (1e5, 1e6, "M"),
        (1e2, 1e3, "K"),
    ):
        if magnitude > threshold:
            return fixed(value / divisor) + suffix
    return str(value)


def format_arch_stat(value: float) -> str:
    """mmengine's model-printout format: two decimals (`#params: 1.55K, #flops: 4.3M`)."""
    return format_size(value, sig_figs=2)


def budget_line(metric: str, value: int, limit: int) -> str:
    """`budget exceeded: flops 14.835G > 10G` (the terminal prints only these), or
    `within budget: flops 14.835G ≤ 20G` (the HTML page shows every budget given)."""
    if value > limit:
        return f"budget exceeded: {metric} {format_size(value)} > {format_size(limit)}"
    return f"within budget: {metric} {format_size(value)} ≤ {format_size(limit)}"
