"""complexity.render: a Report as tables, tree, printout, markdown, summary and JSON.

from complexity.render import RenderOptions, print_sections, report_sections
print_sections(report_sections(report, RenderOptions(tree=True), input_label="(1, 3, 224, 224)"))

Shared by `complexity analyze` and tools/analysis_tools/get_flops.py; the analyzer itself
prints nothing.
"""

# Names load on first use (PEP 562): `import complexity.<pkg>.<module>` for a
# torch-free module (the command line's option checks) must not import torch.

from __future__ import annotations

from complexity.analyzer import lazy_exports

_SOURCES = {
    "format_bytes": "memory_and_time",
    "format_seconds": "memory_and_time",
    "EXPORTERS": "exports",
    "ExportContext": "exports",
    "json_text": "exports",
    "format_arch_stat": "formatting",
    "format_size": "formatting",
    "RenderOptions": "options",
    "COLUMNS": "rows",
    "TableRow": "rows",
    "arch_lines": "rows",
    "table_rows": "rows",
    "SPLIT_LINE": "terminal",
    "ModuleTable": "terminal",
    "markdown_table": "terminal",
    "module_table": "terminal",
    "module_tree": "terminal",
    "operator_table": "terminal",
    "print_sections": "terminal",
    "report_sections": "terminal",
    "stat_line": "terminal",
    "stdout_console": "terminal",
    "summary_lines": "terminal",
    "uncounted_section": "terminal",
}

__all__ = lazy_exports.install(__name__, _SOURCES)
