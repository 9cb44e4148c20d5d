"""complexity.analyzer: parameters, flops and activations of a PyTorch model, per module.

from complexity.analyzer import analyze
report = analyze(model, torch.randn(1, 3, 224, 224))
report.total("flops"), report.by_module("params"), report.unsupported_ops
"""

from .analysis import analyze
from .budget import BudgetBreach, check_budgets, parse_quantity
from .conventions import CONVENTIONS, Convention, get_convention
from .diff import Change, ModuleChange, ReportDiff, compare_reports
from .registry import Handler, HandlerTable
from .report import (
    HANDLER_FAILED,
    METRICS,
    NO_HANDLER,
    NOT_COUNTED_BY_CONVENTION,
    Report,
    UncountedOp,
)
from .sweep import growth_exponents
from .tracing import AnalysisError, ModuleInfo, describe_shapes

__all__ = [
    "CONVENTIONS",
    "HANDLER_FAILED",
    "METRICS",
    "NOT_COUNTED_BY_CONVENTION",
    "NO_HANDLER",
    "AnalysisError",
    "BudgetBreach",
    "Change",
    "Convention",
    "Handler",
    "HandlerTable",
    "ModuleChange",
    "ModuleInfo",
    "Report",
    "ReportDiff",
    "UncountedOp",
    "analyze",
    "check_budgets",
    "compare_reports",
    "describe_shapes",
    "get_convention",
    "growth_exponents",
    "parse_quantity",
]
