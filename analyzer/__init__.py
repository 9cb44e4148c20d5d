"""complexity.analyzer: parameters, flops and activations of a PyTorch model, per module.

from complexity.analyzer import analyze
report = analyze(model, torch.randn(1, 3, 224, 224))
report.total("flops"), report.by_module("params"), report.unsupported_ops
"""

from .analysis import analyze
from .budget import BudgetBreach, check_budgets, parse_quantity
from .conventions import CONVENTIONS, Convention, get_convention
from .diff import Change, ModuleChange, ReportDiff, compare_reports
from .report import METRICS, Report, UncountedOp
from .sweep import growth_exponents
from .tracing import AnalysisError, ModuleInfo

__all__ = [
    "CONVENTIONS",
    "METRICS",
    "AnalysisError",
    "BudgetBreach",
    "Change",
    "Convention",
    "ModuleChange",
    "ModuleInfo",
    "Report",
    "ReportDiff",
    "UncountedOp",
    "analyze",
    "check_budgets",
    "compare_reports",
    "get_convention",
    "growth_exponents",
    "parse_quantity",
]
