"""`--max-flops 15G`, `--max-params 9M`, `--max-activations 40M`: fail a CI job, exit 3."""

from __future__ import annotations

from complexity.analyzer.budget import BudgetBreach, parse_quantity
from complexity.render.formatting import budget_line

from .failures import UsageError

BUDGET_EXCEEDED_EXIT = 3


def parse_budgets(limits: dict[str, str | None]) -> dict[str, int]:
    """{'flops': '15G', 'params': None} -> {'flops': 15_000_000_000}; a bad one is a UsageError."""
    parsed = {}
    for metric, text in limits.items():
        if text is None:
            continue
        flag = metric.replace("_", "-")
        try:
            parsed[metric] = parse_quantity(text)
        except ValueError as error:
            reason = "is too large" if "too large" in str(error) else "is not a number"
            raise UsageError(
                f"--max-{flag} {text!r} {reason}; write e.g. --max-{flag} 15G "
                "(suffixes K, M, G, T, P as printed)"
            ) from None
    return parsed


def budget_lines(breaches: list[BudgetBreach]) -> list[str]:
    """`budget exceeded: flops 14.835G > 10G`, one line per budget broken."""
    return [budget_line(b.metric, b.value, b.limit) for b in breaches]
