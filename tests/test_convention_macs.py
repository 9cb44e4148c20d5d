"""The `macs` convention: one multiply-add = 1, conv and matmul family and SDPA only.

Expectations are derived independently of the analyzer: multiply-adds written out from the
shapes by hand, torchvision's published GFLOPS for architectures written out below (no
torchvision dependency), and the closed form of a Llama decoder.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from complexity.analyzer import CONVENTIONS, Report, analyze
from complexity.analyzer import handles_macs as hm

from helpers import run

DOC = Path(__file__).resolve().parents[1] / "docs" / "conventions.md"


def macs(fn: Any, *inputs: Any) -> Report:
    return run(fn, *inputs, convention="macs")


# --------------------------------------------------------------- hand-derived numbers


@pytest.mark.parametrize(
    ("layer", "shape", "expected"),
    [
        # N * out positions * C_out * C_in/groups * k
        (nn.Conv1d(4, 6, 3), (2, 4, 10), 2 * 8 * 6 * 4 * 3),
        (nn.Conv2d(3, 8, 3, stride=2, padding=1), (1, 3, 16, 16), 8 * 8 * 8 * 3 * 9),
        (nn.Conv2d(8, 8, 3, padding=1, groups=8), (1, 8, 6, 6), 36 * 8 * 1 * 9),
        (nn.Conv3d(2, 4, (1, 3, 3)), (1, 2, 3, 5, 5), 3 * 3 * 3 * 4 * 2 * 9),
        # transposed: every input position is multiplied by the whole C_in x C_out/g x k
        (nn.ConvTranspose2d(4, 2, 2, stride=2), (1, 4, 5, 5), 25 * 4 * 2 * 4),
        (nn.ConvTranspose1d(3, 6, 4, groups=3), (2, 3, 7), 2 * 7 * 3 * 2 * 4),
    ],
)
def test_convolutions(layer: nn.Module, shape: tuple[int, ...], expected: int) -> None:
    report = macs(layer, torch.randn(shape))
    assert report.total("flops") == expected
    assert report.by_operator("flops") == {"conv": expected}


def test_same_padding_conv_is_counted() -> None:
    layer = nn.Conv2d(3, 5, 3, padding="same")
    assert macs(layer, torch.randn(1, 3, 7, 7)).total("flops") == 49 * 5 * 3 * 9


def test_linear_any_rank_bias_free() -> None:
    assert macs(nn.Linear(16, 10), torch.randn(4, 7, 16)).total("flops") == 4 * 7 * 16 * 10
    assert macs(nn.Linear(16, 10, bias=False), torch.randn(16)).total("flops") == 160


@pytest.mark.parametrize(
    ("fn", "shapes", "expected"),
    [
        (torch.mm, [(5, 6), (6, 7)], 5 * 6 * 7),
        (torch.bmm, [(3, 5, 6), (3, 6, 7)], 3 * 5 * 6 * 7),
        (lambda c, a, b: torch.addmm(c, a, b, beta=0.5), [(7,), (5, 6), (6, 7)], 5 * 6 * 7),
        (torch.baddbmm, [(3, 5, 7), (3, 5, 6), (3, 6, 7)], 3 * 5 * 6 * 7),
        (torch.matmul, [(2, 1, 5, 6), (4, 6, 7)], 2 * 4 * 5 * 6 * 7),  # broadcast batch
        (torch.matmul, [(6,), (6, 7)], 6 * 7),
        (torch.matmul, [(3, 5, 6), (6,)], 3 * 5 * 6),
        (
            lambda a, b: torch.einsum("bhqd,bhkd->bhqk", a, b),
            [(2, 3, 5, 8), (2, 3, 7, 8)],
            2 * 3 * 5 * 7 * 8,
        ),
        (lambda a, b: torch.einsum("i,j->ij", a, b), [(5,), (6,)], 30),  # k = 1: 30 multiplies
        # three operands, numpy's optimal path: (ij,jk) first (2*3*4=24), then (ik,kl) (2*4*5=40)
        (lambda a, b, c: torch.einsum("ij,jk,kl->il", a, b, c), [(2, 3), (3, 4), (4, 5)], 24 + 40),
        (lambda a: torch.einsum("ii->", a), [(4, 4)], 0),  # a trace: adds only
    ],
)
def test_matmul_family(fn: Any, shapes: list[tuple[int, ...]], expected: int) -> None:
    tensors = [torch.randn(s) for s in shapes]
    assert macs(fn, *tensors).total("flops") == expected


@pytest.mark.parametrize("mask", ["none", "causal", "boolean"])
def test_sdpa_is_its_two_matmuls_whatever_the_mask(mask: str) -> None:
    b, h, lq, lk, e, ev = 2, 4, 5, 7, 8, 6
    q, k, v = torch.randn(b, h, lq, e), torch.randn(b, h, lk, e), torch.randn(b, h, lk, ev)
    options: dict[str, Any] = {
        "none": {},
        "causal": {"is_causal": True},
        "boolean": {"attn_mask": torch.ones(lq, lk, dtype=torch.bool).tril()},
    }[mask]
    report = macs(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **options), q, k, v)
    assert report.total("flops") == b * h * lq * lk * e + b * h * lq * lk * ev


def test_sdpa_grouped_query_attention_counts_every_query_head() -> None:
    # 8 query heads share 2 key/value heads: each query head still does L*S*E + L*S*Ev.
    q, k, v = torch.randn(1, 8, 6, 4), torch.randn(1, 2, 6, 4), torch.randn(1, 2, 6, 4)
    report = macs(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True), q, k, v)
    assert report.total("flops") == 8 * 6 * 6 * 4 * 2


def test_everything_else_is_free_and_listed() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 4, 1, bias=False),
        nn.BatchNorm2d(4),
        nn.SiLU(),
        nn.MaxPool2d(2),
        nn.Upsample(scale_factor=2.0, mode="bilinear"),
        nn.GroupNorm(2, 4),
        nn.Softmax(dim=1),
    ).eval()
    report = macs(model, torch.randn(1, 3, 8, 8))
    assert report.total("flops") == 64 * 4 * 3
    assert report.uncounted == ()
    for op in ("batch_norm", "silu", "max_pool2d", "upsample_bilinear2d", "group_norm", "softmax"):
        assert report.ignored_ops[f"aten::{op}"] == 1


def test_ops_that_hide_matmuls_are_reported_not_free() -> None:
    report = macs(nn.LSTM(4, 8, batch_first=True), torch.randn(2, 3, 4))
    assert report.unsupported_ops == {"aten::lstm": 1}
    assert report.uncounted[0].reason == "not counted by this convention"


def test_handlers_state_their_formula_and_free_ops_have_no_rule() -> None:
    convention = CONVENTIONS["macs"]
    assert not convention.ignored & set(convention.rules)
    for op, rule in convention.rules.items():
        for handler in (rule.flops, rule.activations):
            if handler is not None:
                doc = (handler.__doc__ or "").strip()
                assert doc and "\n" not in doc, f"{op}: handler needs a one-line docstring"


def test_formulas_are_pure_functions_of_named_shapes() -> None:
    assert (
        hm.conv_macs(input=(1, 3, 8, 8), weight=(4, 3, 3, 3), output=(1, 4, 6, 6), transposed=False)
        == 36 * 4 * 27
    )
    assert hm.sdpa_macs(
        query=(1, 2, 3, 4), key=(1, 2, 5, 4), value=(1, 2, 5, 6), output=(1, 2, 3, 6)
    ) == 6 * 5 * (4 + 6)


def test_docs_list_the_counted_ops() -> None:
    text = DOC.read_text()
    assert "## `macs`" in text
    for op in sorted(hm.FLOPS):
        assert f"`{op.split('::')[1]}`" in text, op


# --------------------------------------------------------------- fvcore keeps fvcore's set


def test_fvcore_leaves_sdpa_uncounted() -> None:
    q = torch.randn(1, 2, 4, 8)
    report = run(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), q, q, q)
    assert report.total("flops") == 0
    assert report.unsupported_ops == {"aten::scaled_dot_product_attention": 1}


# --------------------------------------------------------------- torchvision's GFLOPS
# torchvision publishes, per classification weight, `_ops` in GFLOPS: the multiply-adds of
# conv and matmul-family ops with SDPA as its two matmuls (torchvision/models/*.py, weights
# meta, e.g. ResNet50_Weights.IMAGENET1K_V1: "_ops": 4.089). The architectures are written
# out here from the papers and torchvision's layer lists.


class Bottleneck(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int) -> None:
        super().__init__()
        width, out = planes, planes * 4
        self.conv1, self.bn1 = nn.Conv2d(inplanes, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)  # stride here: v1.5
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


def resnet50() -> nn.Module:
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
    ]
    inplanes = 64
    for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for index in range(blocks):
            layers.append(Bottleneck(inplanes, planes, stride if index == 0 else 1))
            inplanes = planes * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000)]
    return nn.Sequential(*layers)


class EncoderBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.self_attention(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class VisionTransformer(nn.Module):
    def __init__(self, patch: int, layers: int, heads: int, dim: int, mlp: int) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, patch, patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, (224 // patch) ** 2 + 1, dim))
        self.layers = nn.Sequential(*[EncoderBlock(dim, heads, mlp) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, 1000)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.conv_proj(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.ln(self.layers(x + self.pos_embedding))
        return self.head(x[:, 0])


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1, self.act, self.pwconv2 = (
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Linear(4 * dim, dim),
        )
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))
        y = self.pwconv2(self.act(self.pwconv1(y))).permute(0, 3, 1, 2)
        return x + self.layer_scale * y


def convnext_tiny() -> nn.Module:
    dims, depths = (96, 192, 384, 768), (3, 3, 9, 3)
    layers: list[nn.Module] = [nn.Conv2d(3, 96, 4, 4), LayerNorm2d(96, eps=1e-6)]
    for stage, (dim, depth) in enumerate(zip(dims, depths, strict=True)):
        if stage:
            layers += [
                LayerNorm2d(dims[stage - 1], eps=1e-6),
                nn.Conv2d(dims[stage - 1], dim, 2, 2),
            ]
        layers += [CNBlock(dim) for _ in range(depth)]
    layers += [
        nn.AdaptiveAvgPool2d(1),
        LayerNorm2d(768, eps=1e-6),
        nn.Flatten(),
        nn.Linear(768, 1000),
    ]
    return nn.Sequential(*layers)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("build", "published"),
    [
        (resnet50, 4.089),
        (lambda: VisionTransformer(16, 12, 12, 768, 3072), 17.564),
        (convnext_tiny, 4.456),
    ],
    ids=["resnet50", "vit_b_16", "convnext_tiny"],
)
def test_torchvision_published_gflops(build: Any, published: float) -> None:
    report = macs(build().eval(), torch.randn(1, 3, 224, 224))
    assert round(report.total("flops") / 1e9, 3) == published
    assert report.uncounted == ()


# --------------------------------------------------------------- Llama closed form


@pytest.mark.slow
@pytest.mark.parametrize(("heads", "kv_heads", "tokens"), [(8, 8, 37), (8, 2, 64)])
def test_llama_macs_equal_the_closed_form(heads: int, kv_heads: int, tokens: int) -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=3,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        vocab_size=101,
        max_position_embeddings=128,
        use_cache=False,
    )
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config).eval()
    forward = model.forward
    model.forward = lambda ids: forward(input_ids=ids, use_cache=False, return_dict=False)
    ids = torch.zeros(1, tokens, dtype=torch.int64, device="meta")
    report = analyze(model, (ids,), convention="macs")
    linears = sum(
        m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear)
    )
    head_dim = 64 // heads
    closed_form = tokens * linears + 3 * 2 * heads * tokens**2 * head_dim
    assert report.total("flops") == closed_form
    assert math.isclose(
        report.by_operator("flops")["scaled_dot_product_attention"],
        3 * 2 * heads * tokens**2 * head_dim,
    )
