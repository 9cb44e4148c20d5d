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
from conftest import Double, Fn
from conftest import run as run_analysis
from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from complexity.analyzer import CONVENTIONS, Report
from complexity.analyzer import handles_flops as hf

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


class Convs(nn.Module):
    """Grouped, strided, dilated, transposed and padding="same" convs in 1, 2 and 3 d."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Sequential(
            nn.Conv1d(3, 8, 5, stride=2, padding=2),
            nn.Conv1d(8, 8, 3, dilation=2, padding=2, bias=False),
            nn.Conv1d(8, 12, 3, groups=4, padding=1),
            nn.ConvTranspose1d(12, 6, 4, stride=2, padding=1, groups=3),
            nn.Conv1d(6, 6, 3, padding="same", dilation=2),
        )
        self.c2 = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1),
            nn.Conv2d(8, 8, 3, padding=1, groups=8),
            nn.Conv2d(8, 16, 3, padding=2, dilation=2),
            nn.ConvTranspose2d(16, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
            nn.ConvTranspose2d(4, 4, 3, dilation=2),
            nn.Conv2d(4, 6, (3, 5), padding="same"),
        )
        self.c3 = nn.Sequential(
            nn.Conv3d(2, 4, 3, stride=(1, 2, 2), padding=1),
            nn.ConvTranspose3d(4, 6, 2, stride=2, groups=2),
            nn.Conv3d(6, 6, 3, groups=3, dilation=(1, 2, 1)),
        )

    def forward(self, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> tuple[Any, ...]:
        return self.c1(a), self.c2(b), self.c3(c)


class Matmuls(nn.Module):
    """mm, addmm, bmm, baddbmm, 3-d linear, broadcasting matmul and two-operand einsums."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 8)
        self.proj_nobias = nn.Linear(6, 5, bias=False)
        self.w = nn.Parameter(torch.randn(8, 5))
        self.bias = nn.Parameter(torch.randn(5))
        self.register_buffer("batched", torch.randn(3, 1, 4, 8))

    def forward(self, x: torch.Tensor, flat: torch.Tensor, vec: torch.Tensor) -> list[Any]:
        h = self.proj(x)  # 3-d linear: (2, 4, 6) -> (2, 4, 8)
        f = self.proj(flat)  # 2-d linear: (3, 6) -> (3, 8)
        batched = self.batched
        return [
            self.proj_nobias(x.unsqueeze(0)),  # 4-d linear, no bias
            self.proj(vec),  # 1-d linear
            torch.mm(f, self.w),
            torch.addmm(self.bias, f, self.w),
            torch.bmm(h, h.transpose(1, 2)),
            torch.baddbmm(torch.zeros(4, 4), h, h.transpose(1, 2)),
            h @ self.w,  # 3-d @ 2-d
            f @ h.transpose(1, 2),  # 2-d @ 3-d
            batched @ h.transpose(1, 2),  # (3, 1, 4, 8) @ (2, 8, 4): broadcast batch (3, 2)
            f[0] @ self.w,  # 1-d @ 2-d
            torch.einsum("bij,bjk->bik", h, h.transpose(1, 2)),
            torch.einsum("nct,ncp->ntp", h, h),
            torch.einsum("bqd,bkd->bqk", h, h),
            torch.einsum("...ij,jk->...ik", batched, self.w),  # ellipsis, broadcast
            torch.einsum("ij,jk", f, self.w),  # implicit output
        ]


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


