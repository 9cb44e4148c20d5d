"""Numbers written with the SI suffixes the tables print: 15G, 9.5M, 3.35T, 2e9.

One parser for every option that takes such a number (`--max-flops`, `--device-spec`
fields). Imports nothing heavy: the command line checks its options with it before torch.
"""

from __future__ import annotations

import math
import re

# The suffixes of the printed numbers (fvcore's format: 14.835G, 8.887M, 0.464K); any case.
SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_QUANTITY = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?\s*([KMGTP]?)\s*", re.I)


def parse_si(text: str) -> float:
    """'15G' -> 1.5e10, '9.5M', '1.5k', '2e9', '3.35T', '120'; ValueError otherwise."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a number with an optional K, M, G, T or P suffix")
    mantissa, exponent, suffix = match.groups()
    try:
        value = float(mantissa) * 10 ** int(exponent or 0) * SUFFIXES[suffix.upper()]
    except OverflowError:  # 1e400: 10**400 is beyond any float
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is too large")
    return value
