"""One self-contained HTML page for a report, a comparison or a sweep: plotly charts, tables.

The chart is plotly's icicle (click a block to zoom into it, click the top bar to zoom out;
hover shows params, flops, activations and share). plotly.js is written inline, so the file
opens without a network. plotly is an optional extra: `pip install "torch-complexity[html]"`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from complexity.analyzer import Report
from complexity.analyzer.diff import BOTH, ONLY_A, Change, ReportDiff
from complexity.analyzer.serving import Serving
from complexity.analyzer.sweep import SweepPoint

from .compare import change_cells
from .exports import ExportContext
from .formatting import format_size
from .hidden import cost_cell, hidden_work_line, ranked_uncounted
from .memory_and_time import serving_lines
from .rows import columns_of, table_rows
from .sweep import growth_note, totals_cells

PLOTLY_MISSING = (
    'the HTML report needs plotly; install it with pip install "torch-complexity[html]"'
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; } td.name, th.name { text-align: left; font-family: monospace; }
.totals td { font-weight: bold; } .only { color: #a15c00; } .note { color: #555; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; font-family: monospace; }
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


def _module_table(report: Report, depth: int) -> str:
    header = "".join(f"<th>{_e(c)}</th>" for c in columns_of(report))
    lines = [f'<table class="modules"><tr><th class="name">module</th>{header}</tr>']
    for row in table_rows(report, depth):
        pad = "&nbsp;" * (2 * row.indent)
        cells = "".join(f"<td>{_e(cell)}</td>" for cell in row.cells)
        lines.append(f'<tr><td class="name">{pad}{_e(row.name)}</td>{cells}</tr>')
    lines.append("</table>")
    return "\n".join(lines)


def _uncounted(report: Report) -> str:
    parts = []
    if report.uncounted:
        warning = hidden_work_line(report)
        if warning:
            parts.append(f"<p class='warning'>{_e(warning)}</p>")
        parts.append(
            "<table><tr><th class='name'>operator</th><th>calls</th>"
            "<th class='name'>why</th><th>would add</th>"
            "<th class='name'>where (module ×calls)</th></tr>"
        )
        for entry in ranked_uncounted(report):
            where = ", ".join(f"{name or 'model'} ×{n}" for name, n in entry.modules.items())
            parts.append(
                f"<tr><td class='name'>{_e(entry.op)}</td><td>{entry.count}</td>"
                f"<td class='name'>{_e(entry.reason)}</td><td>{_e(cost_cell(entry))}</td>"
                f"<td class='name'>{_e(where)}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append(
            f"<p>No operator went uncounted under the {_e(report.convention)} convention.</p>"
        )
    if report.ignored_ops:
        calls = sum(report.ignored_ops.values())
        names = ", ".join(op.split("::")[-1] for op in report.ignored_ops)
        parts.append(
            f"<p class='note'>Free under the {_e(report.convention)} convention: "
            f"{calls} calls ({_e(names)})</p>"
        )
    return "\n".join(parts)


def _facts(items: Sequence[tuple[str, Any]]) -> str:
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    return f'<dl class="facts">{body}</dl>'


def _report_facts(report: Report, source: str, input_label: str) -> list[tuple[str, Any]]:
    return [
        ("model", source),
        ("input shapes", report.input_shapes),
        ("input shape (summary)", input_label),
        (f"Model {report.unit_label}", format_size(report.total("flops"))),
        *(("not counted", line) for line in [hidden_work_line(report)] if line),
        ("Model Parameters", format_size(report.total("params"))),
        ("Model Activations", format_size(report.total("activations"))),
        ("convention", report.convention_summary),
        *(("traced" if i == 0 else "note", line) for i, line in enumerate(report.footer_lines())),
    ]


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _serving(report: Report, serving: Serving, depth: int) -> str:
    """--decode: the prefill/decode summary and the step's bytes per module."""
    from .memory_and_time import format_bytes, format_seconds

    step = serving.step
    headers = ["module", "bytes read", "weights read", "KV read", "KV written"]
    timed = step.compute_seconds is not None
    if timed:
        headers += ["roofline time", "bound"]
    rows = []
    for position, info in enumerate(report.modules):
        if info.depth > depth:
            continue
        cells = [
            "&nbsp;" * (2 * info.depth) + _e(info.name or "model"),
            *(
                _e(format_bytes(values[position]))
                for values in (
                    step.bytes_read,
                    step.weight_bytes_read,
                    step.kv_bytes_read,
                    step.kv_bytes_written,
                )
            ),
        ]
        if timed:
            cells += [_e(format_seconds(step.seconds(position) or 0)), _e(step.bound(position))]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    header = "".join(f"<th>{_e(h)}</th>" for h in headers)
    summary = _e("\n".join(serving_lines(serving)))
    return (
        f"<h2>Serving: prefill and decode</h2>\n<pre>{summary}</pre>\n"
        f"<h2>Decode step: bytes per module (depth {depth})</h2>\n"
        f"<table><tr>{header}</tr>{''.join(rows)}</table>"
    )