class TransformerBlock(nn.Module):
    def __init__(self, e: int = 16, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(e), nn.LayerNorm(e)
        self.qkv, self.proj = nn.Linear(e, 3 * e), nn.Linear(e, e)
        self.mlp = nn.Sequential(nn.Linear(e, 4 * e), nn.GELU(), nn.Linear(4 * e, e))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, e = x.shape
        qkv = self.qkv(self.ln1(x)).view(b, length, 3, self.heads, e // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, length, e))
        return x + self.mlp(self.ln2(x))


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

N = 2 * 3 * 8 * 8  # elements of X
X = (2, 3, 8, 8)


def case(
    name: str, module: nn.Module | Callable[..., Any], shapes: Any, expected: int, label: str
) -> Any:
    """One hand-computed case; `shapes` are input shapes (or a tensor for index inputs)."""
    if not isinstance(module, nn.Module):
        module = Fn(lambda _, *xs, fn=module: fn(*xs))
    return pytest.param(module, shapes, expected, label, id=name)


def trained(module: nn.Module) -> nn.Module:
    return module.train()


ELEMENTWISE = [
    case("relu", nn.ReLU(), [X], N, "relu"),
    case("relu_", nn.ReLU(inplace=True), [X], N, "relu"),
    case("relu6-module", nn.ReLU6(), [X], 2 * N, "hardtanh"),
    case("relu6", F.relu6, [X], 2 * N, "relu6"),
    case("leaky_relu_", nn.LeakyReLU(inplace=True), [X], 2 * N, "leaky_relu"),
    case("elu", nn.ELU(), [X], 4 * N, "elu"),
    case("sigmoid", nn.Sigmoid(), [X], 4 * N, "sigmoid"),
    case("tanh", nn.Tanh(), [X], N, "tanh"),
    case("silu", nn.SiLU(), [X], 5 * N, "silu"),
    case("silu_", nn.SiLU(inplace=True), [X], 5 * N, "silu"),
    case("gelu", nn.GELU(), [X], 5 * N, "gelu"),
    case("gelu-tanh", nn.GELU("tanh"), [X], 9 * N, "gelu"),
    case("hardsigmoid", nn.Hardsigmoid(), [X], 4 * N, "hardsigmoid"),
    case("hardswish_", nn.Hardswish(inplace=True), [X], 5 * N, "hardswish"),
    case("mish", nn.Mish(), [X], 4 * N, "mish"),
    case("softplus", nn.Softplus(), [X], 5 * N, "softplus"),
    case("softmax", nn.Softmax(-1), [X], 5 * N, "softmax"),
    case("log_softmax", nn.LogSoftmax(1), [X], 5 * N, "log_softmax"),
    case("arithmetic", lambda x: (1 - x) * 2 / x - x, [X], 4 * N, "mul"),
    case("broadcast-add", torch.add, [X, (3, 1, 1)], N, "add"),
    case("in-place", lambda x: x.clone().add_(1).mul_(2), [X], 2 * N, "add"),
    case("math", lambda x: x.pow(2) * x.sqrt() * x.rsqrt() * x.exp() * x.log(), [X], 9 * N, "exp"),
    case("clamp-both", lambda x: x.clamp(0, 1), [X], 2 * N, "clamp"),
    case("clamp-min", lambda x: x.clamp(min=0), [X], N, "clamp"),
    case("mean", lambda x: x.mean((2, 3)), [X], N, "mean"),
    case("sum", lambda x: x.sum(), [X], N, "sum"),
    case("amax", lambda x: x.amax(1), [X], N, "amax"),
    case("dropout-train", trained(nn.Dropout(0.5)), [X], 2 * N, "dropout"),
    case("dropout-eval", nn.Dropout(0.5).eval(), [X], 0, "dropout"),
    case("dropout2d-train", trained(nn.Dropout2d(0.5)), [X], 2 * N, "dropout"),
    case("embedding", nn.Embedding(10, 4), torch.tensor([[1, 2, 3], [4, 5, 6]]), 0, "embedding"),
]

NORMS = [
    case("bn-eval", nn.BatchNorm2d(3).eval(), [X], 2 * N, "batch_norm"),
    case("bn-train", trained(nn.BatchNorm2d(3)), [X], (5 + 2) * N, "batch_norm"),
    case("bn-train-plain", trained(nn.BatchNorm2d(3, affine=False)), [X], 5 * N, "batch_norm"),
    case(
        "bn-batch-stats",
        nn.BatchNorm2d(3, track_running_stats=False).eval(),
        [X],
        7 * N,
        "batch_norm",
    ),
    case("ln", nn.LayerNorm(8), [X], 7 * N, "layer_norm"),
    case("ln-plain", nn.LayerNorm(8, elementwise_affine=False), [X], 5 * N, "layer_norm"),
    case("ln-nobias", nn.LayerNorm(8, bias=False), [X], 6 * N, "layer_norm"),
    case("gn", nn.GroupNorm(3, 3), [X], 7 * N, "group_norm"),
    case("in", nn.InstanceNorm2d(3), [X], 5 * N, "instance_norm"),
    case(
        "in-running",
        nn.InstanceNorm2d(3, affine=True, track_running_stats=True).eval(),
        [X],
        2 * N,
        "instance_norm",
    ),
    case("rms", nn.RMSNorm(8), [X], (3 + 1) * N, "rms_norm"),
]

# adaptive windows, 8 -> 3: [0, 3) [2, 6) [5, 8) = 10 elements; 8 -> 5: [0, 2) [1, 4) [3, 5)
# [4, 7) [6, 8) = 12 elements
POOLS = [
    case("maxpool", nn.MaxPool2d(3, 2, 1), [X], 2 * 3 * 4 * 4 * 9, "max_pool2d"),
    case(
        "maxpool-indices",
        nn.MaxPool2d(2, return_indices=True),
        [X],
        2 * 3 * 4 * 4 * 4,
        "max_pool2d_with_indices",
    ),
    case("avgpool1d", nn.AvgPool1d(3), [(2, 3, 8)], 2 * 3 * 2 * 3, "avg_pool1d"),
    case("avgpool3d", nn.AvgPool3d(2), [(1, 2, 4, 4, 4)], 2 * 8 * 8, "avg_pool3d"),
    case("adaptive-divides", nn.AdaptiveAvgPool2d(4), [X], N, "adaptive_avg_pool2d"),
    case(
        "adaptive-uneven", nn.AdaptiveAvgPool2d((3, 5)), [X], 2 * 3 * 10 * 12, "adaptive_avg_pool2d"
    ),
    case("adaptive-max1d", nn.AdaptiveMaxPool1d(3), [(2, 3, 8)], 2 * 3 * 10, "adaptive_max_pool1d"),
]

UP = 2 * 3 * 16 * 16  # output elements of a 2x upsampling of X
GRID = 2 * 3 * 5 * 6  # output elements of grid_sample(X, grid (2, 5, 6, 2))
INTERPOLATION = [
    case("nearest", nn.Upsample(scale_factor=2), [X], UP, "upsample_nearest2d"),
    case(
        "nearest-exact",
        lambda x: F.interpolate(x, scale_factor=2, mode="nearest-exact"),
        [X],
        UP,
        "_upsample_nearest_exact2d",
    ),
    case(
        "linear",
        nn.Upsample(scale_factor=2, mode="linear"),
        [(2, 3, 8)],
        3 * 2 * 3 * 16,
        "upsample_linear1d",
    ),
    case(
        "bilinear", nn.Upsample(scale_factor=2, mode="bilinear"), [X], 7 * UP, "upsample_bilinear2d"
    ),
    case(
        "bicubic", nn.Upsample(scale_factor=2, mode="bicubic"), [X], 31 * UP, "upsample_bicubic2d"
    ),
    case(
        "trilinear",
        nn.Upsample(scale_factor=2, mode="trilinear"),
        [(1, 2, 4, 4, 4)],
        15 * 2 * 8 * 8 * 8,
        "upsample_trilinear3d",
    ),
    case(
        "grid-bilinear",
        lambda x, g: F.grid_sample(x, g, align_corners=False),
        [X, (2, 5, 6, 2)],
        7 * GRID,
        "grid_sampler",
    ),
    case(
        "grid-nearest",
        lambda x, g: F.grid_sample(x, g, mode="nearest", align_corners=False),
        [X, (2, 5, 6, 2)],
        GRID,
        "grid_sampler",
    ),
]


def lstm_row(i: int, h: int, biases: bool = True, proj: int = 0) -> int:
    """One time step, batch row, layer and direction of an LSTM, written out."""
    r = proj or h  # width of the recurrent state
    gates = 2 * 4 * h * (i + r)  # x W_ih^T and h W_hh^T
    gate_adds = 4 * h + (8 * h if biases else 0)  # ih + hh, + b_ih + b_hh
    activations = 3 * h * 4 + h * 1  # sigmoid(i, f, o) at 4, tanh(g) at 1
    cell = 3 * h  # f*c + i*g
    hidden = 2 * h  # o * tanh(c)
    projection = 2 * proj * h
    return gates + gate_adds + activations + cell + hidden + projection


def gru_row(i: int, h: int, biases: bool = True) -> int:
    gates = 2 * 3 * h * (i + h)
    adds = 2 * h + (6 * h if biases else 0)  # r, z: ih + hh; + the six biases
    sigmoids = 2 * h * 4
    candidate = 3 * h  # tanh(ih_n + r * hh_n): mul, add, tanh
    update = 3 * h  # n + z * (h - n)
    return gates + adds + sigmoids + candidate + update


RECURRENT = [
    case(
        "lstm-2layer-bidirectional",
        nn.LSTM(4, 6, num_layers=2, bidirectional=True),
        [(5, 2, 4)],
        5 * 2 * 2 * (lstm_row(4, 6) + lstm_row(12, 6)),
        "lstm",
    ),
    case(
        "lstm-proj", nn.LSTM(4, 6, proj_size=3), [(5, 2, 4)], 5 * 2 * lstm_row(4, 6, proj=3), "lstm"
    ),
    case("lstm-unbatched", nn.LSTM(4, 6), [(5, 4)], 5 * lstm_row(4, 6), "lstm"),
    case(
        "gru-batch-first-nobias",
        nn.GRU(4, 6, batch_first=True, bias=False),
        [(2, 5, 4)],
        2 * 5 * gru_row(4, 6, biases=False),
        "gru",
    ),
    case(
        "gru-2layer",
        nn.GRU(4, 6, num_layers=2),
        [(5, 2, 4)],
        10 * (gru_row(4, 6) + gru_row(6, 6)),
        "gru",
    ),
    case("rnn-tanh", nn.RNN(4, 6), [(5, 2, 4)], 10 * (2 * 6 * (4 + 6) + 3 * 6 + 6), "rnn_tanh"),
]


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


class SmallConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1),
            nn.BatchNorm2d(8),
            nn.SiLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 8, 3, padding=1, groups=2),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.body(x)).flatten(1))


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
