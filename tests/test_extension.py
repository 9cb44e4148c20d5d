"""Extending the counting from user code: per-analysis handlers, own conventions, guards.

Expected counts are hand-computed from the shapes (logcumsumexp: one add per output element, as a user might choose).
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import torch
from torch import nn

from complexity.analyzer import CONVENTIONS, HandlerTable, analyze, get_convention

from helpers import REPO, Fn

DOC = REPO / "docs" / "conventions.md"


def cumsum_flops(args: Any, outputs: Any) -> int:
    """numel(output): one add per element."""
    return math.prod(outputs[0])


def cumulative() -> nn.Module:
    return Fn(lambda _, x: torch.logcumsumexp(x, dim=-1))


def test_handlers_for_one_analysis_count_the_op() -> None:
    x = torch.randn(3, 5)
    before = analyze(cumulative(), x, convention="flops")
    assert before.unsupported_ops == {"aten::logcumsumexp": 1}
    report = analyze(
        cumulative(), x, convention="flops", handlers={"aten::logcumsumexp": cumsum_flops}
    )
    assert report.by_operator("flops") == {"logcumsumexp": 3 * 5}
    assert report.uncounted == ()
    # Only that analysis: the built-in convention still reports logcumsumexp.
    assert analyze(cumulative(), x, convention="flops").unsupported_ops == {"aten::logcumsumexp": 1}
    assert "aten::logcumsumexp" not in CONVENTIONS["flops"].flops


def test_handler_replaces_a_builtin_one_and_keeps_its_label() -> None:
    layer = nn.Linear(4, 6)
    x = torch.randn(2, 4)
    default = analyze(layer, x)
    assert default.by_operator("flops") == {"linear": 2 * 4 * 6}  # fvcore: one per MAC
    report = analyze(layer, x, handlers={"aten::linear": lambda inputs, outputs: 7})
    assert report.by_operator("flops") == {"linear": 7}
    assert analyze(layer, x).by_operator("flops") == {"linear": 2 * 4 * 6}


def test_handlers_read_inputs_by_schema_name() -> None:
    seen: list[dict[str, Any]] = []

    def record(args: Any, outputs: Any) -> int:
        """0: records what the handler saw."""
        seen.append(dict(args))
        return 0

    layer = nn.ConvTranspose2d(3, 4, 2, stride=2)
    analyze(layer, torch.randn(1, 3, 5, 5), handlers={"aten::_convolution": record})
    (args,) = seen
    assert args["input"] == (1, 3, 5, 5)
    assert args["weight"] == (3, 4, 2, 2)
    assert args["transposed"] is True
    assert args["stride"] == [2, 2]
    assert list(args)[:3] == ["input", "weight", "bias"]


def test_extended_convention_is_a_new_convention() -> None:
    base = get_convention("fvcore")
    mine = base.extend(
        "fvcore+logcumsumexp", flops={"aten::logcumsumexp": cumsum_flops}, ignored={"aten::sigmoid"}
    )
    model = Fn(lambda _, x: torch.sigmoid(torch.logcumsumexp(x, dim=0)))
    report = analyze(model, torch.randn(4, 2), convention=mine)
    assert report.convention == "fvcore+logcumsumexp"
    assert report.by_operator("flops") == {"logcumsumexp": 8}
    assert report.ignored_ops == {"aten::sigmoid": 1}
    assert "aten::logcumsumexp" not in base.flops and "aten::sigmoid" not in base.ignored


def test_registering_an_op_twice_in_one_table_raises() -> None:
    table = HandlerTable("flops")
    table.register("aten::logcumsumexp")(cumsum_flops)
    with pytest.raises(ValueError, match="aten::logcumsumexp already has a flops handler"):
        table.register("aten::logcumsumexp")(cumsum_flops)
    builtin = CONVENTIONS["fvcore"].flops
    handler = builtin.get("aten::linear")
    with pytest.raises(ValueError, match="aten::linear"):
        builtin.add("aten::linear", cumsum_flops)
    assert builtin.get("aten::linear") == handler


def test_a_registration_in_a_table_is_seen_by_the_next_analysis() -> None:
    # The rules are read from the tables at each analysis, not frozen at import.
    convention = get_convention("flops").extend("scratch")
    model = cumulative()
    assert analyze(model, torch.randn(2, 3), convention=convention).unsupported_ops
    convention.flops.register("aten::logcumsumexp")(cumsum_flops)
    assert analyze(model, torch.randn(2, 3), convention=convention).total("flops") == 6


def test_the_docs_snippet_runs_from_user_code() -> None:
    section = DOC.read_text(encoding="utf-8").split("### From your own code", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert snippet is not None
    namespace: dict[str, Any] = {"__name__": "user_code"}
    exec(compile(snippet.group(1), str(DOC), "exec"), namespace)  # asserts inside
    assert namespace["report"].total("flops") == 4 * 8
