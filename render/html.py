"""One self-contained HTML page for a report, a comparison or a sweep: plotly charts, tables.

The chart is plotly's icicle (click a block to zoom into it, click the top bar to zoom out;
hover shows params, flops, activations and share). plotly.js is written inline, so the file
opens without a network. plotly is an optional extra: `pip install "torch-complexity[html]"`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from complexity.analyzer import Report, roofline
from complexity.analyzer.diff import BOTH, ONLY_A, Change, ReportDiff
from complexity.analyzer.serving import Serving
from complexity.analyzer.sweep import SweepPoint

from .compare import METRIC_LABELS, change_cells, serving_change_line, shown_metrics
from .compare import summary_lines as compare_summary_lines
from .exports import ExportContext
from .formatting import budget_line, format_size
from .hidden import (
    convention_hints,
    cost_cell,
    free_ops_line,
    hidden_work_line,
    ranked_uncounted,
    uncounted_title,
)
from .memory_and_time import extra_columns, memory_and_time_lines, serving_lines
from .rows import arch_lines, columns_of, table_rows
from .sweep import footer_lines as sweep_footer_lines
from .sweep import growth_note, operator_cells, totals_cells
from .terminal import operator_rows, tree_nodes
from .training import SPLIT_LINE, TRAINING_TITLE, training_lines, training_rows

PLOTLY_MISSING = (
    'the HTML report needs plotly; install it with pip install "torch-complexity[html]"'
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; overflow-wrap: anywhere; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 2px 5px; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; white-space: normal; }  /* headers wrap at spaces */
td.name, th.name, td.text { text-align: left; }
td.name, th.name, td.op { font-family: monospace; } td.op { text-align: left; }
/* Names wrap after a dot (<wbr>), reasons and where-lists at spaces too: the page never
   scrolls sideways; numbers stay whole on one line. */
td.name, td.text { white-space: normal; overflow-wrap: break-word; }
.totals td { font-weight: bold; } .only { color: #a15c00; } .note { color: #555; }
.warning, li.exceeded { color: #b00020; font-weight: bold; }
pre.lines { white-space: pre-wrap; overflow-wrap: anywhere; }
ul.tree { list-style: none; padding-left: 1.5em; } ul.tree .stats { font-family: monospace; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 12px; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; font-family: monospace; overflow-wrap: anywhere; }
.side-by-side { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1em; }
.side-by-side > div { min-width: 0; }
/* A table wider than the page scrolls in its own box, never the page. */
div.wide { max-width: 100%; overflow-x: auto; }
div.metrics { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
"""


def plotly_available() -> bool:
    try:
        import plotly  # noqa: F401
    except ImportError:
        return False
    return True


def _e(value: Any) -> str:
    return html.escape(str(value))


def _chart_text(value: Any) -> str:
    """Text for a plotly label or title: plotly draws its own tags (`<a href>`, `<b>`) from
    raw text and decodes entities, so escaping shows a module name as it is, never a link."""
    return html.escape(str(value), quote=False)


def _node_id(name: str) -> str:
    # The root has the empty name; prefix every id so none is empty and none collides.
    return "model" + ("." + name if name else "")


# One colour per top-level module, the same in both charts of a comparison (plotly's own).
PALETTE = (
    "#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a",
    "#19d3f3", "#ff6692", "#b6e880", "#ff97ff", "#fecb52",
)  # fmt: skip


def top_level_colours(*reports: Report) -> dict[str, str]:
    """Top-level module name -> colour, in order of first appearance across `reports`."""
    colours: dict[str, str] = {}
    for report in reports:
        for info in report.modules:
            if info.depth == 1 and info.name not in colours:
                colours[info.name] = PALETTE[len(colours) % len(PALETTE)]
    return colours


