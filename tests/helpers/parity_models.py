"""Models with their inputs and the operator labels each exercises: the fvcore-parity cases
(test_analyzer_parity.py), which the meta-path guard (test_meta.py) also runs on both paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# --------------------------------------------------------------------------- models


class Conv1dNet(nn.Module):
    """1-d convs (strided, dilated, grouped, transposed), BatchNorm1d, InstanceNorm1d, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.strided = nn.Conv1d(3, 8, 5, stride=2, padding=2)
        self.dilated = nn.Conv1d(8, 8, 3, dilation=2, padding=2, bias=False)
        self.grouped = nn.Conv1d(8, 12, 3, groups=4, padding=1)
        self.up = nn.ConvTranspose1d(12, 6, 4, stride=2, padding=1)
        self.bn = nn.BatchNorm1d(6)
        self.inorm = nn.InstanceNorm1d(6, affine=True)
        self.act = nn.ReLU()
        self.head = nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.act(self.grouped(self.dilated(self.strided(x))))
        x = self.inorm(self.bn(self.up(x)))
        return x, self.head(x.transpose(1, 2))  # a tuple output; linear on a 3-d input


class Conv2dNet(nn.Module):
    """2-d convs, norms, upsampling (nearest, bilinear), adaptive pooling and grid_sample."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8))
        self.grouped = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.dilated = nn.Conv2d(8, 16, 3, padding=2, dilation=2)
        self.gn = nn.GroupNorm(4, 16)
        self.inorm = nn.InstanceNorm2d(16)  # no affine
        self.up = nn.ConvTranspose2d(16, 4, 2, stride=2)
        self.pool = nn.AdaptiveAvgPool2d((3, 3))
        self.fc = nn.Linear(4 * 3 * 3, 10)

    def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        y = self.inorm(self.gn(self.dilated(self.grouped(y))))
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        y = F.interpolate(y, size=(10, 12), mode="bilinear", align_corners=False)
        y = self.up(y)
        y = F.grid_sample(y, grid, align_corners=False)
        return self.fc(self.pool(y).flatten(1))


class Conv3dNet(nn.Module):
    """3-d conv and grouped transposed conv; BatchNorm3d, GroupNorm (no affine), InstanceNorm3d."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(2, 4, 3, stride=(1, 2, 2), padding=1)
        self.bn = nn.BatchNorm3d(4)
        self.gn = nn.GroupNorm(2, 4, affine=False)
        self.up = nn.ConvTranspose3d(4, 6, 2, stride=2, groups=2)
        self.inorm = nn.InstanceNorm3d(6, affine=True)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        a = self.gn(self.bn(self.conv(x)))
        return [a, self.inorm(self.up(a))]  # a list output


class MatmulNet(nn.Module):
    """The matmul family on 2-d and 3-d operands, and einsum's special and generic paths."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 8)
        self.w = nn.Parameter(torch.randn(8, 5))
        self.bias = nn.Parameter(torch.randn(5))

    def forward(self, x: torch.Tensor, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.proj(x)  # linear, 3-d (2, 4, 6) -> (2, 4, 8)
        flat_h = self.proj(flat)  # linear, 2-d (3, 6) -> (3, 8)
        out = {
            "matmul_3d_2d": h @ self.w,
            "matmul_3d_3d": torch.matmul(h, h.transpose(1, 2)),
            "matmul_2d": torch.matmul(flat_h, self.w),
            "mm": torch.mm(flat_h, self.w),
            "addmm": torch.addmm(self.bias, flat_h, self.w),
            "bmm": torch.bmm(h, h.transpose(1, 2)),
            # renames to "abc,abd->acd" (special case 1)
            "einsum_nct": torch.einsum("nct,ncp->ntp", h, h),
            # renames to "abc,adc->adb" (special case 2)
            "einsum_ntg": torch.einsum("ntg,ncg->nct", h, h),
            # generic paths: numpy's optimal contraction
            "einsum_bik": torch.einsum("bij,bjk->bik", h, h.transpose(1, 2)),
            "einsum_chain": torch.einsum("ij,jk,kl->il", flat_h, self.w, self.w.t()),
            "einsum_outer": torch.einsum("i,j->ij", self.bias, flat_h[0]),
        }
        return out


class NormNet(nn.Module):
    """LayerNorm with and without affine; BatchNorm1d on (N, C) and (N, C, L), with and without
    affine; a BatchNorm without running stats (it normalises with batch stats even in eval)."""

    def __init__(self) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(7)
        self.ln_plain = nn.LayerNorm(7, elementwise_affine=False)
        self.bn_seq = nn.BatchNorm1d(5)
        self.bn_plain = nn.BatchNorm1d(5, affine=False)
        self.bn_flat = nn.BatchNorm1d(7)
        self.bn_batch_stats = nn.BatchNorm1d(7, track_running_stats=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.ln_plain(self.ln(x))  # (2, 5, 7)
        y = self.bn_plain(self.bn_seq(y))  # channels = 5
        flat = y.mean(1)  # (2, 7)
        return y, self.bn_batch_stats(self.bn_flat(flat))


class Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + x)


class TinyResNet(nn.Module):
    """Nested Sequential of residual blocks, three levels deep."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8))
        self.layers = nn.Sequential(
            nn.Sequential(Block(8), Block(8)),
            nn.Sequential(nn.Conv2d(8, 16, 1, stride=2), Block(16)),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.layers(self.stem(x))).flatten(1))


