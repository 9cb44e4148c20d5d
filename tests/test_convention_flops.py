"""The `flops` convention: matmul-family parity with torch.utils.flop_counter, hand formulas
for every other handler family, fvcore unchanged, the uncounted-op census, and the cost table
of docs/conventions.md equal to the one in the code.

Expectations are derived independently of the analyzer: FlopCounterMode run on the same (or
an equivalent, written-out) model, or formulas written out from the shapes with the
per-element costs of docs/conventions.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from complexity.analyzer import CONVENTIONS, Report
from complexity.analyzer import handles_flops as hf

from helpers import Double, Fn
from helpers import run as run_analysis
from helpers.handler_cases import (
    ELEMENTWISE,
    INTERPOLATION,
    NORMS,
    POOLS,
    RECURRENT,
    Convs,
    Matmuls,
    SmallConvNet,
    TransformerBlock,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "conventions.md"

# Labels of the matmul-family ops in `by_operator`.
MATMUL = {
    "conv",
    "mm",
    "bmm",
    "matmul",
    "mv",
    "dot",
    "addmm",
    "baddbmm",
    "linear",
    "einsum",
    "scaled_dot_product_attention",
}


def run(model: nn.Module, *inputs: Any, convention: str = "flops") -> Report:
    """This file's default is the `flops` convention."""
    return run_analysis(model, *inputs, convention=convention)


def torch_flops(fn: Callable[..., Any], *inputs: Any) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*inputs)
    return counter.get_total_flops()


def matmul_part(report: Report) -> int:
    return sum(v for label, v in report.by_operator("flops").items() if label in MATMUL)


# ------------------------------------------------------------- matmul family vs torch


def _matmul_cases() -> list[Any]:
    return [
        pytest.param(
            Convs(),
            (torch.randn(2, 3, 32), torch.randn(2, 3, 16, 16), torch.randn(1, 2, 4, 8, 8)),
            {"conv"},
            id="convs",
        ),
        pytest.param(
            Matmuls(),
            (torch.randn(2, 4, 6), torch.randn(3, 6), torch.randn(6)),
            {"linear", "mm", "addmm", "bmm", "baddbmm", "matmul", "einsum"},
            id="matmuls",
        ),
    ]


@pytest.mark.parametrize(("model", "inputs", "labels"), _matmul_cases())
def test_matmul_family_equals_flop_counter(
    model: nn.Module, inputs: tuple[Any, ...], labels: set[str]
) -> None:
    torch.manual_seed(0)
    report = run(model, *inputs)
    torch.manual_seed(0)
    expected = torch_flops(model, *inputs)
    assert report.uncounted == ()
    assert set(report.by_operator("flops")) == labels
    assert expected > 0
    assert report.total("flops") == expected


def test_matmul_where_torch_counts_nothing() -> None:
    """dot, mv and matmuls folded into them: FlopCounterMode counts 0, we count 2 * n * k."""
    model = Fn(lambda m, a, v, t: (a[0] @ v, a @ v, t @ v, torch.mv(a, v), torch.dot(v, v)))
    a, v, t = torch.randn(3, 4), torch.randn(4), torch.randn(2, 3, 4)
    report = run(model, a, v, t)
    assert torch_flops(model, a, v, t) == 0  # the documented difference
    assert report.by_operator("flops") == {
        "matmul": 2 * 4 + 2 * 3 * 4 + 2 * 2 * 3 * 4,
        "mv": 2 * 3 * 4,
        "dot": 2 * 4,
    }
    # 1-d @ 3-d: torch folds it into mv (counted 0) when the operands require grad, into
    # bmm (counted) otherwise; we count 2 * batch * k * m either way.
    w = torch.randn(2, 4, 5, requires_grad=True)
    assert run(Fn(lambda m, v, w: v @ w), v, w).total("flops") == 2 * 2 * 4 * 5


