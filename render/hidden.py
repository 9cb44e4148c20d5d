"""Uncounted work that the convention's own unit would count: ranked, priced, shouted.

An op left uncounted is *hidden work* when it does what the convention counts but cannot
see (multiply-adds: attention under fvcore, MoE experts' grouped_mm) or has no rule at all;
elementwise ops a convention leaves out by definition (silu under fvcore) are not. Hidden
work is listed first, most `--convention flops` flops first, and named beside the total
once it exceeds 1% of it (docs/conventions.md, "Uncounted operators").
"""

from __future__ import annotations

from complexity.analyzer import CONVENTIONS, NOT_COUNTED_BY_CONVENTION, Report, UncountedOp
from complexity.analyzer.report import uncounted_rank

from .formatting import format_size

SDPA = "aten::scaled_dot_product_attention"
# Work shouted beside the total once it exceeds this share of the counted total.
HIDDEN_WORK_THRESHOLD = 0.01
# What a reader calls an op whose work went uncounted.
FRIENDLY_NAMES = {SDPA: "attention", "aten::_grouped_mm": "MoE experts (grouped_mm)"}


def ranked_uncounted(report: Report) -> list[UncountedOp]:
    """Hidden work first, most `--convention flops` flops first; then the ops the
    convention leaves out by definition, most calls first (`uncounted_rank`)."""
    return sorted(report.uncounted, key=uncounted_rank)


def hidden_work_line(report: Report) -> str | None:
    """`attention (4.295G under --convention macs, 64.3% of the total) is not counted by
    fvcore; see below`, when priced hidden work exceeds 1% of the counted total."""
    share = report.uncounted_share
    if share is not None and share <= HIDDEN_WORK_THRESHOLD:
        return None
    priced = [e for e in ranked_uncounted(report) if e.hidden and e.cost]
    if not priced:
        return None
    names = [
        f"{FRIENDLY_NAMES.get(e.op, e.op.split('::')[-1])} "
        f"({format_size(e.cost or 0)} under --convention {e.cost_convention})"
        for e in priced
    ]
    what = f"{names[0]} is" if len(names) == 1 else f"{', '.join(names)} are"
    of_total = f"{100 * share:.1f}% of the counted total" if share is not None else "all of it"
    return f"{what} not counted by {report.convention} ({of_total}); see below"


def cost_cell(entry: UncountedOp) -> str:
    """`0.268G (macs)`: what a hidden op would add, in the convention that priced it."""
    if not entry.hidden:
        return ""
    if entry.cost is None:
        return "unknown"
    return f"{format_size(entry.cost)} ({entry.cost_convention})"


def uncounted_title(report: Report) -> str:
    """`Operators not counted (fvcore convention): 13 operators, 67 calls`."""
    entries = report.uncounted
    calls = sum(e.count for e in entries)
    return (
        f"Operators not counted ({report.convention} convention): "
        f"{len(entries)} operator{'s' if len(entries) > 1 else ''}, {calls} calls"
    )


def convention_hints(report: Report, convention_option: str = "--convention") -> list[str]:
    """Which other convention counts the ops this one leaves out by definition."""
    marked = {e.op for e in report.uncounted if e.reason == NOT_COUNTED_BY_CONVENTION}
    # Name only the conventions that count every marked op.
    other = [
        name
        for name, convention in CONVENTIONS.items()
        if name != report.convention and marked and marked <= convention.rules.keys()
    ]
    hints = []
    if other:
        names = " or ".join(f"{convention_option} {c}" for c in other)
        hints.append(f"({names} counts the ops marked '{NOT_COUNTED_BY_CONVENTION}')")
    if SDPA in marked and "macs" in CONVENTIONS:
        hints.append(
            f"({convention_option} macs counts attention as matmuls: q·kᵀ and p·v, "
            "as torchvision's GFLOPS do)"
        )
    return hints


def free_ops_line(report: Report) -> str | None:
    """`Free under the fvcore convention: 148 calls (arange, cat, ...)`, if any ran."""
    if not report.ignored_ops:
        return None
    calls = sum(report.ignored_ops.values())
    names = ", ".join(op.split("::")[-1] for op in report.ignored_ops)
    return f"Free under the {report.convention} convention: {calls} calls ({names})"


__all__ = [
    "convention_hints",
    "cost_cell",
    "free_ops_line",
    "hidden_work_line",
    "ranked_uncounted",
    "uncounted_title",
]