class SharedNet(nn.Module):
    """A block called twice, the same block aliased under a second attribute name, a nested
    child reached under two paths, tied weights, and a module that is never called."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(6, 6), nn.ReLU())
        self.alias = self.block  # second name of the same module
        self.inner = nn.Sequential(self.block[0])  # `block.0` again, as `inner.0`
        self.enc = nn.Linear(6, 4)
        self.dec = nn.Linear(4, 6, bias=False)
        self.tied = nn.Linear(6, 4)
        self.tied.weight = self.enc.weight  # tied: counted once, under `enc`
        self.unused = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(self.block(x))  # reused
        y = self.alias(y)  # called through its alias: still `block`
        y = self.inner(y)
        return self.dec(self.enc(y)) + self.tied(y).sum()


class MultiInputNet(nn.Module):
    """Positional tensor, dict and list inputs; a dict output holding a tuple and a list."""

    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Conv2d(3, 4, 3)
        self.text = nn.Linear(5, 4)
        self.fuse = nn.Linear(8, 2)

    def forward(
        self, x: torch.Tensor, extra: dict[str, torch.Tensor], seq: list[torch.Tensor]
    ) -> dict[str, Any]:
        pooled = self.image(x).mean((2, 3))  # (2, 4)
        tokens = self.text(extra["tokens"]).mean(1)  # (2, 4)
        fused = self.fuse(torch.cat([pooled, tokens], 1) * extra["scale"])
        parts = [torch.matmul(s, s.t()) for s in seq]
        return {"fused": fused, "pair": (pooled, tokens), "parts": parts}


class AttentionNet(nn.Module):
    """nn.MultiheadAttention and nn.TransformerEncoderLayer (batch_first, eval mode): the
    modules whose fused fast path depends on the grad mode of the trace."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # The averaged attention weights are returned: dropped, they would reach no output,
        # and fvcore's trace drops such work while ours counts it (test_tracing_robustness).
        y, weights = self.attn(x, x, x)
        return self.layer(y), weights


class ContainerNet(nn.Module):
    """ModuleList and ModuleDict: containers without a forward of their own, whose children
    run; one child of the ModuleDict never does."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])
        self.heads = nn.ModuleDict({"used": nn.Linear(4, 2), "skipped": nn.Linear(4, 3)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.heads["used"](x)


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class UncountedNet(nn.Module):
    """Ops fvcore has no handler for, in the root and in submodules."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.gate = nn.Sigmoid()
        self.soft = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.gate(self.fc(x)) * x
        y = Square.apply(self.soft(y))
        values, _ = torch.topk(y, 2)
        return torch.sigmoid(values), y.exp()


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    make: Callable[[], tuple[nn.Module, tuple[Any, ...]]]
    ops: frozenset[str]  # operator labels fvcore must report for the root (flops)
    # Hand-listed. No case has a called module without graph nodes (Identity-like), where
    # fvcore's uncalled set (no node in scope) and ours (forward never ran) differ.
    expected_uncalled: frozenset[str] = field(default_factory=frozenset)


def _conv1d() -> tuple[nn.Module, tuple[Any, ...]]:
    return Conv1dNet().eval(), (torch.randn(2, 3, 20),)


def _conv2d(train: bool) -> Callable[[], tuple[nn.Module, tuple[Any, ...]]]:
    def make() -> tuple[nn.Module, tuple[Any, ...]]:
        grid = torch.rand(2, 5, 7, 2) * 2 - 1
        return Conv2dNet().train(train), (torch.randn(2, 3, 16, 16), grid)

    return make


