"""Rich tables of a sweep: totals per input size with their growth, and flops by operator."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from complexity.analyzer import growth_exponents
from complexity.analyzer.sweep import SweepPoint, sweep_growth

from .fit import Column, FittedTable
from .formatting import format_size
from .memory_and_time import format_bytes, format_seconds

GROWTH_NOTES = {
    "side": "growth: k with value ∝ side^k from the row above, log(v2/v1) / log(s2/s1), "
    "side = √(H·W) of the input fed",
    "seq_len": "growth: k with value ∝ seq_len^k from the row above, log(v2/v1) / log(s2/s1)",
    "context": "one decode step per context (tokens in the KV cache); growth: k with value ∝ "
    "context^k from the row above, log(v2/v1) / log(s2/s1)",
}


def growth_note(points: Sequence[SweepPoint]) -> str:
    return GROWTH_NOTES[points[0].axis]


def size_label(point: SweepPoint) -> str:
    """`640x640`, `300x300 (fed 320x320)` where a preprocessor padded it; tokens `1x512`."""
    asked = "x".join(map(str, point.shape))
    fed = "x".join(map(str, point.fed))
    return asked if asked == fed else f"{asked} (fed {fed})"


def short_label(point: SweepPoint) -> str:
    """The swept size alone: `640` (square), `640x480`, or the sequence length `512`."""
    if point.axis in ("seq_len", "context"):
        return str(round(point.size))
    height, width = point.shape[-2:]
    return str(height) if height == width else f"{height}x{width}"


def exponent_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def totals_cells(points: Sequence[SweepPoint]) -> tuple[list[str], list[list[str]]]:
    """(headers, one row of cells per point): params, flops and activations with their
    growth; a decode sweep adds the KV cache, the bytes a step moves and, on a device,
    the time per step and tokens/s. The terminal table and the HTML page show these."""
    headers = ["input", "params", "flops", "activations", "flops growth", "acts growth"]
    train = all(point.report.train_step is not None for point in points)
    if train:
        headers += ["train flops"]  # --train-step: forward + backward
    decode = [point.serving for point in points if point.serving is not None]
    if decode:
        headers += ["KV cache", "bytes moved"]
        if decode[0].seconds_per_step is not None:
            headers += ["time per step", "tokens/s"]
    growth = {metric: [None, *sweep_growth(points, metric)] for metric in ("flops", "activations")}
    rows = []
    for i, point in enumerate(points):
        cells = [
            size_label(point),
            format_size(point.report.total("params")),
            format_size(point.report.total("flops")),
            format_size(point.report.total("activations")),
            exponent_cell(growth["flops"][i]),
            exponent_cell(growth["activations"][i]),
        ]
        if train:
            cells.append(format_size(point.report.total("train_flops")))
        serving = point.serving
        if serving is not None:
            cells += [format_bytes(serving.cache.bytes_at()), format_bytes(serving.decode_bytes)]
            if serving.seconds_per_step is not None:
                cells += [
                    format_seconds(serving.seconds_per_step),
                    f"{serving.tokens_per_second or 0:,.0f}",
                ]
        rows.append(cells)
    return headers, rows


# Columns that stay together when a narrow terminal splits the totals into tables (the
# totals and their growth are group 0): the train step, the cache, the step's time.
TOTALS_GROUPS = {
    "train flops": 1,
    "KV cache": 2,
    "bytes moved": 2,
    "time per step": 3,
    "tokens/s": 3,
}


def totals_table(points: Sequence[SweepPoint]) -> FittedTable:
    """The totals per size (`totals_cells`) as a rich table; on a narrow terminal, several
    tables keyed by the input size, every number whole."""
    headers, rows = totals_cells(points)
    columns = [
        Column(header, [cells[number] for cells in rows], group=TOTALS_GROUPS.get(header, 0))
        for number, header in enumerate(headers)
        if number
    ]
    return FittedTable(headers[0], [cells[0] for cells in rows], columns, header_style="bold")


def operator_cells(points: Sequence[SweepPoint]) -> tuple[list[str], list[list[str]]]:
    """(headers, one row per operator label): its flops at each size and their growth,
    largest at the last size first. The terminal table and the HTML page show these."""
    per_point = [point.report.by_operator("flops") for point in points]
    labels = sorted(
        {label for counts in per_point for label, value in counts.items() if value},
        key=lambda label: -per_point[-1].get(label, 0),
    )
    sizes = [point.size for point in points]
    headers = ["operator", *(short_label(point) for point in points)]
    headers += [
        f"growth {short_label(before)}→{short_label(after)}"
        for before, after in itertools.pairwise(points)
    ]
    rows = []
    for label in labels:
        values = [counts.get(label, 0) for counts in per_point]
        cells = [label, *(format_size(v) for v in values)]
        cells += [exponent_cell(k) for k in growth_exponents(sizes, values)]
        rows.append(cells)
    return headers, rows


def operator_table(points: Sequence[SweepPoint]) -> FittedTable:
    """Flops of each operator label per size, and its growth: which term dominates where.
    On a narrow terminal the growth columns go into a second table keyed by operator."""
    headers, rows = operator_cells(points)
    columns = [
        Column(header, [cells[n] for cells in rows], group=1 if header.startswith("growth ") else 0)
        for n, header in enumerate(headers)
        if n
    ]
    keys = [cells[0] for cells in rows]
    return FittedTable(headers[0], keys, columns, title="flops by operator")


def footer_lines(points: Sequence[SweepPoint]) -> list[str]:
    """The convention, how each size was traced (each distinct line once) and the operators
    left uncounted at some size."""
    first = points[0].report
    lines = [f"convention: {first.convention_summary}"]
    lines += dict.fromkeys(line for point in points for line in point.report.footer_lines())
    uncounted = sorted({entry.op for point in points for entry in point.report.uncounted})
    if uncounted:
        lines.append(
            f"Operators not counted at some size ({first.convention} convention): "
            + ", ".join(uncounted)
            + " (complexity analyze lists calls, where and why)"
        )
    return lines
