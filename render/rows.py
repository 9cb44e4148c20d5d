"""Which rows the per-module table shows, and the model printout with statistics.

The rules are fvcore's and mmengine's (`flop_count_table`, `complexity_stats_table`,
`complexity_stats_str`), so our table has the seed's rows: modules whose statistics are all
zero are dropped (unless a descendant is kept), a module whose single remaining child has the
same numbers is merged into that child's row ("fast-forward"), rows stop at `max_depth`
levels of indentation, and sibling order is that of the statistics (modules holding
parameters first, in parameter order, then the others in module order).
Unlike their helpers, which rebuild the tree from dotted names, this walks `Report.modules`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from complexity.analyzer import Report

from .formatting import format_arch_stat, format_size

PARAMS, FLOPS, ACTS = "#parameters or shape", "#flops", "#activations"
COLUMNS = (PARAMS, FLOPS, ACTS)


def columns_of(report: Report) -> tuple[str, str, str]:
    """The table's headers for `report`: `#MACs` instead of `#flops` under macs."""
    return COLUMNS if report.unit == "flops" else (PARAMS, f"#{report.unit}", ACTS)


@dataclass(frozen=True)
class TableRow:
    name: str  # full dotted name; "model" for the root
    indent: int  # levels below the root row
    cells: tuple[str, str, str]  # params (or a parameter's shape), flops, activations


def _statistics(report: Report) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """Module (and parameter) name -> raw statistics in fvcore's key order, and each name's
    children in that order. The tree is `report.modules`; a parameter hangs under its module.
    """
    stats: dict[str, dict[str, int]] = {}
    parent_of: dict[str, str] = {}
    params = report.inclusive["params"]
    modules = report.modules

    def add_module_path(position: int) -> None:
        # fvcore keys a module by each prefix of a parameter name: the root first.
        chain = []
        while position >= 0 and modules[position].name not in stats:
            chain.append(position)
            position = modules[position].parent
        for index in reversed(chain):
            info = modules[index]
            stats[info.name] = {PARAMS: params[index]}
            if index:
                parent_of[info.name] = modules[info.parent].name

    for name, shape in report.parameter_shapes.items():
        owner_name, _, _ = name.rpartition(".")
        owner = report.aliases[owner_name]
        add_module_path(owner)
        stats[name] = {PARAMS: math.prod(shape)}
        parent_of[name] = modules[owner].name
    for column, metric in ((FLOPS, "flops"), (ACTS, "activations")):
        for position, value in enumerate(report.inclusive[metric]):
            info = modules[position]
            stats.setdefault(info.name, {})[column] = value
            if position:
                parent_of.setdefault(info.name, modules[info.parent].name)
    children: dict[str, list[str]] = {key: [] for key in stats}
    for key in stats:
        if key:
            children[parent_of[key]].append(key)
    return stats, children


def _prune_zeros(
    stats: dict[str, dict[str, int]],
    children: dict[str, list[str]],
    force_keep: set[str],
    keep_parents_of_kept: bool,
) -> set[str]:
    """Names kept by fvcore's `_remove_zero_statistics` (the root is always kept)."""
    kept: set[str] = set()

    def visit(name: str) -> bool:
        any_child_kept = False
        for child in children.get(name, ()):
            any_child_kept |= visit(child)
        nonzero = any(value != 0 for value in stats[name].values())
        if nonzero or name in force_keep or (keep_parents_of_kept and any_child_kept):
            kept.add(name)
            return True
        return False

    visit("")
    return kept


def table_rows(report: Report, max_depth: int = 3) -> list[TableRow]:
    """The rows of the per-module table, exactly as mmengine's `complexity_stats_table`."""
    raw, children = _statistics(report)
    kept = _prune_zeros(raw, children, {""}, keep_parents_of_kept=True)
    uncalled = report.uncalled_modules
    cells: dict[str, dict[str, str]] = {}
    for name in raw:
        if name not in kept:
            continue
        cell = {column: format_size(value) for column, value in raw[name].items()}
        if name in uncalled:  # never ran: its zero flops would be a guess, leave it blank
            cell[FLOPS] = cell[ACTS] = ""
        if name in report.parameter_shapes:
            cell[PARAMS] = str(tuple(report.parameter_shapes[name]))
        cells[name] = cell
    kept_children = {name: [c for c in children.get(name, ()) if c in cells] for name in cells}

    def fast_forward(name: str) -> str:
        # Merge a row into its only child while their numbers agree (or one is blank).
        while len(kept_children[name]) == 1:
            child = kept_children[name][0]
            mine, theirs = cells[name], cells[child]
            if mine.keys() != theirs.keys() or any(
                mine[k] != theirs[k] and mine[k] and theirs[k] for k in mine
            ):
                break
            cells[child] = {k: mine[k] or theirs[k] for k in mine}
            name = child
        return name

    rows: list[TableRow] = []

    def row(name: str, display: str, indent: int) -> None:
        cell = cells[name]
        rows.append(TableRow(display, indent, tuple(cell.get(c, "") for c in COLUMNS)))  # type: ignore[arg-type]

    def fill(parent: str, indent: int) -> None:
        if indent > max_depth:
            return
        for child in kept_children[parent]:
            name = fast_forward(child)
            row(name, name, indent)
            fill(name, indent + 1)

    root = fast_forward("")
    row(root, root or "model", 0)
    fill(root, 1)
    return rows


def arch_lines(report: Report) -> list[str]:
    """mmengine's `complexity_stats_str`: `str(model)` with `#params, #flops, #acts` lines."""
    raw, children = _statistics(report)
    for info in report.modules:  # mmengine fills every module's missing statistics with 0
        entry = raw.setdefault(info.name, {})
        for column in COLUMNS:
            entry.setdefault(column, 0)
    uncalled = report.uncalled_modules
    kept = _prune_zeros(raw, children, set(uncalled) | {""}, False)
    flops_label = "#flops" if report.unit == "flops" else f"#{report.unit}"
    labels = {PARAMS: "#params", FLOPS: flops_label, ACTS: "#acts"}
    printed: dict[str, str] = {}
    for name in raw:
        values = raw[name]
        stat = (
            {labels[c]: format_arch_stat(values[c]) for c in COLUMNS if c in values}
            if name in kept
            else {}
        )
        if name in uncalled:
            stat[flops_label] = stat["#acts"] = "N/A"
        if stat:
            printed[name] = ", ".join(f"{k}: {v}" for k, v in stat.items())

    def add_indent(text: str, spaces: int) -> str:
        first, *rest = text.split("\n")
        return "\n".join([first, *[" " * spaces + line for line in rest]])

    def render(position: int, path: str) -> str:
        info = report.modules[position]
        extra = info.extra_repr.split("\n") if info.extra_repr else []
        if path in printed:
            extra.append(printed[path])
        child_lines = []
        for key, child in info.children:
            child_path = f"{path}.{key}" if path else key
            child_lines.append(f"({key}): " + add_indent(render(child, child_path), 2))
        lines = extra + child_lines
        text = info.type + "("
        if lines:
            if len(extra) == 1 and not child_lines:
                text += extra[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"

    header = []
    if uncalled:
        header.append(
            "N/A indicates a possibly missing statistic due to how the module was called. "
            "Missing values are still included in the parent's total."
        )
    return [*header, *render(0, "").split("\n")]
