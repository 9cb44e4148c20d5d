"""`complexity sweep TARGET --shapes 320,640,960`: totals per input size and how they grow."""

from __future__ import annotations

import html
import itertools
import json
import math
import sys
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.table import Table

from complexity.analyzer import METRICS, Report
from complexity.analyzer.sweep import growth_exponents

from .command import check_json_target, output_console, spinner, tool_version, write_json_atomically
from .files import write_text_atomically
from .formatting import format_size
from .html_report import check_html_target
from .loading import UsageError, load, parse_cfg_options, parse_shape

GROWTH_NOTE = (
    "growth: k with value ∝ side^k from the row above, log(v2/v1) / log(s2/s1), "
    "side = √(H·W) of the input fed"
)


@dataclass(frozen=True)
class SweepPoint:
    shape: tuple[int, ...]  # the size asked for: (H, W)
    fed: tuple[int, ...]  # the size fed to the model (a preprocessor may pad it)
    size: float  # the size the exponent is taken in
    input_label: str
    report: Report

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "fed": list(self.fed),
            "size": self.size,
            "input_shapes": self.report.input_shapes,
            "totals": {metric: self.report.total(metric) for metric in METRICS},
        }


def parse_sizes(values: list[str] | None) -> list[tuple[int, int]]:
    """`320,640,960` (or repeated --shapes) -> [(320, 320), ...]; `640x480` for H≠W."""
    items = [item for value in values or [] for item in value.split(",") if item.strip()]
    if not items:
        raise UsageError("give the sizes to sweep, e.g. --shapes 320,640,960")
    sizes = []
    for item in items:
        try:
            size = parse_shape([item.strip()])
        except UsageError:
            raise UsageError(
                f"--shapes item {item.strip()!r} is not a size; write e.g. --shapes 320,640,960 "
                "or --shapes 640x480,1280x960"
            ) from None
        assert size is not None
        sizes.append(size)
    if len(set(sizes)) != len(sizes):
        raise UsageError("--shapes lists a size twice; give each size once")
    return sizes


def _size_label(point: SweepPoint) -> str:
    asked = "x".join(map(str, point.shape))
    fed = "x".join(map(str, point.fed))
    return asked if asked == fed else f"{asked} (fed {fed})"


def _exponent_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def exponents(points: list[SweepPoint], values: list[int]) -> list[float | None]:
    return growth_exponents([p.size for p in points], values)


def totals_table(points: list[SweepPoint]) -> Table:
    table = Table(box=box.SQUARE, header_style="bold")
    for column in ("input", "params", "flops", "activations", "flops growth", "acts growth"):
        table.add_column(column, justify="left" if column == "input" else "right", no_wrap=True)
    growth = {
        metric: [None, *exponents(points, [p.report.total(metric) for p in points])]
        for metric in ("flops", "activations")
    }
    for i, point in enumerate(points):
        table.add_row(
            _size_label(point),
            format_size(point.report.total("params")),
            format_size(point.report.total("flops")),
            format_size(point.report.total("activations")),
            _exponent_cell(growth["flops"][i]),
            _exponent_cell(growth["activations"][i]),
        )
    return table


def operator_table(points: list[SweepPoint]) -> Table:
    """Flops of each operator label per size, and its growth: which term dominates where."""
    per_point = [point.report.by_operator("flops") for point in points]
    labels = sorted(
        {label for counts in per_point for label, value in counts.items() if value},
        key=lambda label: -per_point[-1].get(label, 0),
    )
    table = Table(title="flops by operator", title_justify="left", box=box.SQUARE)
    table.add_column("operator", no_wrap=True)
    for point in points:
        table.add_column("x".join(map(str, point.shape)), justify="right", no_wrap=True)
    for before, after in itertools.pairwise(points):
        title = f"growth {before.shape[0]}→{after.shape[0]}"
        table.add_column(title, justify="right", no_wrap=True)
    for label in labels:
        values = [counts.get(label, 0) for counts in per_point]
        cells = [format_size(v) for v in values] + [
            _exponent_cell(k) for k in exponents(points, values)
        ]
        table.add_row(label, *cells)
    return table