def test_einsum_beyond_bmm() -> None:
    """Three operands: the optimal pairwise path; an outer product: 1 per product; an index
    summed in one operand only: 2 * all index sizes (torch sums it out first)."""
    i, j, k, m = 2, 30, 40, 3
    model = Fn(
        lambda _, a, b, c: (
            torch.einsum("ij,jk,kl->il", a, b, c),
            torch.einsum("i,j->ij", a[0], b[0]),
            torch.einsum("ij,jk->i", a, b),
        )
    )
    report = run(model, torch.randn(i, j), torch.randn(j, k), torch.randn(k, m))
    # paths: (ab)c = 2ijk + 2ikm = 5280; a(bc) = 2jkm + 2ijm = 7560; (ac)b is an outer
    # product first. numpy's optimal path is (ab)c.
    chain = 2 * i * j * k + 2 * i * k * m
    outer = j * k
    presum = 2 * i * j * k
    assert report.by_operator("flops") == {"einsum": chain + outer + presum}


# ------------------------------------------------------------------------- attention


class CrossAttention(nn.Module):
    """Projections, then attention by F.scaled_dot_product_attention or written out."""

    def __init__(self, fused: bool, causal: bool, heads: int = 2, dk: int = 4, dv: int = 3):
        super().__init__()
        self.fused, self.causal, self.heads, self.dk, self.dv = fused, causal, heads, dk, dv
        self.q = nn.Linear(8, heads * dk)
        self.k = nn.Linear(6, heads * dk)
        self.v = nn.Linear(6, heads * dv)
        self.out = nn.Linear(heads * dv, 8)

    def forward(self, x: torch.Tensor, mem: torch.Tensor) -> torch.Tensor:
        b, length, _ = x.shape
        source = mem.shape[1]
        q = self.q(x).view(b, length, self.heads, self.dk).transpose(1, 2)
        k = self.k(mem).view(b, source, self.heads, self.dk).transpose(1, 2)
        v = self.v(mem).view(b, source, self.heads, self.dv).transpose(1, 2)
        if self.fused:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        else:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.dk)
            if self.causal:
                mask = torch.ones(length, source, dtype=torch.bool).tril()
                scores = scores.masked_fill(~mask, float("-inf"))
            a = scores.softmax(-1) @ v
        return self.out(a.transpose(1, 2).reshape(b, length, self.heads * self.dv))


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_equals_flop_counter_on_the_written_out_attention(causal: bool) -> None:
    x, mem = torch.randn(2, 5, 8), torch.randn(2, 7, 6)
    fused, explicit = CrossAttention(True, causal), CrossAttention(False, causal)
    report = run(fused, x, mem)
    assert report.uncounted == ()
    assert "scaled_dot_product_attention" in report.by_operator("flops")
    assert matmul_part(report) == torch_flops(explicit, x, mem)
    assert matmul_part(report) == matmul_part(run(explicit, x, mem))


