"""Rich renderings of a Report: the seed's table and summary block, the tree, the census.

`report_sections` is the one sequence of sections that `complexity analyze` and
tools/analysis_tools/get_flops.py print; `print_sections` writes them to a console.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from complexity.analyzer import Report, UncountedOp, roofline
from complexity.targets.spec import ActiveParams

from .fit import PROSE_LEAST, Column, FittedTable, frame, longest_part, wrapped_items
from .formatting import format_arch_stat, format_size, visible
from .hidden import (
    convention_hints,
    cost_cell,
    free_ops_line,
    hidden_work_line,
    ranked_uncounted,
    uncounted_title,
)
from .memory_and_time import (
    DECODE_COLUMNS,
    MEMORY_COLUMNS,
    ROOFLINE_COLUMNS,
    extra_columns,
    memory_and_time_lines,
)
from .options import RenderOptions
from .rows import ACTS, COLUMNS, TableRow, arch_lines, columns_of, table_rows
from .training import TransformerShape, training_section

SPLIT_LINE = "=" * 30


def summary_lines(
    report: Report,
    input_label: str,
    tokens: tuple[int, int] | None = None,
    default_seq_len: bool = False,
    active_params: ActiveParams | None = None,
) -> list[str]:
    """The seed's block: `Input shape: ...`, `Model Flops: ...`, `Model Parameters: ...`.

    For a token model (`tokens` = batch, sequence length) also the sequence length and the
    flops per token.
    """
    lines = [SPLIT_LINE, f"Input shape: {input_label}"]
    if tokens is not None:
        batch, seq_len = tokens
        how = " (the default; set it with --seq-len)" if default_seq_len else ""
        lines.append(f"Sequence length: {seq_len}{how}")
    unit = report.unit_label
    lines.append(f"Model {unit}: {format_size(report.total('flops'))}")
    warning = hidden_work_line(report)
    if warning:
        lines.append(warning)
    if tokens is not None:
        per_token = report.total("flops") / (batch * seq_len)
        line = f"{unit} per token: {format_size(round(per_token))}"
        if active_params is not None:
            line += f" (2 × active params = {format_size(2 * active_params.count)}"
            if report.flops_per_multiply_add == 1:
                line += f"; {report.convention}: 1 multiply-add = 1"
            line += ")"
        lines.append(line)
        if active_params is not None:
            lines.append(active_params_line(active_params))
    lines += [f"Model Parameters: {format_size(report.total('params'))}", SPLIT_LINE]
    return lines


def active_params_line(active: ActiveParams) -> str:
    """`Active parameters per token: 12.88G of 46.703G (2 of 8 experts)`."""
    line = f"Active parameters per token: {format_size(active.count)}"
    if active.experts:
        routed = f"{active.top_k} of {active.experts} routed experts"
        line += f" of {format_size(active.total)} ({routed})"
    else:
        line += " (all of them)"
    return line


class ModuleTable:
    """The per-module table, laid out for the console's width when it is printed.

    Every number stays whole: when the table is too wide, the numeric columns shrink to
    their widest number (headers wrap at spaces) and long module names fold after a dot,
    indented under themselves; no cell is ever cut. When even that is too wide, the columns
    the flags add (`extra`, in `groups`) go into further tables keyed by the module names.
    """

    def __init__(
        self,
        rows: Sequence[TableRow],
        extra: Sequence[tuple[str, list[str]]] = (),
        columns: Sequence[str] = COLUMNS,
        groups: Sequence[int] | None = None,
    ) -> None:
        self.rows = list(rows)
        self.extra = list(extra)  # (header, one cell per row): --memory, --device-spec
        self.columns = list(columns)  # the headers of `row.cells`: `#MACs` under macs
        # Which extra columns belong together (bytes, roofline): one number per column.
        self.groups = list(groups) if groups is not None else list(extra_groups(self.extra))

    def fitted(self) -> FittedTable:
        """The rows as a key column (names, indented) and value columns in their groups."""
        headers = [*self.columns, *(header for header, _ in self.extra)]
        cells = [[*row.cells] for row in self.rows]
        for i, line in enumerate(cells):
            line.extend(column[i] for _, column in self.extra)
        groups = [0] * len(self.columns) + [1 + g for g in self.groups]
        columns = [
            Column(
                header,
                [line[number] for line in cells],
                "center" if header == ACTS else "left" if number < 3 else "right",
                group,
            )
            for number, (header, group) in enumerate(zip(headers, groups, strict=True))
        ]
        names = [
            Text(visible(row.name), style="bold" if row.indent == 0 else "") for row in self.rows
        ]
        return FittedTable(
            "module",
            names,
            columns,
            indents=[row.indent for row in self.rows],
            header_style="bold",
            blank_rows=False,  # a parameter's row has nothing beside the --memory columns
        )

    def tables(self, width: int | None = None) -> list[Table]:
        """One table, or several keyed by module name where one would not fit `width`."""
        return self.fitted().tables(width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.tables(options.max_width)


def extra_groups(extra: Sequence[tuple[str, list[str]]]) -> list[int]:
    """Group number of each extra column: the --memory bytes together, the roofline's time
    and bound together, a decode step's bytes together; any other column on its own."""
    families = (MEMORY_COLUMNS, DECODE_COLUMNS, ROOFLINE_COLUMNS)
    numbers: list[int] = []
    for position, (header, _) in enumerate(extra):
        family = next((f for f, names in enumerate(families) if header in names), None)
        numbers.append(family if family is not None else len(families) + position)
    return numbers


