"""Rich tables of `complexity compare`: modules matched by name, A, B, B − A, B / A."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from complexity.analyzer.diff import BOTH, ONLY_A, Change, ReportDiff
from complexity.analyzer.serving import Serving

from .fit import Column, FittedTable
from .formatting import format_size

METRIC_LABELS = (
    ("params", "params"),
    ("flops", "flops"),
    ("activations", "acts"),
    ("train_flops", "train flops"),  # with --train-step: forward + backward
    ("param_bytes", "param mem"),  # --memory
    ("activation_bytes", "act mem"),  # --memory
)
METRICS_SHOWN = ("params", "flops", "activations")
MEMORY_METRICS = ("param_bytes", "activation_bytes")


def shown_metrics(diff: ReportDiff, memory: bool = False) -> tuple[str, ...]:
    """The metrics the tables show: a train step's flops too when both reports have one,
    and parameter and activation bytes with `memory`."""
    train = ("train_flops",) if "train_flops" in diff.totals else ()
    return METRICS_SHOWN + train + (MEMORY_METRICS if memory else ())


ABSENT = "—"  # the cell of a module that only the other model has


def _format(metric: str, value: int) -> str:
    if metric in MEMORY_METRICS:
        from .memory_and_time import format_bytes

        return format_bytes(value)
    return format_size(value)


def change_cells(change: Change, metric: str = "flops") -> list[str]:
    """A, B, B − A and B / A as printed: missing sides as '—', an undefined ratio blank."""
    delta = change.delta
    return [
        ABSENT if change.a is None else _format(metric, change.a),
        ABSENT if change.b is None else _format(metric, change.b),
        "" if delta is None else ("+" if delta > 0 else "") + _format(metric, delta),
        "" if change.ratio is None else f"{change.ratio:.3f}",
    ]


def diff_table(diff: ReportDiff, depth: int, metrics: tuple[str, ...] | None = None) -> FittedTable:
    """Modules matched by name with A, B, B − A and B / A of each metric, then the totals.
    Printed narrower than its natural width, numbers stay whole and names fold after a dot."""
    metrics = metrics or shown_metrics(diff)
    labels = dict(METRIC_LABELS)
    title = None if len(metrics) > 1 else metrics[0]
    modules = diff.shown(depth)
    names = []
    for module in modules:
        name = Text(module.name or "model")
        if module.present != BOTH:
            name.append(" (only in A)" if module.present == ONLY_A else " (only in B)", "yellow")
        names.append(name)
    rows = [[change_cells(module.metrics[m], m) for m in metrics] for module in modules]
    rows.append([change_cells(diff.totals[m], m) for m in metrics])
    columns = [
        Column(
            suffix if title else f"{labels[metric]} {suffix}",
            [row[number][part] for row in rows],
            group=number,
        )
        for number, metric in enumerate(metrics)
        for part, suffix in enumerate(("A", "B", "B−A", "B/A"))
    ]
    return FittedTable(
        "module",
        [*names, Text("total", style="bold")],
        columns,
        indents=[module.depth for module in modules] + [0],
        title=title,
        header_style="bold",
        footer=1,
    )


def diff_tables(
    diff: ReportDiff, depth: int, console: Console, memory: bool = False
) -> list[FittedTable]:
    """One side-by-side table; one table per metric where the console is too narrow for it.
    `memory` adds parameter and activation bytes (binary units)."""
    metrics = shown_metrics(diff, memory)
    wide = diff_table(diff, depth, metrics)
    plans = wide.plans(console.width)
    if len(plans) == 1 and plans[0].key_width is None:  # fits at its natural width
        return [wide]
    return [diff_table(diff, depth, (metric,)) for metric in metrics]


def summary_lines(diff: ReportDiff, sources: tuple[str, str], labels: tuple[str, str]) -> list[str]:
    def line(title: str, change: Change) -> str:
        a, b, delta, ratio = change_cells(change)
        return f"{title}: {a} -> {b} ({delta or '0'}, x{ratio or 'n/a'})"

    return [
        "=" * 30,
        f"A: {sources[0]}, Input shape: {labels[0]}",
        f"B: {sources[1]}, Input shape: {labels[1]}",
        line("Model Flops", diff.totals["flops"]),
        line("Model Parameters", diff.totals["params"]),
        line("Model Activations", diff.totals["activations"]),
        *(
            [line("Train step Flops", diff.totals["train_flops"])]
            if "train_flops" in diff.totals
            else []
        ),
        "=" * 30,
    ]


def serving_change_line(a: Serving, b: Serving) -> str:
    """`KV cache at 512 tokens: 1.00 MiB -> 2.00 MiB; a decode step moves ... -> ...`."""
    from .memory_and_time import format_bytes

    return (
        f"KV cache at {a.cache.context} tokens: {format_bytes(a.cache.bytes_at())} "
        f"-> {format_bytes(b.cache.bytes_at())}; a decode step moves "
        f"{format_bytes(a.decode_bytes)} -> {format_bytes(b.decode_bytes)}"
    )