def flops_icicle(
    report: Report,
    title: str,
    include_plotlyjs: bool,
    div_id: str,
    colours: dict[str, str] | None = None,
) -> str:
    """The icicle of flops by module as an HTML fragment (plotly.js inline when asked)."""
    import plotly.graph_objects as go

    colours = colours or top_level_colours(report)

    total = report.total("flops")
    flops = report.inclusive["flops"]
    params = report.inclusive["params"]
    acts = report.inclusive["activations"]
    reached = report.reached
    ids, labels, parents, values, custom, fills = [], [], [], [], [], []
    for position, info in enumerate(report.modules):
        # Zero-flop modules (and those never run) would be invisible slivers: leave them out.
        if position and (flops[position] == 0 or position not in reached):
            continue
        ids.append(_node_id(info.name))
        label = info.name.rsplit(".", 1)[-1] if info.name else f"model ({info.type})"
        labels.append(_chart_text(label))
        parents.append("" if position == 0 else _node_id(report.modules[info.parent].name))
        values.append(flops[position])
        top = info.name.split(".", 1)[0]
        fills.append(colours.get(top, "#dddddd") if info.name else "#f4f4f4")
        share = f"{100 * flops[position] / total:.1f}%" if total else "n/a"
        custom.append(
            (
                _chart_text(info.name or "model"),
                _chart_text(info.type),
                format_size(params[position]),
                format_size(flops[position]),
                format_size(acts[position]),
                share,
            )
        )
    figure = go.Figure(
        go.Icicle(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            sort=False,  # siblings in module order, so two models line up
            customdata=custom,
            texttemplate="%{label}<br>%{customdata[3]}",
            hovertemplate=(
                "<b>%{customdata[0]}</b> (%{customdata[1]})<br>"
                f"{report.unit}: %{{customdata[3]}} (%{{customdata[5]}} of the model)<br>"
                "params: %{customdata[2]}<br>activations: %{customdata[4]}<extra></extra>"
            ),
            marker={"colors": fills},
            maxdepth=4,
            tiling={"orientation": "v"},
        )
    )
    figure.update_layout(
        title={"text": _chart_text(title), "x": 0.01},
        margin={"t": 50, "l": 10, "r": 10, "b": 10},
        height=620,
    )
    return figure.to_html(
        full_html=False,
        include_plotlyjs=include_plotlyjs,
        include_mathjax=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def _row(cells: Sequence[str], name_class: str = "name") -> str:
    """One table row: the first cell a (wrapping) name, the others numbers; all escaped."""
    first, *rest = cells
    return (
        f"<tr><td class='{name_class}'>{first}</td>"
        + "".join(f"<td>{_e(cell)}</td>" for cell in rest)
        + "</tr>"
    )


def _dotted(name: str) -> str:
    """A module name, escaped, that may wrap after each dot (and only there)."""
    return _e(name).replace(".", ".<wbr>")


def _indented(name: str, depth: int) -> str:
    return "&nbsp;" * (2 * depth) + _dotted(name)


def _module_table(report: Report, context: ExportContext) -> str:
    """The terminal's per-module table with the columns the options add (--memory,
    --device-spec, --decode: `extra_columns`, the terminal's own)."""
    rows = table_rows(report, context.depth)
    times = roofline(report, context.device) if context.device is not None else None
    extra = extra_columns(report, rows, context.render.memory, times, context.serving)
    headers = [*columns_of(report), *(header for header, _ in extra)]
    header = "".join(f"<th>{_e(c)}</th>" for c in headers)
    lines = [f'<table class="modules"><tr><th class="name">module</th>{header}</tr>']
    for i, row in enumerate(rows):
        cells = [*row.cells, *(column[i] for _, column in extra)]
        lines.append(_row([_indented(row.name, row.indent), *cells]))
    lines.append("</table>")
    return "\n".join(lines)


def _lines(lines: Sequence[str]) -> str:
    """Text lines as the terminal prints them, wrapping where the page is narrower."""
    return f"<pre class='lines'>{_e(chr(10).join(lines))}</pre>"


def _uncounted(report: Report, convention_option: str = "--convention") -> str:
    """Every uncounted operator with where it ran (the terminal's --all-uncounted), the
    hints that name a convention counting them, and the free operators."""
    parts = []
    if report.uncounted:
        warning = hidden_work_line(report)
        if warning:
            parts.append(f"<p class='warning'>{_e(warning)}</p>")
        parts.append(f"<p>{_e(uncounted_title(report))}</p>")
        parts.append(
            "<table class='uncounted'><tr><th class='name'>operator</th><th>calls</th>"
            "<th class='name'>why</th><th>would add</th>"
            "<th class='name'>where (module ×calls)</th></tr>"
        )
        for entry in ranked_uncounted(report):
            where = ", ".join(
                f"{_dotted(name or 'model')} ×{n}" for name, n in entry.modules.items()
            )
            parts.append(
                f"<tr><td class='op'>{_e(entry.op)}</td><td>{entry.count}</td>"
                f"<td class='text'>{_e(entry.reason)}</td><td>{_e(cost_cell(entry))}</td>"
                f"<td class='text'>{where}</td></tr>"
            )
        parts.append("</table>")
        parts.extend(
            f"<p class='note'>{_e(hint)}</p>"
            for hint in convention_hints(report, convention_option)
        )
    else:
        parts.append(
            f"<p>No operator went uncounted under the {_e(report.convention)} convention.</p>"
        )
    free = free_ops_line(report)
    if free:
        parts.append(f"<p class='note'>{_e(free)}</p>")
    return "\n".join(parts)


def _facts(items: Sequence[tuple[str, Any]]) -> str:
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    return f'<dl class="facts">{body}</dl>'


def _summary_facts(
    report: Report, input_label: str, context: ExportContext | None = None
) -> list[tuple[str, str]]:
    """The terminal's summary block (`summary_lines`: input shape, sequence length, flops,
    what went uncounted, per token, active parameters, parameters) as (label, value)."""
    from .terminal import SPLIT_LINE, summary_lines

    context = context or ExportContext()
    warning = hidden_work_line(report)
    facts = []
    for line in summary_lines(
        report, input_label, context.tokens, context.default_seq_len, context.active_params
    ):
        if line == SPLIT_LINE:
            continue
        if line == warning:
            facts.append(("not counted", line))
        else:
            label, _, value = line.partition(": ")
            facts.append((label, value))
    return facts


def _report_facts(
    report: Report, source: str, input_label: str, context: ExportContext | None = None
) -> list[tuple[str, Any]]:
    """What was analysed, the summary block, then the footer: convention, builder, how it
    was traced and its caveats."""
    built_by = context.built_by_line if context is not None else None
    return [
        ("model", source),
        ("input shapes", report.input_shapes),
        *_summary_facts(report, input_label, context),
        ("Model Activations", format_size(report.total("activations"))),
        ("convention", report.convention_summary),
        *([("built by", built_by.removeprefix("built by "))] if built_by else []),
        *(("traced" if i == 0 else "note", line) for i, line in enumerate(report.footer_lines())),
    ]


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _tree(report: Report, depth: int) -> str:
    """The terminal's --tree as nested lists: each module's key, type and statistics."""
    parts, level = [], -1
    for node in tree_nodes(report, depth):
        if node.level > level:
            parts.append("<ul class='tree'>" * (node.level - level))
        else:
            parts.append("</li>" + "</ul></li>" * (level - node.level))
        level = node.level
        note = f" <span class='note'>{_e(node.note)}</span>" if node.note else ""
        stats = f"<br><span class='stats'>{_e(node.stats)}</span>" if node.stats else ""
        parts.append(f"<li><b>{_e(node.key)}</b> <code>{_e(node.type)}</code>{note}{stats}")
    parts.append("</li>" + "</ul></li>" * level + "</ul>")
    return f"<h2>Module tree (depth {depth})</h2>\n" + "".join(parts)


def _budgets(report: Report, limits: Mapping[str, int]) -> str:
    """Every --max-* budget with its verdict; the broken ones as the terminal prints them."""
    if not limits:
        return ""
    from complexity.analyzer.report import ALL_METRICS

    items = []
    for metric in ALL_METRICS:
        if metric in limits:
            value, limit = report.total(metric), limits[metric]
            verdict = "exceeded" if value > limit else "within"
            items.append(f"<li class='{verdict}'>{_e(budget_line(metric, value, limit))}</li>")
    return f"<h2>Budgets</h2>\n<ul class='budgets'>{''.join(items)}</ul>"


def _training(report: Report, context: ExportContext) -> str:
    """--train-step: the terminal's training table (its columns, whatever they are, to the
    page's depth) and its lines (per token and 6·N for token models, memory, what the
    backward left out)."""
    headers, rows = training_rows(report, context.depth)
    header = "<th class='name'>module</th>" + "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(_row([_indented(name, depth), *cells]) for depth, name, cells in rows)
    lines = training_lines(report, context.tokens, context.transformer, context.embedding_params)
    return (
        f"<h2>{_e(TRAINING_TITLE)}, depth {context.depth}</h2>\n"
        f"<div class='wide'><table class='training'><tr>{header}</tr>{body}</table></div>\n"
        + _lines([line for line in lines if line != SPLIT_LINE])
    )


def report_html(report: Report, context: ExportContext) -> str:
    """The HTML page of one analysis (`complexity analyze --html`): everything the terminal
    prints for the same options, plus the icicle chart."""
    source = context.source or "model"
    input_label = context.input_label or str(report.input_shapes)
    times = roofline(report, context.device) if context.device is not None else None
    memory_and_time = memory_and_time_lines(report, context.render.memory, times, context.serving)
    chart = flops_icicle(report, f"flops by module: {source}", True, "flops-icicle")
    body = [
        f"<h1>complexity report: {_e(source)}</h1>",
        _facts(_report_facts(report, source, input_label, context)),
        *(f"<p class='note'>{_e(note)}</p>" for note in context.notes),
        _budgets(report, context.budgets),
        *([_lines(memory_and_time)] if memory_and_time else []),
        f"<h2>{report.unit_label} by module</h2>",
        "<p class='note'>Click a block to zoom into it; click the bar above it to zoom out. "
        f"Hover for params, {report.unit}, activations and share of the model.</p>",
        chart,
        f"<h2>Per-module table (depth {context.depth})</h2>",
        _wide(_module_table(report, context)),
        *([_training(report, context)] if report.train_step is not None else []),
        *(
            [f"<h2>{_e(report.unit_label)} by operator</h2>", _cells_table(*operator_rows(report))]
            if context.render.by_operator
            else []
        ),
        *([_tree(report, context.depth)] if context.render.tree else []),
        *(
            [f"<h2>Model printout (--show-arch)</h2>\n{_lines(arch_lines(report))}"]
            if context.render.arch
            else []
        ),
        f"<h2>Operators not counted ({_e(report.convention)} convention)</h2>",
        _uncounted(report),
    ]
    return _page(f"complexity: {source}", "\n".join(part for part in body if part))


def html_text(report: Report, context: ExportContext) -> str:
    """The `--html` export of `complexity analyze` (EXPORTERS["html"])."""
    return report_html(report, context)


def _change_cells(change: Change, metric: str) -> str:
    return "".join(f"<td>{_e(cell)}</td>" for cell in change_cells(change, metric))


def diff_table(diff: ReportDiff, depth: int, metrics: Sequence[str] | None = None) -> str:
    """The terminal's matched table: A, B, B − A, B / A of each metric it shows
    (`shown_metrics`: train flops with --train-step, bytes with --memory)."""
    metrics = metrics or shown_metrics(diff)
    labels = dict(METRIC_LABELS)
    top = "".join(f"<th colspan='4'>{_e(labels[m])}</th>" for m in metrics)
    sub = "<th>A</th><th>B</th><th>B − A</th><th>B / A</th>" * len(metrics)
    lines = [
        "<table class='diff'>",
        f"<tr><th class='name' rowspan='2'>module</th>{top}</tr>",
        f"<tr>{sub}</tr>",
    ]
    for module in diff.shown(depth):
        where = (
            ""
            if module.present == BOTH
            else (
                " <span class='only'>(only in A)</span>"
                if module.present == ONLY_A
                else " <span class='only'>(only in B)</span>"
            )
        )
        name = _indented(module.name or "model", module.depth)
        cells = "".join(_change_cells(module.metrics[m], m) for m in metrics)
        lines.append(f"<tr><td class='name'>{name}{where}</td>{cells}</tr>")
    totals = "".join(_change_cells(diff.totals[m], m) for m in metrics)
    lines.append(f"<tr class='totals'><td class='name'>total</td>{totals}</tr></table>")
    return "\n".join(lines)


def _diff_tables(diff: ReportDiff, depth: int, metrics: Sequence[str]) -> str:
    """One table for the three default metrics; with more (--train-step, --memory), one
    table per metric, wrapping across the page as the terminal splits them when narrow."""
    if len(metrics) <= 3:
        return _wide(diff_table(diff, depth, metrics))
    tables = "".join(f"<div>{diff_table(diff, depth, (m,))}</div>" for m in metrics)
    return f"<div class='metrics'>{tables}</div>"


def _wide(table: str) -> str:
    return f"<div class='wide'>{table}</div>"


def _side_by_side(left: str, right: str) -> str:
    return f"<div class='side-by-side'><div>{left}</div><div>{right}</div></div>"


def compare_html(
    a: Report,
    b: Report,
    diff: ReportDiff,
    *,
    sources: tuple[str, str],
    input_labels: tuple[str, str],
    depth: int,
    servings: Sequence[Serving] = (),
    memory: bool = False,
    notes: Sequence[Sequence[str]] = ((), ()),
) -> str:
    """The HTML page of `complexity compare A B`: what the terminal prints for the same
    options, A and B side by side (`servings`: A's and B's, with --decode; `memory`: the
    byte columns of --memory; `notes`: what loading each side changed)."""
    colours = top_level_colours(a, b)
    charts = [
        flops_icicle(a, f"A: {sources[0]}", True, "flops-icicle-a", colours),
        flops_icicle(b, f"B: {sources[1]}", False, "flops-icicle-b", colours),
    ]
    sides = []
    for side, report, source, label, side_notes in zip(
        "AB", (a, b), sources, input_labels, notes, strict=True
    ):
        sides.append(
            f"<h2>{side}</h2>\n"
            + _facts(_report_facts(report, source, label))
            + "".join(f"<p class='note'>{side}: {_e(note)}</p>" for note in side_notes)
        )
    summary = compare_summary_lines(diff, sources, input_labels)
    if len(servings) == 2:
        summary.append(serving_change_line(servings[0], servings[1]))
    body = [
        f"<h1>complexity compare: {_e(sources[0])} (A) vs {_e(sources[1])} (B)</h1>",
        _side_by_side(*sides),
        _lines([line for line in summary if line != SPLIT_LINE]),
        *(
            [
                _side_by_side(
                    *(
                        f"<h2>{side}: serving</h2>\n{_lines(serving_lines(serving))}"
                        for side, serving in zip("AB", servings, strict=True)
                    )
                )
            ]
            if len(servings) == 2
            else []
        ),
        "<h2>Flops by module: A left, B right</h2>",
        "<p class='note'>Click a block to zoom into it; click the bar above it to zoom out. "
        "Hover for params, flops, activations and share of the model.</p>",
        _side_by_side(*charts),
        f"<h2>Modules matched by name (depth {depth})</h2>",
        _diff_tables(diff, depth, shown_metrics(diff, memory)),
        f"<h2>A: operators not counted ({_e(a.convention)} convention)</h2>",
        _uncounted(a),
        f"<h2>B: operators not counted ({_e(b.convention)} convention)</h2>",
        _uncounted(b),
    ]
    return _page(f"complexity compare: {sources[0]} vs {sources[1]}", "\n".join(body))


AXIS_TITLES = {
    "side": "input side, √(H·W)",
    "seq_len": "sequence length",
    "context": "tokens in the KV cache (one decode step)",
}


def sweep_html(points: Sequence[SweepPoint], source: str, by_operator: bool = False) -> str:
    """A log-log plot of the totals against size, then what the terminal prints for the
    same options: the totals table, flops by operator (`by_operator`), the footer."""
    import plotly.graph_objects as go

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
    convention = points[0].report.convention
    figure.update_layout(
        title=_chart_text(f"{source}: totals against input size ({convention} convention)"),
        xaxis={"type": "log", "title": AXIS_TITLES[points[0].axis]},
        yaxis={"type": "log", "title": "count", "exponentformat": "SI"},
        height=520,
    )
    chart = figure.to_html(full_html=False, include_plotlyjs=True, include_mathjax=False)
    body = [
        f"<h1>sweep: {_e(source)}</h1>",
        chart,
        _cells_table(*totals_cells(points)),
        f"<p class='note'>{_e(growth_note(points))}</p>",
    ]
    if by_operator:
        body += ["<h2>flops by operator</h2>", _cells_table(*operator_cells(points))]
    body.append(_lines(sweep_footer_lines(points)))
    return _page(f"complexity sweep: {source}", "\n".join(body))


def _cells_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    header = "".join(f"<th>{_e(c)}</th>" for c in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>" for cells in rows)
    return _wide(f"<table><tr>{header}</tr>{body}</table>")