def test_sdpa_grouped_query_attention() -> None:
    b, hq, hkv, length, source, e, ev = 2, 4, 2, 5, 7, 6, 3
    model = Fn(lambda _, q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
    inputs = (
        torch.randn(b, hq, length, e),
        torch.randn(b, hkv, source, e),
        torch.randn(b, hkv, source, ev),
    )
    report = run(model, *inputs)
    assert report.total("flops") == 2 * b * hq * length * source * (e + ev)
    assert report.total("activations") == b * hq * length * ev


def _mha_case(
    need_weights: bool, mask: bool, kdim: int | None = None, vdim: int | None = None
) -> tuple[nn.Module, tuple[torch.Tensor, ...], int]:
    """nn.MultiheadAttention (batch_first=False): model, inputs, hand-computed matmul flops."""
    b, length, source, e, heads = 2, 5, 7, 8, 2
    kd, vd = kdim or e, vdim or e
    mha = nn.MultiheadAttention(e, heads, kdim=kdim, vdim=vdim)
    query, key = torch.randn(length, b, e), torch.randn(source, b, kd)
    value = torch.randn(source, b, vd)
    attn_mask = torch.zeros(length, source) if mask else None
    model = Fn(lambda m, q, k, v: m.mha(q, k, v, need_weights=need_weights, attn_mask=attn_mask))
    model.add_module("mha", mha)
    projections = 2 * b * length * e * e + 2 * b * source * (kd + vd) * e  # q, k, v in
    projections += 2 * b * length * e * e  # out
    attention = 2 * b * heads * length * source * (e // heads) * 2  # q k^T and attn v
    return model, (query, key, value), projections + attention


@pytest.mark.parametrize(
    ("need_weights", "mask", "kdim", "vdim", "attention_op"),
    [
        (True, False, None, None, "bmm"),
        (True, True, None, None, "baddbmm"),
        (False, False, None, None, "scaled_dot_product_attention"),
        (True, False, 6, 10, "bmm"),
    ],
)
def test_multihead_attention_matmuls_by_hand(
    need_weights: bool, mask: bool, kdim: int | None, vdim: int | None, attention_op: str
) -> None:
    model, inputs, expected = _mha_case(need_weights, mask, kdim, vdim)
    report = run(model, *inputs)
    assert report.uncounted == ()
    assert attention_op in report.by_operator("flops")
    assert matmul_part(report) == expected


def test_multihead_attention_total_by_hand() -> None:
    """need_weights=True: + q scaling (1/elem), softmax (5/elem), mean of the head weights."""
    b, length, source, e, heads = 2, 5, 7, 8, 2
    model, inputs, matmuls = _mha_case(True, False)
    report = run(model, *inputs)
    scores = b * heads * length * source
    assert report.total("flops") == matmuls + b * length * e + 5 * scores + scores


def test_transformer_block_elementwise_costs_by_hand() -> None:
    b, length, e, heads = 2, 7, 16, 4
    report = run(TransformerBlock(e, heads), torch.randn(b, length, e))
    assert report.uncounted == ()
    tokens = b * length
    linear = 2 * tokens * (e * 3 * e + e * e + e * 4 * e + 4 * e * e)
    sdpa = 2 * b * heads * length * length * (e // heads) * 2
    assert matmul_part(report) == linear + sdpa
    layer_norm = 2 * (5 + 1 + 1) * tokens * e  # statistics + weight + bias
    residual = 2 * tokens * e
    gelu = 5 * tokens * 4 * e
    assert report.total("flops") - matmul_part(report) == layer_norm + residual + gelu
    # activations: outputs of the four linears and of sdpa
    assert report.total("activations") == tokens * (3 * e + e + 4 * e + e) + tokens * e


# ------------------------------------------------------------- per-element handlers


@pytest.mark.parametrize(
    ("model", "shapes", "expected", "label"),
    ELEMENTWISE + NORMS + POOLS + INTERPOLATION + RECURRENT,
)
def test_handler_by_hand(model: nn.Module, shapes: Any, expected: int, label: str) -> None:
    inputs = (shapes,) if isinstance(shapes, torch.Tensor) else [torch.rand(s) for s in shapes]
    report = run(model, *inputs)
    assert report.uncounted == ()
    assert label in report.operator_calls
    assert report.total("flops") == expected
    assert report.total("activations") == 0  # none of these is a conv, matmul or sdpa


def test_shape_arithmetic_is_free() -> None:
    """Python int arithmetic on sizes is traced as 0-d tensor ops: counted, at 0 flops."""
    report = run(Fn(lambda _, x: x.view(x.size(0) * 2, x.size(1) // 2)), torch.randn(4, 6))
    assert report.uncounted == ()
    assert report.operator_calls == {"mul": 1, "floor_divide": 1}
    assert report.total("flops") == 0


# ------------------------------------------------------------------- fvcore unchanged


@pytest.mark.parametrize(
    ("model", "inputs"),
    [
        pytest.param(SmallConvNet().eval(), (torch.randn(2, 3, 16, 16),), id="convnet"),
        pytest.param(TransformerBlock(), (torch.randn(2, 7, 16),), id="transformer-block"),
    ],
)
def test_fvcore_convention_still_matches_fvcore(model: nn.Module, inputs: tuple[Any, ...]) -> None:
    report = run(model, *inputs, convention="fvcore")
    flops = FlopCountAnalysis(model, inputs).unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    acts = ActivationCountAnalysis(model, inputs).unsupported_ops_warnings(False)
    assert report.total("flops") == flops.total() > 0
    assert report.total("activations") == acts.total()
    assert report.by_operator("flops") == {k: v for k, v in flops.by_operator().items() if v}
    assert report.unsupported_ops == dict(flops.unsupported_ops())


# ---------------------------------------------------------------- uncounted census


def reasons(report: Report) -> dict[str, str]:
    return {entry.op: entry.reason for entry in report.uncounted}


def test_op_without_any_handler_is_reported_as_no_handler() -> None:
    model = Fn(lambda _, x: Double.apply(x.kthvalue(2).values))
    report = run(model, torch.randn(3, 6))
    assert reasons(report) == {
        "aten::kthvalue": "no handler",
        "prim::PythonOp.Double": "no handler",
    }


def test_op_counted_by_another_convention_is_reported_as_such() -> None:
    report = run(nn.Sequential(nn.Linear(4, 4), nn.SiLU()), torch.randn(2, 4), convention="fvcore")
    assert reasons(report) == {"aten::silu": "not counted by this convention"}
    assert run(nn.SiLU(), torch.randn(2, 4)).uncounted == ()


# --------------------------------------------------------------- table and registry


def test_convention_registered() -> None:
    assert CONVENTIONS["flops"].name == "flops"
    assert "docs/conventions.md" in CONVENTIONS["flops"].summary


def test_free_ops_have_no_rule_and_each_handler_states_its_formula() -> None:
    flops = CONVENTIONS["flops"]
    assert not flops.ignored & set(flops.rules)
    for op, rule in flops.rules.items():
        for handler in (rule.flops, rule.activations):
            if handler is not None:
                doc = (handler.__doc__ or "").strip()
                assert doc and "\n" not in doc, f"{op}: handler needs a one-line docstring"


def parse_cost_table(text: str) -> dict[str, tuple[int, str, tuple[str, ...], str]]:
    lines = text.splitlines()
    start = lines.index("| cost | flops | per | aten ops | why |")
    rows: dict[str, tuple[int, str, tuple[str, ...], str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        name, flops, per, ops, why = (cell.strip() for cell in line.strip("|").split("|"))
        ops_tuple = tuple(re.sub(r"[`\\]", "", op).strip() for op in ops.split(","))
        rows[name] = (int(flops), per, ops_tuple, why)
    return rows


def test_cost_table_in_docs_matches_code() -> None:
    documented = parse_cost_table(DOC.read_text())
    in_code = {row: (c.flops, c.per, c.ops, c.why) for row, c in hf.COSTS.items()}
    assert documented == in_code


def documented_ops(text: str, before: str, after: str) -> frozenset[str]:
    """The backticked, space-separated op list between `before` and `after` in the docs."""
    start = text.index(before) + len(before)
    return frozenset("aten::" + op for op in text[start : text.index(after, start)].split())


def test_free_op_lists_in_docs_match_code() -> None:
    text = DOC.read_text()
    flops_free = documented_ops(text, "logic: `", "` (`IGNORED`")
    fvcore_free = documented_ops(
        text, "(fvcore's `_IGNORED_OPS`, a test keeps them equal): `", "`."
    )
    assert flops_free == CONVENTIONS["flops"].ignored
    assert fvcore_free == CONVENTIONS["fvcore"].ignored
