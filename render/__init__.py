"""complexity.render: a Report as tables, tree, printout, markdown, summary and JSON.

from complexity.render import RenderOptions, print_sections, report_sections
print_sections(report_sections(report, RenderOptions(tree=True), input_label="(1, 3, 224, 224)"))

Shared by `complexity analyze` and tools/analysis_tools/get_flops.py; the analyzer itself
prints nothing.
"""

from .costs import format_bytes, format_seconds
from .exports import EXPORTERS, ExportContext, json_text
from .formatting import format_arch_stat, format_size
from .options import RenderOptions
from .rows import COLUMNS, TableRow, arch_lines, table_rows
from .terminal import (
    SPLIT_LINE,
    ModuleTable,
    markdown_table,
    module_table,
    module_tree,
    operator_table,
    print_sections,
    report_sections,
    stat_line,
    stdout_console,
    summary_lines,
    uncounted_section,
)

__all__ = [
    "COLUMNS",
    "EXPORTERS",
    "SPLIT_LINE",
    "ExportContext",
    "ModuleTable",
    "RenderOptions",
    "TableRow",
    "arch_lines",
    "format_arch_stat",
    "format_bytes",
    "format_seconds",
    "format_size",
    "json_text",
    "markdown_table",
    "module_table",
    "module_tree",
    "operator_table",
    "print_sections",
    "report_sections",
    "stat_line",
    "stdout_console",
    "summary_lines",
    "table_rows",
    "uncounted_section",
]