def _training(report: Report, depth: int) -> str:
    """--train-step: forward, backward and their sum per module, and the step's lines."""
    from .training import training_lines

    forward, backward = report.inclusive["flops"], report.inclusive["backward_flops"]
    headers = ["module", "forward", "backward", "train step", "bwd/fwd"]
    rows = []
    for position, info in enumerate(report.modules):
        if info.depth > depth:
            continue
        f, b = forward[position], backward[position]
        cells = [
            "&nbsp;" * (2 * info.depth) + _e(info.name or "model"),
            _e(format_size(f)),
            _e(format_size(b)),
            _e(format_size(f + b)),
            _e(f"{b / f:.2f}" if f else "-"),
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    header = "".join(f"<th>{_e(h)}</th>" for h in headers)
    summary = _e("\n".join(training_lines(report)))
    return (
        f"<h2>Training step (loss = sum of the outputs), depth {depth}</h2>\n"
        f"<table><tr>{header}</tr>{''.join(rows)}</table>\n<pre>{summary}</pre>"
    )


def report_html(
    report: Report,
    *,
    source: str,
    input_label: str,
    depth: int = 3,
    notes: Sequence[str] = (),
    serving: Serving | None = None,
) -> str:
    """The HTML page of one analysis (`complexity analyze --html`)."""
    chart = flops_icicle(report, f"flops by module: {source}", True, "flops-icicle")
    body = [
        f"<h1>complexity report: {_e(source)}</h1>",
        _facts(_report_facts(report, source, input_label)),
        *(f"<p class='note'>{_e(note)}</p>" for note in notes),
        f"<h2>{report.unit_label} by module</h2>",
        "<p class='note'>Click a block to zoom into it; click the bar above it to zoom out. "
        f"Hover for params, {report.unit}, activations and share of the model.</p>",
        chart,
        f"<h2>Per-module table (depth {depth})</h2>",
        _module_table(report, depth),
        *([_serving(report, serving, depth)] if serving is not None else []),
        *([_training(report, depth)] if report.train_step is not None else []),
        f"<h2>Operators not counted ({_e(report.convention)} convention)</h2>",
        _uncounted(report),
    ]
    return _page(f"complexity: {source}", "\n".join(body))


def html_text(report: Report, context: ExportContext) -> str:
    """The `--html` export of `complexity analyze` (EXPORTERS["html"])."""
    return report_html(
        report,
        source=context.source or "model",
        input_label=context.input_label or str(report.input_shapes),
        depth=context.depth,
        notes=context.notes,
        serving=context.serving,
    )


def _change_cells(change: Change) -> str:
    return "".join(f"<td>{_e(cell)}</td>" for cell in change_cells(change))


def diff_table(diff: ReportDiff, depth: int) -> str:
    metrics = ("params", "flops", "activations")
    top = "".join(f"<th colspan='4'>{m}</th>" for m in metrics)
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
        pad = "&nbsp;" * (2 * module.depth)
        cells = "".join(_change_cells(module.metrics[m]) for m in metrics)
        lines.append(
            f"<tr><td class='name'>{pad}{_e(module.name or 'model')}{where}</td>{cells}</tr>"
        )
    totals = "".join(_change_cells(diff.totals[m]) for m in metrics)
    lines.append(f"<tr class='totals'><td class='name'>total</td>{totals}</tr></table>")
    return "\n".join(lines)


def compare_html(
    a: Report,
    b: Report,
    diff: ReportDiff,
    *,
    sources: tuple[str, str],
    input_labels: tuple[str, str],
    depth: int,
    servings: Sequence[Serving] = (),
) -> str:
    """The HTML page of `complexity compare A B` (`servings`: A's and B's, with --decode)."""
    colours = top_level_colours(a, b)
    charts = [
        flops_icicle(a, f"A: {sources[0]}", True, "flops-icicle-a", colours),
        flops_icicle(b, f"B: {sources[1]}", False, "flops-icicle-b", colours),
    ]
    body = [
        f"<h1>complexity compare: {_e(sources[0])} (A) vs {_e(sources[1])} (B)</h1>",
        "<h2>A</h2>",
        _facts(_report_facts(a, sources[0], input_labels[0])),
        "<h2>B</h2>",
        _facts(_report_facts(b, sources[1], input_labels[1])),
        *(
            f"<h2>{side}: serving</h2>\n<pre>{_e(chr(10).join(serving_lines(serving)))}</pre>"
            for side, serving in zip("AB", servings, strict=False)
        ),
        "<h2>Flops by module</h2>",
        "<p class='note'>Click a block to zoom into it; click the bar above it to zoom out. "
        "Hover for params, flops, activations and share of the model.</p>",
        *charts,
        f"<h2>Modules matched by name (depth {depth})</h2>",
        diff_table(diff, depth),
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


def sweep_html(points: Sequence[SweepPoint], source: str) -> str:
    """A log-log plot of the totals against size, then the totals table (`sweep --html`)."""
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
    headers, cells_per_point = totals_cells(points)
    header = "".join(f"<th>{_e(c)}</th>" for c in headers)
    rows = [
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in cells) + "</tr>"
        for cells in cells_per_point
    ]
    table = f"<table><tr>{header}</tr>{''.join(rows)}</table><p class='note'>{_e(growth_note(points))}</p>"
    body = f"<h1>sweep: {_e(source)}</h1>\n{chart}\n{table}"
    return _page(f"complexity sweep: {source}", body)
