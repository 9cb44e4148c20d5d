"""complexity.analyzer: parameters, flops and activations of a PyTorch model, per module.

from complexity.analyzer import analyze
report = analyze(model, torch.randn(1, 3, 224, 224))
report.total("flops"), report.by_module("params"), report.unsupported_ops
"""

from .analysis import analyze
from .backward import OPTIMIZERS, TrainStep
from .budget import BudgetBreach, check_budgets, parse_quantity
from .conventions import CONVENTIONS, Convention, get_convention
from .devices import DEVICES, DeviceSpec, parse_device_spec
from .diff import Change, ModuleChange, ReportDiff, compare_reports
from .memory import MemoryProfile, OpCost
from .registry import Handler, HandlerTable
from .report import (
    HANDLER_FAILED,
    METRICS,
    NO_HANDLER,
    NOT_COUNTED_BY_CONVENTION,
    Report,
    UncountedOp,
)
from .roofline import Roofline, roofline
from .sweep import growth_exponents
from .tracing import AnalysisError, ModuleInfo, describe_shapes

__all__ = [
    "CONVENTIONS",
    "DEVICES",
    "HANDLER_FAILED",
    "METRICS",
    "NOT_COUNTED_BY_CONVENTION",
    "NO_HANDLER",
    "OPTIMIZERS",
    "AnalysisError",
    "BudgetBreach",
    "Change",
    "Convention",
    "DeviceSpec",
    "Handler",
    "HandlerTable",
    "MemoryProfile",
    "ModuleChange",
    "ModuleInfo",
    "OpCost",
    "Report",
    "ReportDiff",
    "Roofline",
    "TrainStep",
    "UncountedOp",
    "analyze",
    "check_budgets",
    "compare_reports",
    "describe_shapes",
    "get_convention",
    "growth_exponents",
    "parse_device_spec",
    "parse_quantity",
    "roofline",
]
