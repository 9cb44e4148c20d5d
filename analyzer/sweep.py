"""How cost grows with input size: the growth exponent between consecutive sizes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .report import Report
from .serving import Serving


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


@dataclass(frozen=True)
class SweepPoint:
    """One analysis of a sweep: the size asked for, the size fed, and its report."""

    shape: tuple[int, ...]  # the size asked for: (H, W), or (batch, sequence length)
    fed: tuple[int, ...]  # the size the model received (a preprocessor may pad it)
    size: float  # the size the growth exponent is taken in: the image side or the seq length
    input_label: str
    report: Report
    # what `size` measures: "side" (√(H·W) of an image), "seq_len", or "context" (the KV
    # cache's tokens of a decode step, whose report is the step's)
    axis: str = "side"
    serving: Serving | None = None  # a decode step's cache and prefill beside it

    def to_dict(self) -> dict[str, Any]:
        totals: dict[str, Any] = self.report.totals()  # the same keys as `analyze --json`
        data = {
            "shape": list(self.shape),
            "fed": list(self.fed),
            "size": self.size,
            "axis": self.axis,
            "input_shapes": self.report.input_shapes,
            "totals": totals,
        }
        if self.serving is not None:
            totals["kv_cache_bytes"] = self.serving.cache.bytes_at()
            totals["bytes_moved"] = self.serving.decode_bytes
            data["serving"] = self.serving.to_dict()
        return data


def sweep_growth(points: Sequence[SweepPoint], metric: str) -> list[float | None]:
    """The growth exponents of `metric`'s totals between consecutive points."""
    return growth_exponents([p.size for p in points], [p.report.total(metric) for p in points])
