"""The `--memory` and `--device-spec` columns and lines: bytes in binary units, roofline time."""

from __future__ import annotations

from collections.abc import Callable

from complexity.analyzer import Report, Roofline
from complexity.analyzer.roofline import LOWER_BOUND_NOTE

from .rows import TableRow

BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
UNITS_NOTE = "sizes in binary units: 1 KiB = 1024 bytes, 1 MiB = 1024 KiB, 1 GiB = 1024 MiB"
MEMORY_COLUMNS = ("param bytes", "activation bytes", "peak activation")
ROOFLINE_COLUMNS = ("roofline time", "bound")


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
    report: Report, rows: list[TableRow], memory: bool, roofline: Roofline | None
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
    if roofline is not None:
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
