"""File formats a report can be exported to: format name -> function giving the text.

Adding a format: a function here and its entry in EXPORTERS, then its option in cli/main.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from complexity.analyzer import DeviceSpec, Report, roofline
from complexity.analyzer.roofline import annotate
from complexity.analyzer.serving import Serving

from .options import RenderOptions

if TYPE_CHECKING:
    from complexity.targets.spec import ActiveParams

    from .training import TransformerShape


@dataclass(frozen=True)
class ExportContext:
    """What an export states besides the report: the tool version and what was analysed."""

    version: str | None = None
    source: str | None = None
    input_label: str | None = None  # the summary block's `Input shape:`
    notes: tuple[str, ...] = ()  # what loading changed (e.g. a padded input size)
    depth: int = 3  # rows of the per-module table, in formats that carry one (HTML)
    device: DeviceSpec | None = None  # adds the roofline time (--device-spec)
    serving: Serving | None = None  # --decode: the report is the step; this the summary
    # configs: {"builder", "package", "versions"} of what built the model; None otherwise
    built_by: Mapping[str, Any] | None = None
    # What else the terminal shows for the same options, so the HTML page shows it too:
    built_by_line: str | None = None  # "built by mmyolo 0.6.0 (...)", the footer's head
    # the terminal's sections (--memory, --by-operator, --tree, --show-arch, ...)
    render: RenderOptions = field(default_factory=RenderOptions)
    tokens: tuple[int, int] | None = None  # (batch, sequence length) of a token model
    default_seq_len: bool = False  # the sequence length was not given
    active_params: ActiveParams | None = None  # a Hugging Face model's, per token
    transformer: TransformerShape | None = None  # PaLM's rule beside 6·N (--train-step)
    embedding_params: int = 0  # the input embedding's parameters, left out of 6·N
    budgets: Mapping[str, int] = field(default_factory=dict)  # --max-*: metric -> limit


def json_text(report: Report, context: ExportContext) -> str:
    """The whole report as JSON (schema: docs/json.md), with the analysed source."""
    data = report.to_dict(version=context.version)
    data["source"] = context.source
    data["built_by"] = dict(context.built_by) if context.built_by is not None else None
    if context.device is not None:
        annotate(data, roofline(report, context.device))
    if context.serving is not None:
        add_serving(data, context.serving)
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def add_serving(data: dict[str, Any], serving: Serving) -> None:
    """A decode step's JSON: the cache at N in `totals`, bytes per module, the summary."""
    step = serving.step
    data["totals"]["kv_cache_bytes"] = serving.cache.bytes_at()
    for key in ("bytes_read", "bytes_written", "weight_bytes_read"):
        data["totals"][key] = getattr(step, key)[0]
    data["totals"]["kv_bytes_read"] = step.kv_bytes_read[0]
    data["totals"]["kv_bytes_written"] = step.kv_bytes_written[0]
    for position, module in enumerate(data["modules"]):
        module.update(step.module_dict(position))
    if step.compute_seconds is not None and "roofline" in data:
        data["totals"]["roofline_seconds"] = step.seconds(0)
        data["roofline"]["seconds"] = step.seconds(0)
        data["roofline"]["compute_bound_seconds"] = step.compute_seconds[0]
        data["roofline"]["memory_bound_seconds"] = step.memory_seconds[0]
        data["roofline"]["bound"] = step.bound(0)
    data["serving"] = serving.to_dict()


def html_text(report: Report, context: ExportContext) -> str:
    """A self-contained HTML page: flops icicle, tables, notes (needs plotly, the html extra)."""
    from .html import html_text as render

    return render(report, context)


Exporter = Callable[[Report, ExportContext], str]
EXPORTERS: dict[str, Exporter] = {"json": json_text, "html": html_text}
