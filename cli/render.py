"""Rich renderings of a Report: the seed's summary block and table, the tree, the census."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from complexity.analyzer import CONVENTIONS, Report
from complexity.analyzer.report import NOT_COUNTED_BY_CONVENTION

from .formatting import format_arch_stat, format_size
from .rows import ACTS, COLUMNS, FLOPS, PARAMS, TableRow

SPLIT_LINE = "=" * 30


def summary_lines(report: Report, input_label: str) -> list[str]:
    """The seed's block: `Input shape: ...`, `Model Flops: ...`, `Model Parameters: ...`."""
    return [
        SPLIT_LINE,
        f"Input shape: {input_label}",
        f"Model Flops: {format_size(report.total('flops'))}",
        f"Model Parameters: {format_size(report.total('params'))}",
        SPLIT_LINE,
    ]


def module_table(rows: list[TableRow], extra: Sequence[tuple[str, list[str]]] = ()) -> Table:
    """The per-module table; `extra` adds (header, one cell per row) columns at the right."""
    table = Table(box=box.SQUARE, header_style="bold")
    table.add_column("module", no_wrap=True)
    table.add_column(PARAMS, no_wrap=True)
    table.add_column(FLOPS, no_wrap=True)
    table.add_column(ACTS, no_wrap=True, justify="center")
    for header, _ in extra:
        table.add_column(header, no_wrap=True, justify="right")
    for number, row in enumerate(rows):
        name = Text(" " * row.indent + row.name, style="bold" if row.indent == 0 else "")
        table.add_row(name, *row.cells, *(cells[number] for _, cells in extra))
    return table


def markdown_table(rows: list[TableRow]) -> str:
    """The seed's markdown table: padded pipes, `:---` (left) and `:---:` (centred) rules."""
    header = ("module", *COLUMNS)
    body = [(row.name, *row.cells) for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]

    def line(cells: tuple[str, ...], centre_last: bool) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells[:3], widths, strict=False)]
        last = cells[3].center(widths[3]) if centre_last else cells[3].ljust(widths[3])
        return "| " + " | ".join([*padded, last]) + " |"

    rule = [":" + "-" * (w - 1) for w in widths[:3]] + [":" + "-" * (widths[3] - 2) + ":"]
    lines = [line(header, centre_last=False), "| " + " | ".join(rule) + " |"]
    lines += [line(cells, centre_last=True) for cells in body]
    return "\n".join(lines)


def stat_line(report: Report, name: str) -> str:
    """`#params: 1.55K, #flops: 4.3M, #acts: 33.6K`, mmengine's printout format."""
    return ", ".join(
        f"{label}: {format_arch_stat(report.total(metric, name))}"
        for label, metric in (("#params", "params"), ("#flops", "flops"), ("#acts", "activations"))
    )


def module_tree(report: Report, max_depth: int) -> Tree:
    """The module tree to `max_depth` levels, each node with its stat line."""
    uncalled = report.uncalled_modules

    def label(key: str, position: int, path: str) -> Text:
        info = report.modules[position]
        text = Text.assemble((key, "bold"), " ", (info.type, "cyan"))
        if path != info.name:
            text.append(f"  shared with {info.name}, counted there", style="dim italic")
        elif info.name in uncalled:
            text.append("  never called", style="yellow")
            text.append(f"\n#params: {format_arch_stat(report.total('params', info.name))}")
        else:
            text.append("\n" + stat_line(report, info.name), style="green")
        return text

    def grow(node: Tree, position: int, path: str, depth: int) -> None:
        if depth >= max_depth:
            return
        for key, child in report.modules[position].children:
            child_path = f"{path}.{key}" if path else key
            branch = node.add(label(key, child, child_path))
            if child_path == report.modules[child].name:  # do not expand an alias again
                grow(branch, child, child_path, depth + 1)

    tree = Tree(label("model", 0, ""), guide_style="dim")
    grow(tree, 0, "", 0)
    return tree


def _where(modules: dict[str, int], limit: int = 3) -> str:
    names = [f"{name or 'model'} ×{count}" for name, count in modules.items()]
    more = f", +{len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def uncounted_section(report: Report) -> RenderableType:
    """Operators that ran but were not counted (name, calls, why, where), and the free ones."""
    parts: list[RenderableType] = []
    if report.uncounted:
        table = Table(
            title=f"Operators not counted ({report.convention} convention)",
            title_justify="left",
            box=box.SIMPLE_HEAD,
        )
        table.add_column("operator", no_wrap=True)
        table.add_column("calls", justify="right")
        table.add_column("why")
        table.add_column("where (module ×calls)")
        for entry in report.uncounted:
            table.add_row(entry.op, str(entry.count), entry.reason, _where(dict(entry.modules)))
        parts.append(table)
        other = [c for c in CONVENTIONS if c != report.convention]
        if other and any(e.reason == NOT_COUNTED_BY_CONVENTION for e in report.uncounted):
            names = " or ".join(f"--convention {c}" for c in other)
            parts.append(Text(f"({names} counts the ops marked '{NOT_COUNTED_BY_CONVENTION}')"))
    else:
        parts.append(Text(f"No operator went uncounted under the {report.convention} convention."))
    if report.ignored_ops:
        calls = sum(report.ignored_ops.values())
        names = ", ".join(op.split("::")[-1] for op in report.ignored_ops)
        free = f"Free under the {report.convention} convention: {calls} calls ({names})"
        parts.append(Text(free, style="dim"))
    return Group(*parts)


def operator_table(report: Report, metric: str = "flops") -> Table:
    """Per operator: calls, the metric and its share of the total."""
    calls = report.operator_calls
    values = report.by_operator(metric)
    total = report.total(metric) or 1
    table = Table(title=f"{metric} by operator", title_justify="left", box=box.SQUARE)
    table.add_column("operator", no_wrap=True)
    table.add_column("calls", justify="right")
    table.add_column(metric, justify="right")
    table.add_column("share", justify="right")
    for label, value in sorted(values.items(), key=lambda item: -item[1]):
        share = f"{100 * value / total:.1f}%"
        table.add_row(label, str(calls.get(label, "")), format_size(value), share)
    return table


__all__ = [
    "markdown_table",
    "module_table",
    "module_tree",
    "operator_table",
    "stat_line",
    "summary_lines",
    "uncounted_section",
]
