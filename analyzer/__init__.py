"""complexity.analyzer: parameters, flops and activations of a PyTorch model, per module.

from complexity.analyzer import analyze
report = analyze(model, torch.randn(1, 3, 224, 224))
report.total("flops"), report.by_module("params"), report.unsupported_ops
"""

# Names load on first use (PEP 562): `import complexity.<pkg>.<module>` for a
# torch-free module (the command line's option checks) must not import torch.

from __future__ import annotations

from . import lazy_exports

_SOURCES = {
    "analyze": "analysis",
    "OPTIMIZERS": "backward",
    "TrainStep": "backward",
    "BudgetBreach": "budget",
    "check_budgets": "budget",
    "parse_quantity": "budget",
    "CONVENTIONS": "conventions",
    "Convention": "conventions",
    "get_convention": "conventions",
    "DEVICES": "datasheets",
    "DeviceSpec": "datasheets",
    "parse_device_spec": "datasheets",
    "Change": "diff",
    "ModuleChange": "diff",
    "ReportDiff": "diff",
    "compare_reports": "diff",
    "MemoryProfile": "memory",
    "OpCost": "memory",
    "Handler": "registry",
    "HandlerTable": "registry",
    "HANDLER_FAILED": "report",
    "METRICS": "report",
    "NO_HANDLER": "report",
    "NOT_COUNTED_BY_CONVENTION": "report",
    "Report": "report",
    "UncountedOp": "report",
    "Roofline": "roofline",
    "roofline": "roofline",
    "growth_exponents": "sweep",
    "AnalysisError": "tracing",
    "ModuleInfo": "tracing",
    "describe_shapes": "tracing",
}

__all__ = lazy_exports.install(__name__, _SOURCES)
