"""Budgets for CI: limits on a report's totals, written with the SI suffixes the tables print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .quantities import parse_si

if TYPE_CHECKING:
    from .report import Report


def parse_quantity(text: str) -> int:
    """'15G' -> 15_000_000_000, '9M', '1.5k', '2e9', '120' -> 120; ValueError otherwise."""
    return round(parse_si(text))


@dataclass(frozen=True)
class BudgetBreach:
    metric: str
    value: int
    limit: int


def check_budgets(report: Report, limits: dict[str, int]) -> list[BudgetBreach]:
    """The budgets `report`'s totals exceed (strictly), in ALL_METRICS order."""
    from .report import ALL_METRICS  # the report imports torch; parsing a budget does not

    unknown = set(limits) - set(ALL_METRICS)
    if unknown:
        known = ", ".join(ALL_METRICS)
        raise ValueError(f"unknown metric {sorted(unknown)[0]!r}; use one of {known}")
    return [
        BudgetBreach(metric, report.total(metric), limits[metric])
        for metric in ALL_METRICS
        if metric in limits and report.total(metric) > limits[metric]
    ]