def module_table(
    rows: Sequence[TableRow],
    extra: Sequence[tuple[str, list[str]]] = (),
    columns: Sequence[str] = COLUMNS,
) -> ModuleTable:
    """The per-module table as a rich renderable that fits the width it is printed at."""
    return ModuleTable(rows, extra, columns)


def markdown_table(rows: list[TableRow], columns: Sequence[str] = COLUMNS) -> str:
    """The seed's markdown table: padded pipes, `:---` (left) and `:---:` (centred) rules."""
    header = ("module", *columns)
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


@dataclass(frozen=True)
class TreeNode:
    """One node of the module tree: its level (0 for the model), key and type, and what it
    says: `stats` (#params, #flops, #acts) and a `note` (shared, never called)."""

    level: int
    key: str
    type: str
    note: str = ""
    stats: str = ""


def tree_nodes(report: Report, max_depth: int) -> list[TreeNode]:
    """The module tree to `max_depth` levels, depth first: what `--tree` prints."""
    uncalled = report.uncalled_modules
    nodes: list[TreeNode] = []

    def add(key: str, position: int, path: str, level: int) -> None:
        info = report.modules[position]
        if path != info.name:
            nodes.append(TreeNode(level, key, info.type, f"shared with {info.name}, counted there"))
        elif info.name in uncalled:
            stats = f"#params: {format_arch_stat(report.total('params', info.name))}"
            nodes.append(TreeNode(level, key, info.type, "never called", stats))
        else:
            nodes.append(TreeNode(level, key, info.type, stats=stat_line(report, info.name)))
        if level >= max_depth or path != info.name:  # do not expand an alias again
            return
        for child_key, child in info.children:
            add(child_key, child, f"{path}.{child_key}" if path else child_key, level + 1)

    add("model", 0, "", 0)
    return nodes


def module_tree(report: Report, max_depth: int) -> Tree:
    """The module tree to `max_depth` levels, each node with its stat line."""

    def label(node: TreeNode) -> Text:
        text = Text.assemble((node.key, "bold"), " ", (node.type, "cyan"))
        if node.note and not node.stats:
            text.append(f"  {node.note}", style="dim italic")
        elif node.note:
            text.append(f"  {node.note}", style="yellow")
            text.append(f"\n{node.stats}")
        else:
            text.append("\n" + node.stats, style="green")
        return text

    first, *rest = tree_nodes(report, max_depth)
    tree = Tree(label(first), guide_style="dim")
    branches = [tree]  # the open branch at each level
    for node in rest:
        del branches[node.level :]
        branches.append(branches[-1].add(label(node)))
    return tree


COMPACT_UNCOUNTED = 5  # operators listed by default; the flag lists all, with modules


