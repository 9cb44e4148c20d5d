"""How cost grows with input size: the growth exponent between consecutive sizes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def growth_exponents(sizes: Sequence[float], values: Sequence[float]) -> list[float | None]:
    """k with value ∝ size**k between each pair of consecutive points: log(v2/v1) / log(s2/s1).

    One entry per pair, so len(sizes) - 1 of them; None where it is undefined (equal sizes,
    or a zero value on either side). A conv net gives ~2 in the image side; attention's
    score matmuls give 2 in the sequence length.
    """
    if len(sizes) != len(values):
        raise ValueError("sizes and values must have the same length")
    exponents: list[float | None] = []
    for (s1, v1), (s2, v2) in itertools.pairwise(zip(sizes, values, strict=True)):
        if s1 <= 0 or s2 <= 0 or s1 == s2 or v1 <= 0 or v2 <= 0:
            exponents.append(None)
        else:
            exponents.append(math.log(v2 / v1) / math.log(s2 / s1))
    return exponents
