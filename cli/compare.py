"""`complexity compare A B`: two analyses under one convention, modules matched by name."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from complexity.analyzer.diff import BOTH, ONLY_A, Change, ReportDiff

from .command import check_json_target, output_console, spinner, tool_version, write_json_atomically
from .files import write_text_atomically
from .formatting import format_size
from .html_report import check_html_target
from .loading import UsageError, load, parse_shape

METRIC_LABELS = (("params", "params"), ("flops", "flops"), ("activations", "acts"))
METRICS_SHOWN = tuple(metric for metric, _ in METRIC_LABELS)
MISSING = "—"


def _signed(value: int) -> str:
    return ("+" if value > 0 else "") + format_size(value)


def change_cells(change: Change) -> list[str]:
    """A, B, B − A and B / A as printed: missing sides as '—', an undefined ratio blank."""
    return [
        MISSING if change.a is None else format_size(change.a),
        MISSING if change.b is None else format_size(change.b),
        "" if change.delta is None else _signed(change.delta),
        "" if change.ratio is None else f"{change.ratio:.3f}",
    ]


def diff_table(diff: ReportDiff, depth: int, metrics: tuple[str, ...] = METRICS_SHOWN) -> Table:
    """Modules matched by name with A, B, B − A and B / A of each metric, then the totals."""
    labels = dict(METRIC_LABELS)
    title = None if len(metrics) > 1 else metrics[0]
    table = Table(box=box.SQUARE, header_style="bold", title=title, title_justify="left")
    table.add_column("module", no_wrap=True)
    for metric in metrics:
        for suffix in ("A", "B", "B−A", "B/A"):
            header = suffix if title else f"{labels[metric]} {suffix}"
            table.add_column(header, justify="right", no_wrap=True)
    for module in diff.shown(depth):
        name = Text(" " * module.depth + (module.name or "model"))
        if module.present != BOTH:
            name.append(" (only in A)" if module.present == ONLY_A else " (only in B)", "yellow")
        cells = [cell for metric in metrics for cell in change_cells(module.metrics[metric])]
        table.add_row(name, *cells)
    table.add_section()
    totals = [cell for metric in metrics for cell in change_cells(diff.totals[metric])]
    table.add_row(Text("total", style="bold"), *totals)
    return table


def diff_tables(diff: ReportDiff, depth: int, console: Console) -> list[Table]:
    """One side-by-side table; one table per metric where the console is too narrow for it."""
    wide = diff_table(diff, depth)
    unbounded = console.options.update_width(10**6)  # measure() is capped at the width
    if console.measure(wide, options=unbounded).maximum <= console.width:
        return [wide]
    return [diff_table(diff, depth, (metric,)) for metric in METRICS_SHOWN]


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
        "=" * 30,
    ]


def compare(
    target_a: str,
    target_b: str,
    *,
    shape: list[str] | None,
    depth: int,
    convention: str,
    json_path: str | None,
    html_path: str | None,
) -> None:
    from complexity.analyzer import CONVENTIONS, analyze
    from complexity.analyzer.diff import compare_reports

    from . import render

    if depth < 0:
        raise UsageError(f"--depth {depth} is negative; give 0 or more levels")
    if convention not in CONVENTIONS:
        raise UsageError(
            f"unknown --convention {convention!r}; use one of: {', '.join(CONVENTIONS)}"
        )
    size = parse_shape(shape)
    json_file = check_json_target(json_path)
    html_file = check_html_target(html_path, "compare.html")

    reports = []
    loaded_models = []
    for target in (target_a, target_b):
        with spinner(f"building {target}"):
            loaded = load(target, size, {})
        with spinner(f"tracing and counting {target}"):
            reports.append(analyze(loaded.model, loaded.inputs, convention=convention))
        loaded_models.append(loaded)
        loaded.model = None  # free A before building B
    report_a, report_b = reports
    diff = compare_reports(report_a, report_b)
    sources = (target_a, target_b)
    labels = (loaded_models[0].input_label, loaded_models[1].input_label)

    if html_file is not None:
        from .html_report import compare_html

        page = compare_html(
            report_a, report_b, diff, sources=sources, input_labels=labels, depth=depth
        )
        write_text_atomically(html_file, page)

    if json_path is not None:
        data: dict[str, Any] = {}
        for key, report, source in (("a", report_a, target_a), ("b", report_b, target_b)):
            data[key] = report.to_dict(version=tool_version())
            data[key]["source"] = source
        data["delta"] = diff.to_dict()
        if json_file is None:  # `--json -`: stdout carries the JSON alone
            json.dump(data, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return
        write_json_atomically(json_file, data)

    console = output_console()
    for table in diff_tables(diff, depth, console):
        console.print(table)
    console.print(f"convention: {report_a.convention_summary}", markup=False, highlight=False)
    for title, report in ((f"A ({target_a})", report_a), (f"B ({target_b})", report_b)):
        console.print(f"{title}:", style="bold", markup=False, highlight=False)
        console.print(render.uncounted_section(report))
    for loaded, title in zip(loaded_models, "AB", strict=True):
        for note in loaded.notes:
            console.print(f"{title}: {note}", markup=False, highlight=False)
    for line in summary_lines(diff, sources, labels):
        console.print(line, markup=False, highlight=False)
    for kind, written in (("JSON", json_file), ("HTML", html_file)):
        if written is not None:
            console.print(f"{kind} report written to {written}", style="dim", highlight=False)
