"""YOLOv7 (Wang et al., 2022) with MMYOLO's names: the ELAN backbone (tiny/L/X and the P6
W/E/D/E2E variants), the ELAN PAFPN and the implicit-knowledge anchor heads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .base import BaseBackbone, BaseYOLONeck, YOLOHeadWrapper
from .bricks import MMDET_BN, ConvModule, Focus, RepVGGBlock, make_divisible
from .registry import build_model, register_model

__all__ = [
    "EELANBlock",
    "ELANBlock",
    "ImplicitA",
    "ImplicitM",
    "MaxPoolAndStrideConvBlock",
    "SPPFCSPBlock",
    "TinyDownSampleBlock",
    "YOLOv7Backbone",
    "YOLOv7Head",
    "YOLOv7HeadModule",
    "YOLOv7PAFPN",
    "YOLOv7p6HeadModule",
]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "YOLOv7"

Cfg = Mapping[str, Any]
_YOLO_BN = MMDET_BN
_LEAKY: dict[str, Any] = {"type": "LeakyReLU", "negative_slope": 0.1}
_SILU_INPLACE: dict[str, Any] = {"type": "SiLU", "inplace": True}


def _elan(middle: float, block: float, num_blocks: int, convs: int) -> dict[str, Any]:
    return {"type": "ELANBlock", "middle_ratio": middle, "block_ratio": block,
            "num_blocks": num_blocks, "num_convs_in_block": convs}  # fmt: skip


_TINY_STAGE1 = {"type": "TinyDownSampleBlock", "middle_ratio": 0.5}
_TINY_STAGE2_4 = {"type": "TinyDownSampleBlock", "middle_ratio": 1.0}
_L_EXPAND = _elan(0.5, 0.5, 2, 2)
_L_KEEP = _elan(0.25, 0.25, 2, 2)
_X_EXPAND = _elan(0.4, 0.4, 3, 2)
_X_KEEP = _elan(0.2, 0.2, 3, 2)
_W_KEEP = _elan(0.5, 0.5, 2, 2)
_E_KEEP = _elan(0.4, 0.4, 3, 2)
_D_KEEP = _elan(1 / 3, 1 / 3, 4, 2)
_NECK_ELAN = _elan(0.5, 0.25, 4, 1)
_E2E_KEEP = {**_elan(0.4, 0.4, 3, 2), "type": "EELANBlock", "num_elan_block": 2}


@register_model
class ELANBlock(nn.Module):
    """Efficient layer aggregation (YOLOv7): a chain of conv blocks whose every output, plus both
    1x1 inputs, is concatenated (deepest first) and fused by ``final_conv``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        middle_ratio: float,
        block_ratio: float,
        num_blocks: int = 2,
        num_convs_in_block: int = 1,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        if num_blocks < 1 or num_convs_in_block < 1:
            raise ValueError("ELANBlock needs num_blocks >= 1 and num_convs_in_block >= 1")
        kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        middle = int(in_channels * middle_ratio)
        block_channels = int(in_channels * block_ratio)
        final_in = num_blocks * block_channels + 2 * middle
        self.main_conv = ConvModule(in_channels, middle, 1, **kw)
        self.short_conv = ConvModule(in_channels, middle, 1, **kw)
        self.blocks = nn.ModuleList()
        channels = middle
        for _ in range(num_blocks):
            if num_convs_in_block == 1:
                self.blocks.append(ConvModule(channels, block_channels, 3, padding=1, **kw))
            else:
                convs = []
                for _ in range(num_convs_in_block):
                    convs.append(ConvModule(channels, block_channels, 3, padding=1, **kw))
                    channels = block_channels
                self.blocks.append(nn.Sequential(*convs))
            channels = block_channels
        self.final_conv = ConvModule(final_in, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        x_short = self.short_conv(x)
        x_main = self.main_conv(x)
        outs = []
        y = x_main
        for block in self.blocks:
            y = block(y)
            outs.append(y)
        return self.final_conv(torch.cat((*outs[::-1], x_main, x_short), dim=1))


@register_model
class EELANBlock(nn.Module):
    """Extended ELAN: the sum of ``num_elan_block`` parallel ELAN blocks (YOLOv7-E6E)."""

    def __init__(self, num_elan_block: int, **kwargs: Any) -> None:
        super().__init__()
        if num_elan_block < 1:
            raise ValueError("EELANBlock needs num_elan_block >= 1")
        self.e_elan_blocks = nn.ModuleList(ELANBlock(**kwargs) for _ in range(num_elan_block))

    def forward(self, x: Tensor) -> Tensor:
        outs = [block(x) for block in self.e_elan_blocks]
        total = outs[0]
        for out in outs[1:]:
            total = total + out
        return total


class MaxPoolAndStrideConvBlock(nn.Module):
    """YOLOv7's MP downsampling: max-pool + 1x1 beside 1x1 + strided 3x3, concatenated."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        maxpool_kernel_sizes: int = 2,
        use_in_channels_of_middle: bool = False,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        middle = in_channels if use_in_channels_of_middle else out_channels // 2
        self.maxpool_branches = nn.Sequential(
            nn.MaxPool2d(maxpool_kernel_sizes, maxpool_kernel_sizes),
            ConvModule(in_channels, out_channels // 2, 1, **kw),
        )
        self.stride_conv_branches = nn.Sequential(
            ConvModule(in_channels, middle, 1, **kw),
            ConvModule(middle, out_channels // 2, 3, stride=2, padding=1, **kw),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.stride_conv_branches(x), self.maxpool_branches(x)], dim=1)


@register_model
class TinyDownSampleBlock(nn.Module):
    """YOLOv7-tiny's ELAN-like block: a 1x1 short path and a 1x1 -> 3x3 -> 3x3 chain."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        middle_ratio: float = 1.0,
        kernel_sizes: int = 3,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _LEAKY,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        middle = int(in_channels * middle_ratio)
        self.short_conv = ConvModule(in_channels, middle, 1, **kw)
        self.main_convs = nn.ModuleList([ConvModule(in_channels, middle, 1, **kw)])
        for _ in range(2):
            self.main_convs.append(
                ConvModule(middle, middle, kernel_sizes, padding=(kernel_sizes - 1) // 2, **kw)
            )
        self.final_conv = ConvModule(middle * 4, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        short = self.short_conv(x)
        outs = []
        for conv in self.main_convs:
            x = conv(x)
            outs.append(x)
        return self.final_conv(torch.cat([*outs[::-1], short], dim=1))


@register_model
class SPPFCSPBlock(nn.Module):
    """YOLOv7's SPPCSPC: a CSP split whose main path runs (serial) SPP pooling."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: float = 0.5,
        kernel_sizes: int | Sequence[int] = 5,
        is_tiny_version: bool = False,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        mid = int(2 * out_channels * expand_ratio)
        self.is_tiny_version = is_tiny_version
        self.main_layers: nn.Module
        self.fuse_layers: nn.Module
        if is_tiny_version:
            self.main_layers = ConvModule(in_channels, mid, 1, **kw)
        else:
            self.main_layers = nn.Sequential(
                ConvModule(in_channels, mid, 1, **kw),
                ConvModule(mid, mid, 3, padding=1, **kw),
                ConvModule(mid, mid, 1, **kw),
            )
        self.kernel_sizes = kernel_sizes
        self.poolings: nn.Module
        if isinstance(kernel_sizes, int):
            self.poolings = nn.MaxPool2d(kernel_sizes, stride=1, padding=kernel_sizes // 2)
        else:
            self.poolings = nn.ModuleList(
                nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernel_sizes
            )
        if is_tiny_version:
            self.fuse_layers = ConvModule(4 * mid, mid, 1, **kw)
        else:
            self.fuse_layers = nn.Sequential(
                ConvModule(4 * mid, mid, 1, **kw), ConvModule(mid, mid, 3, padding=1, **kw)
            )
        self.short_layer = ConvModule(in_channels, mid, 1, **kw)
        self.final_conv = ConvModule(2 * mid, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.main_layers(x)
        if isinstance(self.poolings, nn.ModuleList):
            pooled = [x1, *(pool(x1) for pool in self.poolings)]
        else:
            y1 = self.poolings(x1)
            y2 = self.poolings(y1)
            pooled = [x1, y1, y2, self.poolings(y2)]
        if self.is_tiny_version:
            pooled = pooled[::-1]  # tiny concatenates the most-pooled map first
        x1 = self.fuse_layers(torch.cat(pooled, 1))
        return self.final_conv(torch.cat((x1, self.short_layer(x)), dim=1))


class ImplicitA(nn.Module):
    """YOLOR's implicit knowledge, additive: a learned per-channel offset."""

    def __init__(self, in_channels: int, mean: float = 0.0, std: float = 0.02) -> None:
        super().__init__()
        self.implicit = nn.Parameter(torch.empty(1, in_channels, 1, 1))
        nn.init.normal_(self.implicit, mean=mean, std=std)

    def forward(self, x: Tensor) -> Tensor:
        return self.implicit + x


class ImplicitM(nn.Module):
    """YOLOR's implicit knowledge, multiplicative: a learned per-channel scale."""

    def __init__(self, in_channels: int, mean: float = 1.0, std: float = 0.02) -> None:
        super().__init__()
        self.implicit = nn.Parameter(torch.empty(1, in_channels, 1, 1))
        nn.init.normal_(self.implicit, mean=mean, std=std)

    def forward(self, x: Tensor) -> Tensor:
        return self.implicit * x


@register_model
class YOLOv7Backbone(BaseBackbone):
    """YOLOv7's backbone: a conv (or Focus) stem, then per stage a downsampling block and an
    ELAN / E-ELAN / tiny block, depending on ``arch``."""

    # Per stage: in_channels, out_channels, block config.
    arch_settings: ClassVar[dict[str, list[list[Any]]]] = {
        "Tiny": [[64, 64, _TINY_STAGE1], [64, 128, _TINY_STAGE2_4], [128, 256, _TINY_STAGE2_4],
                 [256, 512, _TINY_STAGE2_4]],
        "L": [[64, 256, _L_EXPAND], [256, 512, _L_EXPAND], [512, 1024, _L_EXPAND],
              [1024, 1024, _L_KEEP]],
        "X": [[80, 320, _X_EXPAND], [320, 640, _X_EXPAND], [640, 1280, _X_EXPAND],
              [1280, 1280, _X_KEEP]],
        "W": [[64, 128, _W_KEEP], [128, 256, _W_KEEP], [256, 512, _W_KEEP], [512, 768, _W_KEEP],
              [768, 1024, _W_KEEP]],
        "E": [[80, 160, _E_KEEP], [160, 320, _E_KEEP], [320, 640, _E_KEEP], [640, 960, _E_KEEP],
              [960, 1280, _E_KEEP]],
        "D": [[96, 192, _D_KEEP], [192, 384, _D_KEEP], [384, 768, _D_KEEP], [768, 1152, _D_KEEP],
              [1152, 1536, _D_KEEP]],
        "E2E": [[80, 160, _E2E_KEEP], [160, 320, _E2E_KEEP], [320, 640, _E2E_KEEP],
                [640, 960, _E2E_KEEP], [960, 1280, _E2E_KEEP]],
    }  # fmt: skip

    def __init__(
        self,
        arch: str = "L",
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        input_channels: int = 3,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        plugins: Any = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        norm_eval: bool = False,
        init_cfg: Any = None,
    ) -> None:
        if arch not in self.arch_settings:
            raise KeyError(
                f"unknown YOLOv7Backbone arch {arch!r} (known: {', '.join(self.arch_settings)})"
            )
        self.arch = arch
        super().__init__(
            [list(s) for s in self.arch_settings[arch]], deepen_factor, widen_factor,
            input_channels, out_indices, frozen_stages, plugins, norm_cfg, act_cfg, norm_eval,
        )  # fmt: skip

    def _conv(self, in_channels: int, out_channels: int, stride: int) -> ConvModule:
        return ConvModule(in_channels, out_channels, 3, padding=1, stride=stride,
                          norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)  # fmt: skip

    def build_stem_layer(self) -> nn.Module:
        # As upstream, the stem reads 3 channels whatever ``input_channels`` says.
        first = self.arch_setting[0][0] * self.widen_factor
        full, half = int(first), int(first // 2)
        if self.arch in ("L", "X"):
            return nn.Sequential(self._conv(3, half, 1), self._conv(half, full, 2),
                                 self._conv(full, full, 1))  # fmt: skip
        if self.arch == "Tiny":
            return nn.Sequential(self._conv(3, half, 2), self._conv(half, full, 2))
        return Focus(3, full, kernel_size=3, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def build_stage_layer(self, stage_idx: int, setting: list[Any]) -> list[nn.Module]:
        in_channels, out_channels, block_cfg = setting
        in_channels = int(in_channels * self.widen_factor)
        out_channels = int(out_channels * self.widen_factor)
        cfg = dict(block_cfg)
        cfg.setdefault("norm_cfg", self.norm_cfg)
        cfg.setdefault("act_cfg", self.act_cfg)
        cfg["in_channels"], cfg["out_channels"] = in_channels, out_channels
        kw: dict[str, Any] = {"norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}
        down: nn.Module | None
        if self.arch in ("W", "E", "D", "E2E"):
            cfg["in_channels"] = out_channels
            if self.arch == "W":
                down = ConvModule(in_channels, out_channels, 3, stride=2, padding=1, **kw)
            else:
                down = MaxPoolAndStrideConvBlock(
                    in_channels, out_channels, use_in_channels_of_middle=True, **kw
                )
        elif self.arch == "Tiny":
            down = nn.MaxPool2d(2, 2) if stage_idx != 0 else None
        elif stage_idx == 0:  # L, X
            cfg["in_channels"] = out_channels // 2
            down = ConvModule(in_channels, out_channels // 2, 3, stride=2, padding=1, **kw)
        else:
            down = MaxPoolAndStrideConvBlock(in_channels, in_channels, **kw)
        block = build_model(cfg)
        return [block] if down is None else [down, block]


@register_model
class YOLOv7PAFPN(BaseYOLONeck):
    """YOLOv7's PAFPN: SPPCSPC on the coarsest level, ELAN merge blocks, MP downsampling and
    (P5) RepVGG or plain 3x3 output convs doubling the width."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: Sequence[int],
        block_cfg: Cfg = _NECK_ELAN,
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        spp_expand_ratio: float = 0.5,
        is_tiny_version: bool = False,
        use_maxpool_in_downsample: bool = True,
        use_in_channels_in_downsample: bool = False,
        use_repconv_outs: bool = True,
        upsample_feats_cat_first: bool = False,
        freeze_all: bool = False,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Any = None,
    ) -> None:
        self.is_tiny_version = is_tiny_version
        self.use_maxpool_in_downsample = use_maxpool_in_downsample
        self.use_in_channels_in_downsample = use_in_channels_in_downsample
        self.spp_expand_ratio = spp_expand_ratio
        self.use_repconv_outs = use_repconv_outs
        self.block_cfg = dict(block_cfg)
        self.block_cfg.setdefault("norm_cfg", norm_cfg)
        self.block_cfg.setdefault("act_cfg", act_cfg)
        super().__init__(
            [int(c * widen_factor) for c in in_channels],
            [int(c * widen_factor) for c in out_channels],
            deepen_factor, widen_factor, upsample_feats_cat_first, freeze_all, norm_cfg, act_cfg,
        )  # fmt: skip

    def _kw(self) -> dict[str, Any]:
        return {"norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}

    def _block(self, in_channels: int, out_channels: int) -> nn.Module:
        cfg = dict(self.block_cfg)
        cfg["in_channels"], cfg["out_channels"] = in_channels, out_channels
        return build_model(cfg)

    def build_reduce_layer(self, idx: int) -> nn.Module:
        if idx == len(self.in_channels) - 1:
            return SPPFCSPBlock(
                self.in_channels[idx], self.out_channels[idx], expand_ratio=self.spp_expand_ratio,
                is_tiny_version=self.is_tiny_version, kernel_sizes=5, **self._kw(),
            )  # fmt: skip
        return ConvModule(self.in_channels[idx], self.out_channels[idx], 1, **self._kw())

    def build_upsample_layer(self, idx: int) -> nn.Module:
        return nn.Sequential(
            ConvModule(self.out_channels[idx], self.out_channels[idx - 1], 1, **self._kw()),
            nn.Upsample(scale_factor=2, mode="nearest"),
        )

    def build_top_down_layer(self, idx: int) -> nn.Module:
        return self._block(self.out_channels[idx - 1] * 2, self.out_channels[idx - 1])

    def build_downsample_layer(self, idx: int) -> nn.Module:
        low, high = self.out_channels[idx], self.out_channels[idx + 1]
        if self.use_maxpool_in_downsample and not self.is_tiny_version:
            return MaxPoolAndStrideConvBlock(
                low, high, use_in_channels_of_middle=self.use_in_channels_in_downsample,
                **self._kw(),
            )  # fmt: skip
        return ConvModule(low, high, 3, stride=2, padding=1, **self._kw())

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        return self._block(self.out_channels[idx + 1] * 2, self.out_channels[idx + 1])

    def build_out_layer(self, idx: int) -> nn.Module:
        if len(self.in_channels) == 4:  # P6: the head's own 3x3 convs take this role
            return nn.Identity()
        channels = self.out_channels[idx]
        if self.use_repconv_outs:
            return RepVGGBlock(channels, channels * 2, 3, **self._kw())
        return ConvModule(channels, channels * 2, 3, padding=1, **self._kw())


@register_model
class YOLOv7HeadModule(nn.Module):
    """YOLOv5-style anchor head with YOLOR implicit knowledge around each 1x1 prediction."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int | Sequence[int],
        widen_factor: float = 1.0,
        num_base_priors: int = 3,
        featmap_strides: Sequence[int] = (8, 16, 32),
        init_cfg: Any = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.widen_factor = widen_factor
        self.featmap_strides = list(featmap_strides)
        self.num_out_attrib = 5 + num_classes
        self.num_levels = len(self.featmap_strides)
        self.num_base_priors = num_base_priors
        channels = [in_channels] * self.num_levels if isinstance(in_channels, int) else in_channels
        self.in_channels = [make_divisible(c, widen_factor) for c in channels]
        self._init_layers()

    def _init_layers(self) -> None:
        out = self.num_base_priors * self.num_out_attrib
        self.convs_pred = nn.ModuleList(
            nn.Sequential(ImplicitA(c), nn.Conv2d(c, out, 1), ImplicitM(out))
            for c in self.in_channels
        )

    def _split(self, pred_map: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        bs, _, ny, nx = pred_map.shape
        pred_map = pred_map.view(bs, self.num_base_priors, self.num_out_attrib, ny, nx)
        cls_score = pred_map[:, :, 5:, ...].reshape(bs, -1, ny, nx)
        bbox_pred = pred_map[:, :, :4, ...].reshape(bs, -1, ny, nx)
        objectness = pred_map[:, :, 4:5, ...].reshape(bs, -1, ny, nx)
        return cls_score, bbox_pred, objectness

    def _level_predictors(self) -> Sequence[nn.Module]:
        return self.convs_pred

    def forward(self, x: Sequence[Tensor]) -> tuple[tuple[Tensor, ...], ...]:
        if len(x) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} feature maps, got {len(x)}")
        outs = [
            self._split(conv(feat)) for conv, feat in zip(self._level_predictors(), x, strict=True)
        ]
        cls_scores, bbox_preds, objectnesses = zip(*outs, strict=True)
        return tuple(cls_scores), tuple(bbox_preds), tuple(objectnesses)


@register_model
class YOLOv7p6HeadModule(YOLOv7HeadModule):
    """P6 head: a 3x3 conv before each prediction, plus an auxiliary head for training.

    The auxiliary convs only run in training, so they add parameters but no inference FLOPs.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int | Sequence[int],
        widen_factor: float = 1.0,
        num_base_priors: int = 3,
        featmap_strides: Sequence[int] = (8, 16, 32),
        init_cfg: Any = None,
        main_out_channels: Sequence[int] = (256, 512, 768, 1024),
        aux_out_channels: Sequence[int] = (320, 640, 960, 1280),
        use_aux: bool = True,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
    ) -> None:
        self.main_out_channels = list(main_out_channels)
        self.aux_out_channels = list(aux_out_channels)
        self.use_aux = use_aux
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        super().__init__(
            num_classes, in_channels, widen_factor, num_base_priors, featmap_strides, init_cfg
        )

    def _init_layers(self) -> None:
        out = self.num_base_priors * self.num_out_attrib
        kw: dict[str, Any] = {"padding": 1, "norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}
        self.main_convs_pred = nn.ModuleList(
            nn.Sequential(ConvModule(c, m, 3, **kw), ImplicitA(m), nn.Conv2d(m, out, 1),
                          ImplicitM(out))
            for c, m in zip(self.in_channels, self.main_out_channels, strict=False)
        )  # fmt: skip
        if self.use_aux:
            self.aux_convs_pred = nn.ModuleList(
                nn.Sequential(ConvModule(c, a, 3, **kw), nn.Conv2d(a, out, 1))
                for c, a in zip(self.in_channels, self.aux_out_channels, strict=False)
            )

    def _level_predictors(self) -> Sequence[nn.Module]:
        return self.main_convs_pred


@register_model
class YOLOv7Head(YOLOHeadWrapper):
    """YOLOv7's head wrapper (YOLOv5Head's arguments plus SimOTA's); only ``head_module`` runs."""

    def __init__(
        self,
        head_module: Cfg | nn.Module,
        prior_generator: Cfg | None = None,
        bbox_coder: Cfg | None = None,
        loss_cls: Cfg | None = None,
        loss_bbox: Cfg | None = None,
        loss_obj: Cfg | None = None,
        prior_match_thr: float = 4.0,
        near_neighbor_thr: float = 0.5,
        ignore_iof_thr: float = -1.0,
        obj_level_weights: Sequence[float] = (4.0, 1.0, 0.4),
        train_cfg: Cfg | None = None,
        test_cfg: Cfg | None = None,
        init_cfg: Any = None,
        simota_candidate_topk: int = 20,
        simota_iou_weight: float = 3.0,
        simota_cls_weight: float = 1.0,
        aux_loss_weights: float = 0.25,
    ) -> None:
        super().__init__(head_module, train_cfg, test_cfg)
