"""File formats a report can be exported to: format name -> function giving the text.

Adding a format: a function here and its entry in EXPORTERS, then its option in cli/main.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from complexity.analyzer import DeviceSpec, Report, roofline
from complexity.analyzer.roofline import annotate


@dataclass(frozen=True)
class ExportContext:
    """What an export states besides the report: the tool version and what was analysed."""

    version: str | None = None
    source: str | None = None
    input_label: str | None = None  # the summary block's `Input shape:`
    notes: tuple[str, ...] = ()  # what loading changed (e.g. a padded input size)
    depth: int = 3  # rows of the per-module table, in formats that carry one (HTML)
    device: DeviceSpec | None = None  # adds the roofline time (--device-spec)


def json_text(report: Report, context: ExportContext) -> str:
    """The whole report as JSON (schema: docs/json.md), with the analysed source."""
    data = report.to_dict(version=context.version)
    data["source"] = context.source
    if context.device is not None:
        annotate(data, roofline(report, context.device))
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def html_text(report: Report, context: ExportContext) -> str:
    """A self-contained HTML page: flops icicle, tables, notes (needs plotly, the html extra)."""
    from .html import html_text as render

    return render(report, context)


Exporter = Callable[[Report, ExportContext], str]
EXPORTERS: dict[str, Exporter] = {"json": json_text, "html": html_text}
