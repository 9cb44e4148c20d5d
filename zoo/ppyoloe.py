"""PP-YOLOE and PP-YOLOE+ (Xu et al., 2022) with MMYOLO's names: CSPRepResNet backbone,
CSP-PAN neck, ET-head with DFL, and PP-YOLOE's data preprocessor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import BaseBackbone, BaseYOLONeck, YOLOHeadWrapper
from .bricks import ConvModule, RepVGGBlock, SPPFBottleneck, build_activation_layer
from .detectors import DetDataPreprocessor
from .registry import build_model, register_model

__all__ = [
    "PPYOLOECSPPAFPN",
    "CSPResLayer",
    "EffectiveSELayer",
    "PPYOLOEBasicBlock",
    "PPYOLOECSPResNet",
    "PPYOLOEDetDataPreprocessor",
    "PPYOLOEHead",
    "PPYOLOEHeadModule",
    "PPYOLOESELayer",
]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "PPYOLOE"

Cfg = Mapping[str, Any]
# PaddlePaddle's BatchNorm defaults, which PP-YOLOE keeps.
_PP_BN: dict[str, Any] = {"type": "BN", "momentum": 0.1, "eps": 1e-5}
_SILU_INPLACE: dict[str, Any] = {"type": "SiLU", "inplace": True}
_HSIGMOID: dict[str, Any] = {"type": "HSigmoid"}


@register_model
class EffectiveSELayer(nn.Module):
    """Effective squeeze-excitation (CenterMask): one 1x1 conv on the channel means, no reduction."""

    def __init__(self, channels: int, act_cfg: Cfg = _HSIGMOID) -> None:
        super().__init__()
        self.fc = ConvModule(channels, channels, 1, act_cfg=None)
        self.activate = build_activation_layer(act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.activate(self.fc(x.mean((2, 3), keepdim=True)))


class PPYOLOESELayer(nn.Module):
    """PP-YOLOE head's ESE attention: gate ``feat`` by sigmoid(fc(avg)), then a 1x1 ConvModule."""

    def __init__(
        self, feat_channels: int, norm_cfg: Cfg = _PP_BN, act_cfg: Cfg = _SILU_INPLACE
    ) -> None:
        super().__init__()
        self.fc = nn.Conv2d(feat_channels, feat_channels, 1)
        self.sig = nn.Sigmoid()
        self.conv = ConvModule(feat_channels, feat_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, feat: Tensor, avg_feat: Tensor) -> Tensor:
        return self.conv(feat * self.sig(self.fc(avg_feat)))


@register_model
class PPYOLOEBasicBlock(nn.Module):
    """3x3 ConvModule then a RepVGG block (without BN identity), optional residual."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm_cfg: Cfg = _PP_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        shortcut: bool = True,
        use_alpha: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = ConvModule(
            in_channels, out_channels, 3, stride=1, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.conv2 = RepVGGBlock(
            out_channels, out_channels, use_alpha=use_alpha, act_cfg=act_cfg, norm_cfg=norm_cfg,
            use_bn_first=False,
        )  # fmt: skip
        self.shortcut = shortcut

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv2(self.conv1(x))
        return x + y if self.shortcut else y


class CSPResLayer(nn.Module):
    """PP-YOLOE's CSPRes stage: optional strided ``conv_down``, two 1x1 halves, blocks on one,
    concat, optional ESE attention, 1x1 ``conv3``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_block: int,
        block_cfg: Cfg = {"type": "PPYOLOEBasicBlock", "shortcut": True, "use_alpha": True},  # noqa: B006
        stride: int = 1,
        norm_cfg: Cfg = _PP_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        attention_cfg: Cfg | None = {"type": "EffectiveSELayer", "act_cfg": _HSIGMOID},  # noqa: B006
        use_spp: bool = False,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.conv_down: ConvModule | None = None
        if stride == 2:
            conv1_in = conv3_in = (in_channels + out_channels) // 2
            blocks_channels = conv1_in // 2
            self.conv_down = ConvModule(in_channels, conv1_in, 3, stride=2, padding=1, **kw)
        else:
            conv1_in, conv3_in = in_channels, out_channels
            blocks_channels = out_channels // 2
        self.conv1 = ConvModule(conv1_in, blocks_channels, 1, **kw)
        self.conv2 = ConvModule(conv1_in, blocks_channels, 1, **kw)
        block = dict(block_cfg)
        block.update(in_channels=blocks_channels, out_channels=blocks_channels)
        block.setdefault("norm_cfg", norm_cfg)
        block.setdefault("act_cfg", act_cfg)
        self.blocks = nn.Sequential()
        for i in range(num_block):
            self.blocks.add_module(str(i), build_model(block))
            if use_spp and i == (num_block - 1) // 2:
                # SPP (5, 9, 13) in the middle of the neck's deepest stage, without a first conv.
                self.blocks.add_module(
                    "spp",
                    SPPFBottleneck(blocks_channels, blocks_channels, kernel_sizes=[5, 9, 13],
                                   use_conv_first=False, **kw),
                )  # fmt: skip
        self.conv3 = ConvModule(conv3_in, out_channels, 1, **kw)
        self.attn = None
        if attention_cfg:
            self.attn = build_model({**attention_cfg, "channels": blocks_channels * 2})

    def forward(self, x: Tensor) -> Tensor:
        if self.conv_down is not None:
            x = self.conv_down(x)
        y = torch.cat([self.conv1(x), self.blocks(self.conv2(x))], dim=1)
        if self.attn is not None:
            y = self.attn(y)
        return self.conv3(y)


