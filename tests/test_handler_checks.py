"""What user handlers give is checked (issue 23, item 9): a wrong count never reaches a
total, a raising handler is named, and `extend` refuses arguments it would misread.

Every expected count is the fvcore count of one nn.Linear(4, 6) on a (2, 4) input:
2 * 4 * 6 = 48 multiply-adds, or the handler's own constant.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from complexity.analyzer import AnalysisError, analyze, get_convention

LAYER = nn.Linear(4, 6)
X = torch.randn(2, 4)


@pytest.mark.parametrize(
    "value, shown",
    [
        (-1000, "returned -1000"),
        (1.5, "returned 1.5"),
        (float("nan"), "returned nan"),
        (float("inf"), "returned inf"),
        (torch.tensor(3), "returned a Tensor"),
        (True, "returned True"),
        (None, "returned None"),
        ("12", "returned '12'"),
    ],
    ids=["negative", "fraction", "nan", "inf", "tensor", "bool", "none", "str"],
)
@pytest.mark.parametrize("metric", ["flops", "activations"])
def test_a_handler_count_that_is_not_a_non_negative_int_is_refused(
    value: Any, shown: str, metric: str
) -> None:
    mine = get_convention("fvcore").extend("mine", **{metric: {"aten::linear": lambda a, o: value}})
    with pytest.raises(AnalysisError) as refused:
        analyze(LAYER, X, convention=mine)
    message = str(refused.value)
    assert message.startswith(f"the {metric} handler ") and " for aten::linear " in message
    assert shown in message and "non-negative int" in message


@pytest.mark.parametrize("value", [7, np.int64(7)], ids=["int", "numpy-int"])
def test_an_int_count_is_taken(value: Any) -> None:
    report = analyze(LAYER, X, handlers={"aten::linear": lambda a, o: value})
    assert report.total("flops") == 7 and type(report.total("flops")) is int
    json.dumps(report.to_dict(), allow_nan=False)  # valid JSON, no NaN or Infinity


def test_a_raising_handler_is_an_analysis_error_naming_op_and_handler() -> None:
    def divides_by_zero(args: Any, outputs: Any) -> int:
        return 1 // 0

    with pytest.raises(AnalysisError) as refused:
        analyze(LAYER, X, handlers={"aten::linear": divides_by_zero})
    message = str(refused.value)
    assert "divides_by_zero" in message and "aten::linear" in message
    assert "ZeroDivisionError" in message
    assert isinstance(refused.value.__cause__, ZeroDivisionError)


def test_a_handler_that_cannot_count_a_node_reports_it_uncounted() -> None:
    def unknown_shape(args: Any, outputs: Any) -> int:
        return math.prod(None)  # type: ignore[arg-type]  # TypeError: the documented way out

    report = analyze(LAYER, X, handlers={"aten::linear": unknown_shape})
    assert [(op.op, op.reason) for op in report.uncounted] == [("aten::linear", "handler failed")]
    assert report.total("flops") == 0


@pytest.mark.parametrize(
    "arguments, error, fragment",
    [
        ({"flops": {"aten::linear": None}}, TypeError, "is None, not a function"),
        ({"activations": {"aten::linear": 3}}, TypeError, "is 3, not a function"),
        ({"ignored": "aten::linear"}, TypeError, "ignored=['aten::linear']"),
        ({"ignored": ["linear"]}, ValueError, "'linear' is not an operator name"),
        ({"flops": {"linear": lambda a, o: 1}}, ValueError, "e.g. 'aten::linear'"),
        ({"flops": [("aten::linear", lambda a, o: 1)]}, TypeError, "takes a mapping"),
    ],
    ids=["none-handler", "int-handler", "ignored-str", "ignored-bare", "bare-op", "list"],
)
def test_extend_refuses_arguments_it_would_misread(
    arguments: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as refused:
        get_convention("fvcore").extend("mine", **arguments)
    assert fragment in str(refused.value)


def test_handlers_for_one_analysis_are_checked_too() -> None:
    with pytest.raises(TypeError, match="is None, not a function"):
        analyze(LAYER, X, handlers={"aten::linear": None})  # type: ignore[dict-item]


def test_ignoring_an_op_by_its_name_still_works() -> None:
    report = analyze(LAYER, X, convention=get_convention("fvcore").extend(ignored=["aten::linear"]))
    assert report.total("flops") == 0 and report.ignored_ops == {"aten::linear": 1}
