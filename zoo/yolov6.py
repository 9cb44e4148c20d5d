"""YOLOv6 v2.0 and v3.0 (Li et al., 2022 and 2023) with MMYOLO's names: EfficientRep / CSPBep
backbones, Rep-PAN necks and the efficient decoupled head; v3.0 adds the CSP-style SPPF
(``use_cspsppf``) and the bidirectional-concatenation necks (``BiFusion``, Rep-BiPAN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .base import BaseBackbone, BaseYOLONeck, YOLOHeadWrapper
from .bricks import (
    MMDET_BN,
    ConvModule,
    SPPFBottleneck,
    build_poolings,
    make_round,
    pool_pyramid,
    pyramid_levels,
)
from .registry import build_model, register_model

__all__ = [
    "BepC3StageBlock",
    "BiFusion",
    "BottleRep",
    "CSPSPPFBottleneck",
    "ConvWrapper",
    "RepStageBlock",
    "YOLOv6CSPBep",
    "YOLOv6CSPRepBiPAFPN",
    "YOLOv6CSPRepPAFPN",
    "YOLOv6EfficientRep",
    "YOLOv6Head",
    "YOLOv6HeadModule",
    "YOLOv6RepBiPAFPN",
    "YOLOv6RepPAFPN",
]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "YOLOv6"

Cfg = Mapping[str, Any]
_YOLO_BN = MMDET_BN
_SILU: dict[str, Any] = {"type": "SiLU"}
_RELU_INPLACE: dict[str, Any] = {"type": "ReLU", "inplace": True}
_REPVGG: dict[str, Any] = {"type": "RepVGGBlock"}


def _with(cfg: Cfg, **updates: Any) -> dict[str, Any]:
    merged = dict(cfg)
    merged.update(updates)
    return merged


@register_model
class ConvWrapper(nn.Module):
    """mmyolo's ``ConvWrapper``: a same-padded ``ConvModule`` under the name ``block``.

    Used where YOLOv6-L swaps RepVGG blocks for plain convs; note its default ``bias=True`` even
    with a norm layer, which upstream keeps.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        bias: bool = True,
        norm_cfg: Cfg | None = None,
        act_cfg: Cfg | None = _SILU,
    ) -> None:
        super().__init__()
        self.block = ConvModule(
            in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2,
            groups=groups, bias=bias, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class BottleRep(nn.Module):
    """Two rep blocks with a (learnably weighted) residual, YOLOv6's CSP bottleneck."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        block_cfg: Cfg = _REPVGG,
        adaptive_weight: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = build_model(
            _with(block_cfg, in_channels=in_channels, out_channels=out_channels)
        )
        self.conv2 = build_model(
            _with(block_cfg, in_channels=out_channels, out_channels=out_channels)
        )
        self.shortcut = in_channels == out_channels
        self.alpha: nn.Parameter | float = nn.Parameter(torch.ones(1)) if adaptive_weight else 1.0

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        return out + self.alpha * x if self.shortcut else out


@register_model
class RepStageBlock(nn.Module):
    """A stage of ``num_blocks`` rep blocks: ``conv1`` then the rest as ``block``.

    With ``bottle_block=BottleRep`` the stage holds ``num_blocks // 2`` BottleReps instead (each
    is two rep blocks), as in YOLOv6's BepC3.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_blocks: int = 1,
        bottle_block: type[nn.Module] | None = None,
        block_cfg: Cfg = _REPVGG,
    ) -> None:
        super().__init__()
        inner_cfg = _with(block_cfg, in_channels=out_channels, out_channels=out_channels)
        self.block: nn.Sequential | None = None
        if bottle_block is BottleRep:
            self.conv1: nn.Module = BottleRep(in_channels, out_channels, inner_cfg, True)
            pairs = num_blocks // 2
            if pairs > 1:
                self.block = nn.Sequential(
                    *(
                        BottleRep(out_channels, out_channels, inner_cfg, True)
                        for _ in range(pairs - 1)
                    )
                )
            return
        self.conv1 = build_model(
            _with(block_cfg, in_channels=in_channels, out_channels=out_channels)
        )
        if num_blocks > 1:
            self.block = nn.Sequential(*(build_model(inner_cfg) for _ in range(num_blocks - 1)))

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        return self.block(x) if self.block is not None else x