class UncountedTable:
    """The uncounted operators: name, calls, why, what they would add and, with `show_all`,
    every module that ran them. Laid out for the width it is printed at: operator names
    stay whole, the reasons wrap at spaces; where that leaves no room for the modules, they
    go into a second table keyed by operator, wrapped between module names."""

    def __init__(self, entries: Sequence[UncountedOp], show_all: bool, costed: bool) -> None:
        self.entries = list(entries)
        self.show_all = show_all
        self.costed = costed  # a "would add" column: hidden work left out of the total

    def _columns(self) -> list[tuple[str, list[str]]]:
        columns = [
            ("operator", [e.op for e in self.entries]),
            ("calls", [str(e.count) for e in self.entries]),
            ("why", [e.reason for e in self.entries]),
        ]
        if self.costed:
            columns.append(("would add", [cost_cell(e) for e in self.entries]))
        return columns

    def _where(self, entry: UncountedOp) -> list[str]:
        return [f"{name or 'model'} ×{count}" for name, count in entry.modules.items()]

    def tables(self, width: int | None) -> list[Table]:
        columns = self._columns()
        where = [", ".join(self._where(e)) for e in self.entries] if self.show_all else []
        natural = [max(cell_len(h), *map(cell_len, cells)) for h, cells in columns]
        if where:
            natural.append(max(cell_len(WHERE), *map(cell_len, where)))
        if width is None or sum(natural) + frame(len(natural) - 1) <= width:
            return [self._table(columns, where)]
        # Narrow: operator, calls and cost at their widest cell; the reasons take the rest.
        widths = [natural[0], natural[1], 0, *natural[3 : len(columns)]]
        widths[2] = max(width - sum(widths) - frame(len(columns) - 1), longest_word_of(columns[2]))
        first = self._table(columns, [], widths)
        if not where:
            return [first]
        where_width = max(width - natural[0] - frame(1), PROSE_LEAST)
        wrapped = [wrapped_items(self._where(e), where_width) for e in self.entries]
        second = self._table(columns[:1], wrapped, [natural[0], where_width])
        return [first, second]

    @staticmethod
    def _table(
        columns: list[tuple[str, list[str]]], where: list[str], widths: list[int] | None = None
    ) -> Table:
        table = Table(box=box.SIMPLE_HEAD)
        headers = [header for header, _ in columns] + ([WHERE] if where else [])
        sizes: list[int | None] = list(widths) if widths else [None] * len(headers)
        for header, size in zip(headers, sizes, strict=True):
            if header == "operator":
                table.add_column(header, overflow="fold", width=size)
            elif header in ("calls", "would add"):
                table.add_column(header, justify="right", no_wrap=True, width=size)
            else:
                table.add_column(header, width=size)
        cells = [cells for _, cells in columns] + ([where] if where else [])
        for row in zip(*cells, strict=True):
            table.add_row(*(Text(cell) for cell in row))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.tables(options.max_width)


WHERE = "where (module ×calls)"


def longest_word_of(column: tuple[str, list[str]]) -> int:
    header, cells = column
    return max(longest_part(text) for text in [header, *cells])


def uncounted_section(
    report: Report, show_all: bool = False, convention_option: str = "--convention"
) -> RenderableType:
    """Operators that ran but were not counted, and the free ones.

    Compact by default: a count, then the most-called operators (name, calls, why); with
    `show_all`, every operator and the modules that ran it.
    """
    parts: list[RenderableType] = []
    entries = ranked_uncounted(report)
    if entries:
        shown = entries if show_all else entries[:COMPACT_UNCOUNTED]
        parts.append(Text(uncounted_title(report)))
        # The cost of hidden work, when there is some: left out of the total, not by choice.
        costed = any(e.hidden and e.cost for e in entries)
        parts.append(UncountedTable(shown, show_all, costed))
        if len(shown) < len(entries):
            hidden = len(entries) - len(shown)
            parts.append(
                Text(f"(+{hidden} more; --all-uncounted lists every one and where it ran)")
            )
        parts.extend(Text(hint) for hint in convention_hints(report, convention_option))
    else:
        parts.append(Text(f"No operator went uncounted under the {report.convention} convention."))
    free = free_ops_line(report)
    if free:
        parts.append(Text(free, style="dim"))
    return Group(*parts)


def operator_rows(report: Report, metric: str = "flops") -> tuple[list[str], list[list[str]]]:
    """(headers, one row per operator label): calls, the metric and its share of the total,
    largest first. The terminal's table and the HTML page show these."""
    calls = report.operator_calls
    values = report.by_operator(metric)
    total = report.total(metric) or 1
    name = report.unit_label if metric == "flops" else metric  # MACs under macs
    headers = ["operator", "calls", name if metric != "flops" or report.unit == "MACs" else metric]
    rows = []
    for label, value in sorted(values.items(), key=lambda item: -item[1]):
        if not value:  # ops of the convention that ran but cost nothing here (0-d, eval)
            continue
        share = f"{100 * value / total:.1f}%"
        rows.append([label, str(calls.get(label, "")), format_size(value), share])
    return [*headers, "share"], rows


