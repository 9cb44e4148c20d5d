"""The memory and time a report shows: the `--memory`, `--device-spec` and `--decode` columns
and lines, bytes in binary units, roofline time."""

from __future__ import annotations

from collections.abc import Callable

from complexity.analyzer import Report, Roofline
from complexity.analyzer.roofline import LOWER_BOUND_NOTE
from complexity.analyzer.serving import Serving

from .formatting import format_size
from .rows import TableRow

BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
UNITS_NOTE = "sizes in binary units: 1 KiB = 1024 bytes, 1 MiB = 1024 KiB, 1 GiB = 1024 MiB"
MEMORY_COLUMNS = ("param bytes", "activation bytes", "peak activation")
ROOFLINE_COLUMNS = ("roofline time", "bound")
DECODE_COLUMNS = ("bytes read", "weights read", "KV read", "KV written")


def format_bytes(value: int) -> str:
    """1536 -> '1.50 KiB', 3 * 2**30 -> '3.00 GiB', 100 -> '100 B'."""
    size = float(value)
    for unit in BINARY_UNITS:
        if abs(size) < 1024 or unit == BINARY_UNITS[-1]:
            return f"{value} B" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def format_seconds(value: float) -> str:
    """0.0123 -> '12.3 ms', 4.5e-6 -> '4.50 µs'."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def _module_of(report: Report, row: TableRow) -> int | None:
    """The module a table row shows, None for a parameter row."""
    name = "" if row.indent == 0 and row.name == "model" else row.name
    if name in report.parameter_shapes:
        return None
    return report.aliases.get(name)


def extra_columns(
    report: Report,
    rows: list[TableRow],
    memory: bool,
    roofline: Roofline | None,
    serving: Serving | None = None,
) -> list[tuple[str, list[str]]]:
    """(header, one cell per row) for each column the flags add to the module table."""
    positions = [_module_of(report, row) for row in rows]
    uncalled = report.uncalled_modules

    def cells(text: Callable[[int], str], called_only: bool) -> list[str]:
        # Blank for a parameter row, and for ops' numbers of a module that never ran.
        return [
            "" if p is None or (called_only and report.modules[p].name in uncalled) else text(p)
            for p in positions
        ]

    columns: list[tuple[str, list[str]]] = []
    if memory:
        param_bytes = report.inclusive["param_bytes"]
        act_bytes = report.inclusive["activation_bytes"]
        peaks = report.memory.module_peaks if report.memory else (0,) * len(report.modules)
        columns += [
            (MEMORY_COLUMNS[0], cells(lambda p: format_bytes(param_bytes[p]), False)),
            (MEMORY_COLUMNS[1], cells(lambda p: format_bytes(act_bytes[p]), True)),
            (MEMORY_COLUMNS[2], cells(lambda p: format_bytes(peaks[p]), True)),
        ]
    if serving is not None:  # a decode step: its bytes, and its times with the KV's dtype
        step = serving.step
        columns += [
            (DECODE_COLUMNS[0], cells(lambda p: format_bytes(step.bytes_read[p]), True)),
            (DECODE_COLUMNS[1], cells(lambda p: format_bytes(step.weight_bytes_read[p]), True)),
            (DECODE_COLUMNS[2], cells(lambda p: format_bytes(step.kv_bytes_read[p]), True)),
            (DECODE_COLUMNS[3], cells(lambda p: format_bytes(step.kv_bytes_written[p]), True)),
        ]
        if step.compute_seconds is not None:
            columns += [
                (ROOFLINE_COLUMNS[0], cells(lambda p: format_seconds(step.seconds(p) or 0), True)),
                (ROOFLINE_COLUMNS[1], cells(step.bound, True)),
            ]
    elif roofline is not None:
        columns += [
            (ROOFLINE_COLUMNS[0], cells(lambda p: format_seconds(roofline.seconds(p)), True)),
            (ROOFLINE_COLUMNS[1], cells(roofline.bound, True)),
        ]
    return columns


def memory_lines(report: Report) -> list[str]:
    """Parameter memory and the peak activation memory, with where the peak occurs."""
    op, module = report.peak_activation_at
    where = f" at {op} in {module or 'the model itself'}" if op else ""
    return [
        f"Parameter memory: {format_bytes(report.total('param_bytes'))} "
        f"(buffers apart: {format_bytes(report.buffer_bytes)})",
        f"Peak activation memory (inference forward): "
        f"{format_bytes(report.peak_activation_bytes)}{where}",
        f"({UNITS_NOTE}; peak model: docs/memory.md)",
    ]


def roofline_lines(result: Roofline) -> list[str]:
    bound = f", {result.bound()}-bound" if result.bound() else ""
    return [
        f"Roofline time on {result.device.name}: {format_seconds(result.seconds())}{bound}",
        f"({LOWER_BOUND_NOTE}; figures: {result.device.source})",
    ]


def memory_and_time_lines(
    report: Report, memory: bool, roofline: Roofline | None, serving: Serving | None
) -> list[str]:
    """The lines under the summary: memory (--memory), then the decode step's serving
    summary (--decode) or the roofline time (--device-spec)."""
    lines = memory_lines(report) if memory else []
    if serving is not None:
        lines += serving_lines(serving)
    elif roofline is not None:
        lines += roofline_lines(roofline)
    return lines


def _rate(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:,.0f} {unit}"


def serving_lines(serving: Serving) -> list[str]:
    """Prefill and decode side by side; the KV cache; what fits the device's memory."""
    cache = serving.cache
    batch, seq_len = serving.prefill_tokens
    device = serving.device
    ttft = serving.time_to_first_token
    step = serving.seconds_per_step
    rows = [
        ("", f"prefill ({batch} × {seq_len} tokens)", f"decode (1 token, cache {cache.context})"),
        ("flops", format_size(serving.prefill_flops), format_size(serving.decode_flops)),
    ]
    if device is not None:
        rows.append(
            (
                "roofline time",
                f"{format_seconds(ttft or 0)} to first token",
                f"{format_seconds(step or 0)} per step, {serving.decode_bound}-bound",
            )
        )
        rows.append(("tokens/s bound", "", _rate(serving.tokens_per_second, "tokens/s")))
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [SERVING_TITLE]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, width, strict=True)).rstrip()
        for row in rows
    ]
    per_token = format_bytes(cache.bytes_per_token())
    windows = cache.windows
    held = (
        f" (sliding window {', '.join(map(str, windows))}: the cache stops growing there)"
        if windows
        else ""
    )
    lines.append(
        f"KV cache ({cache.dtype}): {per_token} per token per sequence; "
        f"{format_bytes(cache.bytes_at())} at {cache.context} tokens × batch {cache.batch}{held}"
    )
    lines.append(
        f"Decode step moves {format_bytes(serving.decode_bytes)}: weights "
        f"{format_bytes(serving.step.weight_bytes_read[0])} read, KV "
        f"{format_bytes(serving.step.kv_bytes_read[0])} read, "
        f"{format_bytes(serving.step.kv_bytes_written[0])} written"
    )
    fit = serving.fit
    if device is not None and fit is None:
        lines.append(f"(no memory size for {device.name}: add memory=... to --device-spec)")
    if fit is not None:
        longest = (
            "any context (the windows fit)"
            if fit.max_context_at_batch is None
            else f"{fit.max_context_at_batch:,} tokens"
            + (" (the model's position limit)" if fit.by_positions else "")
        )
        lines.append(
            f"Fits {device.name if device else ''} ({format_bytes(round(fit.memory_bytes))}) "
            f"beside {format_bytes(fit.weight_bytes)} of weights: batch "
            f"{fit.max_batch_at_context:,} at {cache.context} tokens; at batch {cache.batch}, "
            f"{longest} (weights + KV cache only)"
        )
    if device is not None:
        lines.append(f"({LOWER_BOUND_NOTE}; figures: {device.source})")
    return lines


SERVING_TITLE = "Serving: prefill and decode (--decode)"