def sweep_html(points: list[SweepPoint], source: str) -> str:
    """A log-log plot of the totals against size, as one self-contained HTML page."""
    import plotly.graph_objects as go

    from .html_report import _page

    figure = go.Figure()
    for metric in ("flops", "activations", "params"):
        figure.add_trace(
            go.Scatter(
                x=[p.size for p in points],
                y=[p.report.total(metric) for p in points],
                mode="lines+markers",
                name=metric,
                text=[format_size(p.report.total(metric)) for p in points],
                hovertemplate=f"{metric}: %{{text}} at size %{{x}}<extra></extra>",
            )
        )
    figure.update_layout(
        title=f"{source}: totals against input size ({points[0].report.convention} convention)",
        xaxis={"type": "log", "title": "input side, √(H·W)"},
        yaxis={"type": "log", "title": "count", "exponentformat": "SI"},
        height=520,
    )
    chart = figure.to_html(full_html=False, include_plotlyjs=True, include_mathjax=False)
    growth = {
        metric: [None, *exponents(points, [p.report.total(metric) for p in points])]
        for metric in ("flops", "activations")
    }
    header = "".join(
        f"<th>{c}</th>"
        for c in ("input", "params", "flops", "activations", "flops growth", "acts growth")
    )
    rows = [
        "<tr>"
        + "".join(
            f"<td>{html.escape(cell)}</td>"
            for cell in (
                _size_label(point),
                *(format_size(point.report.total(m)) for m in ("params", "flops", "activations")),
                _exponent_cell(growth["flops"][i]),
                _exponent_cell(growth["activations"][i]),
            )
        )
        + "</tr>"
        for i, point in enumerate(points)
    ]
    table = f"<table><tr>{header}</tr>{''.join(rows)}</table><p class='note'>{GROWTH_NOTE}</p>"
    title = f"<h1>sweep: {html.escape(source)}</h1>"
    return _page(f"complexity sweep: {source}", f"{title}\n{chart}\n{table}")


def _fed_size(shape: tuple[int, int], inputs: Any) -> tuple[int, int]:
    # The preprocessor may pad (e.g. to a multiple of 32): take the size actually fed.
    dims = getattr(inputs, "shape", None)
    return (int(dims[-2]), int(dims[-1])) if dims is not None and len(dims) == 4 else shape


def sweep(
    target: str,
    *,
    shapes: list[str] | None,
    convention: str,
    by_operator: bool,
    json_path: str | None,
    html_path: str | None,
    cfg_options: list[str] | None,
) -> None:
    from complexity.analyzer import CONVENTIONS, analyze

    if convention not in CONVENTIONS:
        raise UsageError(
            f"unknown --convention {convention!r}; use one of: {', '.join(CONVENTIONS)}"
        )
    sizes = parse_sizes(shapes)
    options = parse_cfg_options(cfg_options)
    json_file = check_json_target(json_path)
    html_file = check_html_target(html_path, "sweep.html")

    points = []
    for shape in sizes:
        label = "x".join(map(str, shape))
        with spinner(f"building {target} at {label}"):
            loaded = load(target, shape, options)
        with spinner(f"tracing and counting at {label}"):
            report = analyze(loaded.model, loaded.inputs, convention=convention)
        fed = _fed_size(shape, loaded.inputs)
        size = math.sqrt(fed[0] * fed[1])
        points.append(SweepPoint(shape, fed, size, loaded.input_label, report))

    if html_file is not None:
        write_text_atomically(html_file, sweep_html(points, target))
    if json_path is not None:
        data = {
            "schema": 1,
            "tool": {"name": "complexity", "version": tool_version()},
            "source": target,
            "convention": {
                "name": points[0].report.convention,
                "summary": points[0].report.convention_summary,
            },
            "points": [point.to_dict() for point in points],
            "growth": {
                metric: exponents(points, [p.report.total(metric) for p in points])
                for metric in ("flops", "activations")
            },
        }
        if json_file is None:
            json.dump(data, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return
        write_json_atomically(json_file, data)

    console = output_console()
    console.print(totals_table(points))
    console.print(GROWTH_NOTE, markup=False, highlight=False)
    if by_operator:
        console.print(operator_table(points))
    console.print(
        f"convention: {points[0].report.convention_summary}", markup=False, highlight=False
    )
    uncounted = sorted({entry.op for p in points for entry in p.report.uncounted})
    if uncounted:
        console.print(
            f"Operators not counted at some size ({points[0].report.convention} convention): "
            + ", ".join(uncounted)
            + " (complexity analyze lists calls, where and why)",
            markup=False,
            highlight=False,
        )
    for kind, written in (("JSON", json_file), ("HTML", html_file)):
        if written is not None:
            console.print(f"{kind} report written to {written}", style="dim", highlight=False)
