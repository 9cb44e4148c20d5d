"""Unsupported models and uncounted ops are named for what they are (issue #13, 17a, 17c)."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from complexity.analyzer import AnalysisError, analyze
from complexity.analyzer.report import NO_HANDLER, NOT_COUNTED_BY_CONVENTION


@dataclasses.dataclass
class Detections:
    boxes: torch.Tensor


class ReturnsADataclass(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> Detections:
        return Detections(self.conv(x))


def test_dataclass_output_is_called_the_output_not_an_input():
    # Either the trace refuses the output, or (tracing module outputs as extra graph
    # outputs, branch G) it counts the work and notes the output: both must name the
    # output's type, and neither may call it an input.
    try:
        report = analyze(ReturnsADataclass(), torch.randn(1, 3, 8, 8))
    except AnalysisError as error:
        message = str(error)
    else:
        message = " ".join(report.notes)
    assert "returned" in message and "Detections" in message
    assert "input" not in message


class FreeElsewhere(nn.Module):
    """`unflatten` and `expand_as` are free (ignored) under `flops`; fvcore has no rule."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.flatten(1).unflatten(1, (3, 4))
        return y * x.mean().expand_as(y)


def test_ops_free_under_another_convention_are_not_counted_by_this_one():
    assert {"aten::unflatten", "aten::expand_as"} <= set(
        analyze(FreeElsewhere(), torch.randn(2, 3, 4), convention="flops").ignored_ops
    )
    reasons = {
        op.op: op.reason
        for op in analyze(FreeElsewhere(), torch.randn(2, 3, 4), convention="fvcore").uncounted
    }
    assert reasons["aten::unflatten"] == NOT_COUNTED_BY_CONVENTION
    assert reasons["aten::expand_as"] == NOT_COUNTED_BY_CONVENTION
    assert NO_HANDLER not in reasons.values()
