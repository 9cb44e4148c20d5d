"""Models and hand-computed cases of the `flops` convention (test_convention_flops.py), which
the meta-path guard (test_meta.py) and the training step (test_train_step.py) also run.

Each handler case is `pytest.param(model, input shapes, expected flops, operator label)`:
the expected flops are written out from the shapes with the per-element costs of
docs/conventions.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import Fn

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


# ------------------------------------------------------------- attention


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
