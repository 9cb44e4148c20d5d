"""Budgets for CI: limits on a report's totals, written with the SI suffixes the tables print."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .report import ALL_METRICS, Report

# The suffixes of the printed numbers (fvcore's format): 14.835G, 8.887M, 0.464K.
SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_QUANTITY = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?\s*([KMGTP]?)\s*", re.I)


def parse_quantity(text: str) -> int:
    """'15G' -> 15_000_000_000, '9M', '1.5k', '2e9', '120' -> 120; ValueError otherwise."""
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
    return round(value)


@dataclass(frozen=True)
class BudgetBreach:
    metric: str
    value: int
    limit: int


def check_budgets(report: Report, limits: dict[str, int]) -> list[BudgetBreach]:
    """The budgets `report`'s totals exceed (strictly), in ALL_METRICS order."""
    unknown = set(limits) - set(ALL_METRICS)
    if unknown:
        known = ", ".join(ALL_METRICS)
        raise ValueError(f"unknown metric {sorted(unknown)[0]!r}; use one of {known}")
    return [
        BudgetBreach(metric, report.total(metric), limits[metric])
        for metric in ALL_METRICS
        if metric in limits and report.total(metric) > limits[metric]
    ]