@register_model
class BepC3StageBlock(nn.Module):
    """YOLOv6's BepC3: CSP split, one half through a BottleRep stage, concat, 1x1 fuse."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_blocks: int = 1,
        hidden_ratio: float = 0.5,
        concat_all_layer: bool = True,
        block_cfg: Cfg = _REPVGG,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _RELU_INPLACE,
    ) -> None:
        super().__init__()
        hidden = int(out_channels * hidden_ratio)
        kw: dict[str, Any] = {"bias": False, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.conv1 = ConvModule(in_channels, hidden, 1, **kw)
        self.conv2 = ConvModule(in_channels, hidden, 1, **kw)
        self.conv3 = ConvModule(2 * hidden if concat_all_layer else hidden, out_channels, 1, **kw)
        self.block = RepStageBlock(hidden, hidden, num_blocks, BottleRep, block_cfg)
        self.concat_all_layer = concat_all_layer

    def forward(self, x: Tensor) -> Tensor:
        main = self.block(self.conv1(x))
        if self.concat_all_layer:
            return self.conv3(torch.cat((main, self.conv2(x)), dim=1))
        return self.conv3(main)


_SILU_INPLACE: dict[str, Any] = {"type": "SiLU", "inplace": True}


class CSPSPPFBottleneck(nn.Module):
    """YOLOv6 v3's SPPF in CSP form: the pyramid of poolings runs on a 1x1-3x3-1x1 branch
    (``conv1/3/4``), a 1x1 shortcut (``conv2``) skips it, and ``conv7`` fuses the two."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: int | Sequence[int] = 5,
        use_conv_first: bool = True,
        mid_channels_scale: float = 0.5,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Any = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.conv1: nn.Module | None = None
        self.conv3: nn.Module | None = None
        self.conv4: nn.Module | None = None
        mid = in_channels
        if use_conv_first:
            mid = int(in_channels * mid_channels_scale)
            self.conv1 = ConvModule(in_channels, mid, 1, stride=1, **kw)
            self.conv3 = ConvModule(mid, mid, 3, stride=1, padding=1, **kw)
            self.conv4 = ConvModule(mid, mid, 1, stride=1, **kw)
        self.conv2 = ConvModule(in_channels, mid, 1, stride=1, **kw)
        self.kernel_sizes = kernel_sizes
        self.poolings = build_poolings(kernel_sizes)
        self.conv5 = ConvModule(mid * pyramid_levels(kernel_sizes), mid, 1, stride=1, **kw)
        self.conv6 = ConvModule(mid, mid, 3, stride=1, padding=1, **kw)
        self.conv7 = ConvModule(mid * 2, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        branch = x
        if self.conv1 is not None and self.conv3 is not None and self.conv4 is not None:
            branch = self.conv4(self.conv3(self.conv1(x)))
        shortcut = self.conv2(x)
        pooled = self.conv6(self.conv5(pool_pyramid(self.poolings, branch)))
        return self.conv7(torch.cat([shortcut, pooled], dim=1))


class BiFusion(nn.Module):
    """YOLOv6 v3's top-down merge: the coarser level upsampled by a transposed conv, the
    current level through a 1x1 conv and the finer level through a 1x1 conv and a strided 3x3,
    concatenated and fused by a 1x1 conv."""

    def __init__(
        self,
        in_channels0: int,
        in_channels1: int,
        out_channels: int,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _RELU_INPLACE,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"bias": False, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.conv1 = ConvModule(in_channels0, out_channels, 1, stride=1, padding=0, **kw)
        self.conv2 = ConvModule(in_channels1, out_channels, 1, stride=1, padding=0, **kw)
        self.conv3 = ConvModule(out_channels * 3, out_channels, 1, stride=1, padding=0, **kw)
        self.upsample = nn.ConvTranspose2d(
            out_channels, out_channels, kernel_size=2, stride=2, bias=True
        )
        self.downsample = ConvModule(out_channels, out_channels, 3, stride=2, padding=1, **kw)

    def forward(self, x: Sequence[Tensor]) -> Tensor:
        """``x``: the coarser, the current and the finer level, in that order."""
        high = self.upsample(x[0])
        current = self.conv1(x[1])
        low = self.downsample(self.conv2(x[2]))
        return self.conv3(torch.cat((high, current, low), dim=1))


@register_model
class YOLOv6EfficientRep(BaseBackbone):
    """EfficientRep: a RepVGG stem, then per stage a strided rep block + a RepStageBlock; SPPF
    closes the last stage."""

    # Per stage: in_channels, out_channels, num_blocks, use_spp.
    arch_settings: ClassVar[dict[str, list[list[Any]]]] = {
        "P5": [[64, 128, 6, False], [128, 256, 12, False], [256, 512, 18, False],
               [512, 1024, 6, True]],
    }  # fmt: skip

    def __init__(
        self,
        arch: str = "P5",
        plugins: Any = None,
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        input_channels: int = 3,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        use_cspsppf: bool = False,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _RELU_INPLACE,
        norm_eval: bool = False,
        block_cfg: Cfg = {"type": "RepVGGBlock"},  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        if arch not in self.arch_settings:
            raise KeyError(f"unknown {type(self).__name__} arch {arch!r} (known: P5)")
        self.use_cspsppf = use_cspsppf
        self.block_cfg = dict(block_cfg)
        super().__init__(
            [list(s) for s in self.arch_settings[arch]], deepen_factor, widen_factor,
            input_channels, out_indices, frozen_stages, plugins, norm_cfg, act_cfg, norm_eval,
        )  # fmt: skip

    def _block(self, in_channels: int, out_channels: int, **kwargs: Any) -> nn.Module:
        cfg = dict(self.block_cfg)
        cfg.update(in_channels=in_channels, out_channels=out_channels, **kwargs)
        return build_model(cfg)

    def build_stem_layer(self) -> nn.Module:
        out = int(self.arch_setting[0][0] * self.widen_factor)
        return self._block(self.input_channels, out, kernel_size=3, stride=2)

    def _stage_blocks(self, channels: int, num_blocks: int) -> nn.Module:
        return RepStageBlock(channels, channels, num_blocks, block_cfg=self.block_cfg)

    def build_stage_layer(self, stage_idx: int, setting: list[Any]) -> list[nn.Module]:
        in_channels, out_channels, num_blocks, use_spp = setting
        in_channels = int(in_channels * self.widen_factor)
        out_channels = int(out_channels * self.widen_factor)
        num_blocks = make_round(num_blocks, self.deepen_factor)
        down = self._block(in_channels, out_channels, kernel_size=3, stride=2)
        stage: list[nn.Module] = [nn.Sequential(down, self._stage_blocks(out_channels, num_blocks))]
        if use_spp:
            spp = CSPSPPFBottleneck if self.use_cspsppf else SPPFBottleneck
            stage.append(
                spp(out_channels, out_channels, kernel_sizes=5, norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg)
            )  # fmt: skip
        return stage


@register_model
class YOLOv6CSPBep(YOLOv6EfficientRep):
    """CSPBep (YOLOv6-M/L): EfficientRep with BepC3 CSP stages instead of plain rep stages."""

    def __init__(
        self,
        arch: str = "P5",
        plugins: Any = None,
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        input_channels: int = 3,
        hidden_ratio: float = 0.5,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        use_cspsppf: bool = False,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        norm_eval: bool = False,
        block_cfg: Cfg = {"type": "ConvWrapper"},  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        self.hidden_ratio = hidden_ratio
        # use_cspsppf is accepted but, as in mmyolo 0.6 (whose YOLOv6CSPBep does not pass it on
        # to EfficientRep, which resets it), never used: YOLOv6 v3 M/L keep the plain SPPF.
        super().__init__(
            arch, plugins, deepen_factor, widen_factor, input_channels, out_indices,
            frozen_stages, False, norm_cfg, act_cfg, norm_eval, block_cfg, init_cfg,
        )  # fmt: skip

    def _stage_blocks(self, channels: int, num_blocks: int) -> nn.Module:
        return BepC3StageBlock(
            channels, channels, num_blocks, hidden_ratio=self.hidden_ratio,
            block_cfg=self.block_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
        )  # fmt: skip


@register_model
class YOLOv6RepPAFPN(BaseYOLONeck):
    """Rep-PAN: a PAFPN whose merge blocks are RepStageBlocks and whose upsampling is a learned
    2x2 transposed conv."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: Sequence[int],
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        num_csp_blocks: int = 12,
        freeze_all: bool = False,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _RELU_INPLACE,
        block_cfg: Cfg = {"type": "RepVGGBlock"},  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        self.num_csp_blocks = num_csp_blocks
        self.block_cfg = dict(block_cfg)
        super().__init__(
            in_channels, list(out_channels), deepen_factor, widen_factor,
            freeze_all=freeze_all, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip

    def _w(self, channels: float) -> int:
        return int(channels * self.widen_factor)

    def _conv(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Module:
        return ConvModule(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2,
                          norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)  # fmt: skip

    def _merge(self, in_channels: int, out_channels: int) -> nn.Module:
        blocks = make_round(self.num_csp_blocks, self.deepen_factor)
        return RepStageBlock(in_channels, out_channels, blocks, block_cfg=self.block_cfg)

    def build_reduce_layer(self, idx: int) -> nn.Module:
        if idx == 2:
            return self._conv(
                self._w(self.in_channels[idx]), self._w(self.out_channels[idx - 1]), 1
            )
        return nn.Identity()

    def build_upsample_layer(self, idx: int) -> nn.Module:
        channels = self._w(self.out_channels[idx - 1])
        return nn.ConvTranspose2d(channels, channels, kernel_size=2, stride=2, bias=True)

    def build_top_down_layer(self, idx: int) -> nn.Module:
        layer = self._merge(
            self._w(self.out_channels[idx - 1] + self.in_channels[idx - 1]),
            self._w(self.out_channels[idx - 1]),
        )
        if idx == 1:
            return layer
        reduce = self._conv(
            self._w(self.out_channels[idx - 1]), self._w(self.out_channels[idx - 2]), 1
        )
        return nn.Sequential(layer, reduce)

    def build_downsample_layer(self, idx: int) -> nn.Module:
        channels = self._w(self.out_channels[idx])
        return self._conv(channels, channels, 3, stride=2)

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        return self._merge(self._w(self.out_channels[idx] * 2), self._w(self.out_channels[idx + 1]))

    def build_out_layer(self, idx: int) -> nn.Module:
        return nn.Identity()


@register_model
class YOLOv6CSPRepPAFPN(YOLOv6RepPAFPN):
    """CSP Rep-PAN (YOLOv6-M/L): merge blocks are BepC3 blocks."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: Sequence[int],
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        hidden_ratio: float = 0.5,
        num_csp_blocks: int = 12,
        freeze_all: bool = False,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _RELU_INPLACE,
        block_act_cfg: Cfg = _SILU_INPLACE,
        block_cfg: Cfg = {"type": "RepVGGBlock"},  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        self.hidden_ratio = hidden_ratio
        self.block_act_cfg = block_act_cfg
        super().__init__(
            in_channels, out_channels, deepen_factor, widen_factor, num_csp_blocks, freeze_all,
            norm_cfg, act_cfg, block_cfg, init_cfg,
        )  # fmt: skip

    def _merge(self, in_channels: int, out_channels: int) -> nn.Module:
        return BepC3StageBlock(
            in_channels, out_channels, make_round(self.num_csp_blocks, self.deepen_factor),
            hidden_ratio=self.hidden_ratio, block_cfg=self.block_cfg, norm_cfg=self.norm_cfg,
            act_cfg=self.block_act_cfg,
        )  # fmt: skip


@register_model
class YOLOv6RepBiPAFPN(YOLOv6RepPAFPN):
    """YOLOv6 v3's Rep-BiPAN: takes one more, finer input level (``in_channels[0]``, stride 4)
    and merges top-down with ``BiFusion`` (coarser, current and finer level) instead of
    upsample-and-concatenate; the outputs are the same three levels."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: Sequence[int],
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        num_csp_blocks: int = 12,
        freeze_all: bool = False,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _RELU_INPLACE,
        block_cfg: Cfg = {"type": "RepVGGBlock"},  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        self.extra_in_channel = in_channels[0]
        super().__init__(
            in_channels[1:], out_channels, deepen_factor, widen_factor, num_csp_blocks,
            freeze_all, norm_cfg, act_cfg, block_cfg, init_cfg,
        )  # fmt: skip

    def _top_down_merge(self, channels: int) -> nn.Module:
        # BiFusion already brings the levels to out_channels: no concatenation to absorb here.
        return RepStageBlock(
            channels, channels, make_round(self.num_csp_blocks, self.deepen_factor),
            block_cfg=self.block_cfg,
        )  # fmt: skip

    def build_top_down_layer(self, idx: int) -> nn.Module:
        layer = self._top_down_merge(self._w(self.out_channels[idx - 1]))
        if idx == 1:
            return layer
        reduce = self._conv(
            self._w(self.out_channels[idx - 1]), self._w(self.out_channels[idx - 2]), 1
        )
        return nn.Sequential(layer, reduce)

    def build_upsample_layer(self, idx: int) -> nn.Module:
        finer = self.in_channels[idx - 2] if idx > 1 else self.extra_in_channel
        return BiFusion(
            in_channels0=self._w(self.in_channels[idx - 1]),
            in_channels1=self._w(finer),
            out_channels=self._w(self.out_channels[idx - 1]),
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        levels = len(self.in_channels)
        if len(inputs) != levels + 1:
            raise ValueError(f"expected {levels + 1} feature maps, got {len(inputs)}")
        # reduce_outs[0] is the extra finest level, which only feeds BiFusion.
        reduce_outs = [inputs[0]] + [
            layer(x) for layer, x in zip(self.reduce_layers, inputs[1:], strict=True)
        ]
        inner_outs = [reduce_outs[-1]]
        for idx in range(levels - 1, 0, -1):
            fused = self.upsample_layers[levels - 1 - idx](
                [inner_outs[0], reduce_outs[idx], reduce_outs[idx - 1]]
            )
            inner_outs.insert(0, self.top_down_layers[levels - 1 - idx](fused))
        outs = [inner_outs[0]]
        for idx in range(levels - 1):
            downsample_feat = self.downsample_layers[idx](outs[-1])
            outs.append(
                self.bottom_up_layers[idx](torch.cat([downsample_feat, inner_outs[idx + 1]], 1))
            )
        return tuple(layer(x) for layer, x in zip(self.out_layers, outs, strict=True))


@register_model
class YOLOv6CSPRepBiPAFPN(YOLOv6RepBiPAFPN):
    """CSP Rep-BiPAN (YOLOv6 v3 M/L): Rep-BiPAN whose merge blocks are BepC3 blocks."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: Sequence[int],
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        hidden_ratio: float = 0.5,
        num_csp_blocks: int = 12,
        freeze_all: bool = False,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _RELU_INPLACE,
        block_act_cfg: Cfg = _SILU_INPLACE,
        block_cfg: Cfg = {"type": "RepVGGBlock"},  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        self.hidden_ratio = hidden_ratio
        self.block_act_cfg = block_act_cfg
        super().__init__(
            in_channels, out_channels, deepen_factor, widen_factor, num_csp_blocks, freeze_all,
            norm_cfg, act_cfg, block_cfg, init_cfg,
        )  # fmt: skip

    def _bep(self, in_channels: int, out_channels: int) -> nn.Module:
        return BepC3StageBlock(
            in_channels, out_channels, make_round(self.num_csp_blocks, self.deepen_factor),
            hidden_ratio=self.hidden_ratio, block_cfg=self.block_cfg, norm_cfg=self.norm_cfg,
            act_cfg=self.block_act_cfg,
        )  # fmt: skip

    def _top_down_merge(self, channels: int) -> nn.Module:
        return self._bep(channels, channels)

    def _merge(self, in_channels: int, out_channels: int) -> nn.Module:
        return self._bep(in_channels, out_channels)


@register_model
class YOLOv6HeadModule(nn.Module):
    """Efficient decoupled head: per level a 1x1 stem, then one 3x3 conv + 1x1 prediction for
    classes and one for boxes (with ``reg_max > 1``, a DFL distribution decoded by a matmul)."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int | Sequence[int],
        widen_factor: float = 1.0,
        num_base_priors: int = 1,
        reg_max: int = 0,
        featmap_strides: Sequence[int] = (8, 16, 32),
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Any = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.featmap_strides = list(featmap_strides)
        self.num_levels = len(self.featmap_strides)
        self.num_base_priors = num_base_priors
        self.reg_max = reg_max
        if isinstance(in_channels, int):
            self.in_channels = [int(in_channels * widen_factor)] * self.num_levels
        else:
            self.in_channels = [int(c * widen_factor) for c in in_channels]
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.cls_preds = nn.ModuleList()
        self.reg_preds = nn.ModuleList()
        self.stems = nn.ModuleList()
        if reg_max > 1:
            self.register_buffer(
                "proj", torch.arange(reg_max + num_base_priors, dtype=torch.float), persistent=False
            )
        kw: dict[str, Any] = {"norm_cfg": norm_cfg, "act_cfg": act_cfg}
        for c in self.in_channels:
            self.stems.append(ConvModule(c, c, 1, stride=1, padding=0, **kw))
            self.cls_convs.append(ConvModule(c, c, 3, stride=1, padding=1, **kw))
            self.reg_convs.append(ConvModule(c, c, 3, stride=1, padding=1, **kw))
            self.cls_preds.append(nn.Conv2d(c, num_base_priors * num_classes, 1))
            self.reg_preds.append(nn.Conv2d(c, (num_base_priors + reg_max) * 4, 1))

    def forward(self, x: Sequence[Tensor]) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        if len(x) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} feature maps, got {len(x)}")
        cls_scores, bbox_preds = [], []
        for i, feat in enumerate(x):
            b, _, h, w = feat.shape
            y = self.stems[i](feat)
            cls_scores.append(self.cls_preds[i](self.cls_convs[i](y)))
            dist = self.reg_preds[i](self.reg_convs[i](y))
            if self.reg_max > 1:
                dist = dist.reshape([-1, 4, self.reg_max + self.num_base_priors, h * w])
                dist = dist.permute(0, 3, 1, 2).softmax(3).matmul(self.proj.view([-1, 1]))
                dist = dist.squeeze(-1).transpose(1, 2).reshape(b, -1, h, w)
            bbox_preds.append(dist)
        return tuple(cls_scores), tuple(bbox_preds)


@register_model
class YOLOv6Head(YOLOHeadWrapper):
    """YOLOv6's head wrapper around ``head_module`` (training-only parts left unbuilt)."""

    def __init__(
        self,
        head_module: Cfg | nn.Module,
        prior_generator: Cfg | None = None,
        bbox_coder: Cfg | None = None,
        loss_cls: Cfg | None = None,
        loss_bbox: Cfg | None = None,
        train_cfg: Cfg | None = None,
        test_cfg: Cfg | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(head_module, train_cfg, test_cfg)