@register_model
class PPYOLOEDetDataPreprocessor(DetDataPreprocessor):
    """PP-YOLOE's preprocessor, reduced to its inference path.

    In training it batches images and applies ``PPYOLOEBatchRandomResize`` (a random multi-scale
    resize synchronised across the batch); at inference, which is all get_flops runs, it is
    mmdet's ``DetDataPreprocessor``: normalise, then pad to ``pad_size_divisor``. The batch
    augments are accepted and not applied.
    """


@register_model
class PPYOLOECSPResNet(BaseBackbone):
    """CSPRepResNet: a 2- or 3-conv stem, then four strided CSPRes stages with ESE attention."""

    # Per stage: in_channels, out_channels, num_blocks.
    arch_settings: ClassVar[dict[str, list[list[Any]]]] = {
        "P5": [[64, 128, 3], [128, 256, 6], [256, 512, 6], [512, 1024, 3]],
    }

    def __init__(
        self,
        arch: str = "P5",
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        input_channels: int = 3,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        plugins: Any = None,
        arch_ovewrite: Sequence[Sequence[int]] | None = None,  # sic: mmyolo's spelling
        block_cfg: Cfg = {"type": "PPYOLOEBasicBlock", "shortcut": True, "use_alpha": True},  # noqa: B006
        norm_cfg: Cfg = _PP_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        attention_cfg: Cfg = {"type": "EffectiveSELayer", "act_cfg": {"type": "HSigmoid"}},  # noqa: B006
        norm_eval: bool = False,
        init_cfg: Any = None,
        use_large_stem: bool = False,
    ) -> None:
        if arch not in self.arch_settings:
            raise KeyError(f"unknown PPYOLOECSPResNet arch {arch!r} (known: P5)")
        # Unlike the YOLO backbones, widths and depths are scaled up front (no minimum of 1).
        setting = [
            [int(i * widen_factor), int(o * widen_factor), round(n * deepen_factor)]
            for i, o, n in (arch_ovewrite or self.arch_settings[arch])
        ]
        self.block_cfg = dict(block_cfg)
        self.use_large_stem = use_large_stem
        self.attention_cfg = attention_cfg
        super().__init__(
            setting, deepen_factor, widen_factor, input_channels, out_indices, frozen_stages,
            plugins, norm_cfg, act_cfg, norm_eval,
        )  # fmt: skip

    def build_stem_layer(self) -> nn.Module:
        full = self.arch_setting[0][0]
        half = full // 2
        kw: dict[str, Any] = {"padding": 1, "norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}
        convs = [ConvModule(self.input_channels, half, 3, stride=2, **kw)]
        if self.use_large_stem:
            convs.append(ConvModule(half, half, 3, stride=1, **kw))
        convs.append(ConvModule(half, full, 3, stride=1, **kw))
        return nn.Sequential(*convs)

    def build_stage_layer(self, stage_idx: int, setting: list[Any]) -> list[nn.Module]:
        in_channels, out_channels, num_blocks = setting
        return [
            CSPResLayer(
                in_channels, out_channels, num_blocks, block_cfg=self.block_cfg, stride=2,
                norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, attention_cfg=self.attention_cfg,
                use_spp=False,
            )
        ]  # fmt: skip


@register_model
class PPYOLOECSPPAFPN(BaseYOLONeck):
    """CSP-PAN: CSPRes stages (no attention, SPP inside the coarsest one) in a PAFPN."""

    def __init__(
        self,
        in_channels: Sequence[int] = (256, 512, 1024),
        out_channels: Sequence[int] = (256, 512, 1024),
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        freeze_all: bool = False,
        num_csplayer: int = 1,
        num_blocks_per_layer: int = 3,
        block_cfg: Cfg = {"type": "PPYOLOEBasicBlock", "shortcut": False, "use_alpha": False},  # noqa: B006
        norm_cfg: Cfg = _PP_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        drop_block_cfg: Cfg | None = None,
        init_cfg: Any = None,
        use_spp: bool = False,
    ) -> None:
        if drop_block_cfg is not None and not isinstance(drop_block_cfg, Mapping):
            raise TypeError("drop_block_cfg must be None or a dict")
        self.block_cfg = dict(block_cfg)
        self.num_csplayer = num_csplayer
        self.num_blocks_per_layer = round(num_blocks_per_layer * deepen_factor)
        self.use_spp = use_spp
        self.drop_block_cfg = drop_block_cfg
        super().__init__(
            [int(c * widen_factor) for c in in_channels],
            [int(c * widen_factor) for c in out_channels],
            deepen_factor, widen_factor, True, freeze_all, norm_cfg, act_cfg,
        )  # fmt: skip

    def _stack(self, in_channels: int, out_channels: int, use_spp: bool = False) -> nn.Sequential:
        layers: list[nn.Module] = [
            CSPResLayer(
                in_channels if i == 0 else out_channels, out_channels, self.num_blocks_per_layer,
                block_cfg=self.block_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                attention_cfg=None, use_spp=use_spp,
            )
            for i in range(self.num_csplayer)
        ]  # fmt: skip
        if self.drop_block_cfg:
            layers.append(build_model(self.drop_block_cfg))
        return nn.Sequential(*layers)

    def build_reduce_layer(self, idx: int) -> nn.Module:
        if idx == len(self.in_channels) - 1:
            return self._stack(self.in_channels[idx], self.out_channels[idx], self.use_spp)
        return nn.Identity()

    def build_upsample_layer(self, idx: int) -> nn.Module:
        channels = self.out_channels[idx]
        return nn.Sequential(
            ConvModule(channels, channels // 2, 1, stride=1, padding=0, norm_cfg=self.norm_cfg,
                       act_cfg=self.act_cfg),
            nn.Upsample(scale_factor=2, mode="nearest"),
        )  # fmt: skip

    def build_top_down_layer(self, idx: int) -> nn.Module:
        return self._stack(
            self.in_channels[idx - 1] + self.out_channels[idx] // 2, self.out_channels[idx - 1]
        )

    def build_downsample_layer(self, idx: int) -> nn.Module:
        channels = self.out_channels[idx]
        return ConvModule(channels, channels, 3, stride=2, padding=1, norm_cfg=self.norm_cfg,
                          act_cfg=self.act_cfg)  # fmt: skip

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        return self._stack(
            self.out_channels[idx + 1] + self.out_channels[idx], self.out_channels[idx + 1]
        )

    def build_out_layer(self, idx: int) -> nn.Module:
        return nn.Identity()


@register_model
class PPYOLOEHeadModule(nn.Module):
    """ET-head: per level, ESE-gated stems for classes and boxes, 3x3 predictions, and boxes
    decoded from a ``reg_max + 1``-bin distribution (softmax, then a matmul with 0..reg_max)."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int | Sequence[int],
        widen_factor: float = 1.0,
        num_base_priors: int = 1,
        featmap_strides: Sequence[int] = (8, 16, 32),
        reg_max: int = 16,
        norm_cfg: Cfg = _PP_BN,
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
        self.cls_preds = nn.ModuleList()
        self.reg_preds = nn.ModuleList()
        self.cls_stems = nn.ModuleList()
        self.reg_stems = nn.ModuleList()
        for c in self.in_channels:
            self.cls_stems.append(PPYOLOESELayer(c, norm_cfg=norm_cfg, act_cfg=act_cfg))
            self.reg_stems.append(PPYOLOESELayer(c, norm_cfg=norm_cfg, act_cfg=act_cfg))
        for c in self.in_channels:
            self.cls_preds.append(nn.Conv2d(c, num_classes, 3, padding=1))
            self.reg_preds.append(nn.Conv2d(c, 4 * (reg_max + 1), 3, padding=1))
        self.register_buffer("proj", torch.arange(reg_max + 1, dtype=torch.float), persistent=False)

    def forward(self, x: Sequence[Tensor]) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        if len(x) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} feature maps, got {len(x)}")
        cls_scores, bbox_preds = [], []
        for i, feat in enumerate(x):
            b, _, h, w = feat.shape
            avg_feat = F.adaptive_avg_pool2d(feat, (1, 1))
            cls_scores.append(self.cls_preds[i](self.cls_stems[i](feat, avg_feat) + feat))
            dist = self.reg_preds[i](self.reg_stems[i](feat, avg_feat))
            if self.reg_max > 1:
                dist = dist.reshape([-1, 4, self.reg_max + 1, h * w]).permute(0, 3, 1, 2)
                dist = dist.softmax(3).matmul(self.proj.view([-1, 1])).squeeze(-1)
                dist = dist.transpose(1, 2).reshape(b, -1, h, w)
            bbox_preds.append(dist)
        return tuple(cls_scores), tuple(bbox_preds)


@register_model
class PPYOLOEHead(YOLOHeadWrapper):
    """PP-YOLOE's head wrapper (YOLOv6Head's arguments plus the DFL loss)."""

    def __init__(
        self,
        head_module: Cfg | nn.Module,
        prior_generator: Cfg | None = None,
        bbox_coder: Cfg | None = None,
        loss_cls: Cfg | None = None,
        loss_bbox: Cfg | None = None,
        loss_dfl: Cfg | None = None,
        train_cfg: Cfg | None = None,
        test_cfg: Cfg | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(head_module, train_cfg, test_cfg)