def operator_table(report: Report, metric: str = "flops") -> FittedTable:
    """Per operator: calls, the metric and its share of the total; at any width the numbers
    stay whole and a long operator name breaks between its words."""
    name = report.unit_label if metric == "flops" else metric
    headers, rows = operator_rows(report, metric)
    columns = [
        Column(header, [cells[n] for cells in rows]) for n, header in enumerate(headers) if n
    ]
    keys = [cells[0] for cells in rows]
    return FittedTable(headers[0], keys, columns, title=f"{name} by operator")


def plain(text: str) -> Text:
    """Text printed as is: no markup, no highlighting (paths, op names, brackets)."""
    return Text(text)


def report_sections(
    report: Report,
    options: RenderOptions,
    input_label: str,
    notes: Iterable[str] = (),
    *,
    tokens: tuple[int, int] | None = None,
    default_seq_len: bool = False,
    built_by: str | None = None,
    active_params: ActiveParams | None = None,
    transformer: TransformerShape | None = None,
    embedding_params: int = 0,
) -> list[RenderableType]:
    """Every section `complexity analyze` and get_flops.py print, in their order.

    `built_by` ("built by mmyolo 0.6.0 (...)") heads the footer lines of a config's report.

    `tokens` (batch, sequence length) for a token model adds its sequence length and flops
    per token to the summary block. A report with a train step adds the training section;
    `transformer` (layers, heads, head dim) and `embedding_params` add PaLM's per-token
    rule beside 6·N to it.
    """
    sections: list[RenderableType] = []
    times = roofline(report, options.device) if options.device is not None else None
    if options.table:
        rows = table_rows(report, options.depth)
        if options.markdown:
            sections.append(plain("\n" + markdown_table(rows, columns_of(report))))
        else:
            extra = extra_columns(report, rows, options.memory, times, options.serving)
            sections.append(module_table(rows, extra, columns_of(report)))
    if options.arch:
        arch = "\n".join(arch_lines(report))
        sections.append(plain("\n" + arch if options.markdown else arch))
    if options.tree:
        sections.append(module_tree(report, options.depth))
    if options.by_operator:
        sections.append(operator_table(report))
    sections.append(plain(f"convention: {report.convention_summary}"))
    footer = [built_by] if built_by else []
    sections.append(plain("\n".join([*footer, *report.footer_lines()])))  # meta or real; caveats
    sections.append(uncounted_section(report, options.all_uncounted, options.convention_option))
    sections.extend(plain(f"{SPLIT_LINE}\n{note}") for note in notes)
    summary = summary_lines(report, input_label, tokens, default_seq_len, active_params)
    sections.append(plain("\n".join(summary)))
    if report.train_step is not None:
        sections.append(
            training_section(report, options.depth, tokens, transformer, embedding_params)
        )
    memory_and_time = memory_and_time_lines(report, options.memory, times, options.serving)
    if memory_and_time:
        sections.append(plain("\n".join(memory_and_time)))
    return sections


class _ControlsShown:
    """A renderable as rich lays it out, with control characters in its text (from module
    names, paths, the user's messages) written as escapes: they cannot drive the terminal."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.inner, options):
            if segment.control or segment.text == "\n":
                yield segment
            else:
                yield Segment(visible(segment.text), segment.style)


def print_sections(sections: Iterable[RenderableType], console: Console | None = None) -> None:
    """Print to `console` (stdout by default); off a terminal, without trailing spaces."""
    console = console or stdout_console()
    sections = [_ControlsShown(section) for section in sections]
    if console.is_terminal:
        for section in sections:
            console.print(section)
        return
    with console.capture() as captured:
        for section in sections:
            console.print(section)
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    console.file.write(text + "\n")
    console.file.flush()


def stdout_console() -> Console:
    """A terminal's own width; piped output is not cut to 80 columns: the table is the product."""
    import os

    if sys.stdout.isatty():
        return Console(highlight=False)
    width = max(int(os.environ.get("COLUMNS", "0") or 0), 200)
    return Console(width=width, highlight=False)


__all__ = [
    "ModuleTable",
    "markdown_table",
    "module_table",
    "module_tree",
    "operator_table",
    "print_sections",
    "report_sections",
    "stat_line",
    "stdout_console",
    "summary_lines",
    "uncounted_section",
]