def _conv3d() -> tuple[nn.Module, tuple[Any, ...]]:
    return Conv3dNet().eval(), (torch.randn(1, 2, 4, 6, 6),)


def _matmul() -> tuple[nn.Module, tuple[Any, ...]]:
    return MatmulNet().eval(), (torch.randn(2, 4, 6), torch.randn(3, 6))


def _norms(train: bool) -> Callable[[], tuple[nn.Module, tuple[Any, ...]]]:
    def make() -> tuple[nn.Module, tuple[Any, ...]]:
        return NormNet().train(train), (torch.randn(2, 5, 7),)

    return make


def _resnet(train: bool) -> Callable[[], tuple[nn.Module, tuple[Any, ...]]]:
    def make() -> tuple[nn.Module, tuple[Any, ...]]:
        return TinyResNet().train(train), (torch.randn(2, 3, 16, 16),)

    return make


def _shared() -> tuple[nn.Module, tuple[Any, ...]]:
    return SharedNet().eval(), (torch.randn(3, 6),)


def _multi_input() -> tuple[nn.Module, tuple[Any, ...]]:
    extra = {"tokens": torch.randn(2, 3, 5), "scale": torch.randn(2, 8)}
    seq = [torch.randn(3, 4), torch.randn(2, 5)]
    return MultiInputNet().eval(), (torch.randn(2, 3, 6, 6), extra, seq)


def _attention() -> tuple[nn.Module, tuple[Any, ...]]:
    return AttentionNet().eval(), (torch.randn(2, 5, 8),)


def _containers() -> tuple[nn.Module, tuple[Any, ...]]:
    return ContainerNet().eval(), (torch.randn(3, 4),)


def _uncounted() -> tuple[nn.Module, tuple[Any, ...]]:
    return UncountedNet().eval(), (torch.randn(3, 6),)


NORM_OPS = {"batch_norm", "group_norm", "instance_norm"}
CASES = {
    "conv1d-strided-dilated-grouped-transposed": Case(
        _conv1d, frozenset({"conv", "batch_norm", "instance_norm", "linear"})
    ),
    "conv2d-norms-upsample-pool-gridsample-eval": Case(
        _conv2d(False),
        frozenset(
            {"conv", "linear", "upsample_nearest2d", "upsample_bilinear2d"}
            | {"adaptive_avg_pool2d", "grid_sampler"}
            | NORM_OPS
        ),
    ),
    "conv2d-norms-upsample-pool-gridsample-train": Case(
        _conv2d(True),
        frozenset(
            {"conv", "linear", "upsample_nearest2d", "upsample_bilinear2d"}
            | {"adaptive_avg_pool2d", "grid_sampler"}
            | NORM_OPS
        ),
    ),
    "conv3d-transposed-grouped-norms": Case(_conv3d, frozenset({"conv"} | NORM_OPS)),
    "matmul-bmm-einsum-addmm-linear": Case(
        _matmul, frozenset({"linear", "matmul", "mm", "addmm", "bmm", "einsum"})
    ),
    "layernorm-batchnorm-eval": Case(_norms(False), frozenset({"layer_norm", "batch_norm"})),
    "layernorm-batchnorm-train": Case(_norms(True), frozenset({"layer_norm", "batch_norm"})),
    "resnet-nested-eval": Case(
        _resnet(False), frozenset({"conv", "batch_norm", "adaptive_avg_pool2d", "linear"})
    ),
    "resnet-nested-train": Case(
        _resnet(True), frozenset({"conv", "batch_norm", "adaptive_avg_pool2d", "linear"})
    ),
    "shared-aliased-tied-uncalled": Case(
        _shared, frozenset({"linear"}), expected_uncalled=frozenset({"unused"})
    ),
    "multi-input-dict-list-output-dict": Case(
        _multi_input, frozenset({"conv", "linear", "matmul"})
    ),
    # out_proj of MultiheadAttention is used through F.linear, never called: uncalled in both.
    "attention-mha-transformer-layer": Case(
        _attention,
        frozenset({"linear", "bmm", "layer_norm"}),
        expected_uncalled=frozenset({"attn.out_proj", "layer.self_attn.out_proj"}),
    ),
    "modulelist-moduledict-containers": Case(
        _containers, frozenset({"linear"}), expected_uncalled=frozenset({"heads.skipped"})
    ),
    "uncounted-ops": Case(_uncounted, frozenset({"linear"})),
}
IDS = list(CASES)
