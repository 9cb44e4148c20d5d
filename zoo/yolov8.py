"""YOLOv8: ``YOLOv8CSPDarknet``, ``YOLOv8PAFPN`` (both built from C2f, ``CSPLayerWithTwoConv``)
and the anchor-free decoupled ``YOLOv8Head`` with its DFL box decoding, in mmyolo's layout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .base import BaseBackbone, YOLOHeadWrapper, select_arch
from .bricks import (
    MMDET_BN,
    SILU_INPLACE,
    Cfg,
    ConvModule,
    CSPLayerWithTwoConv,
    SPPFBottleneck,
    make_divisible,
    make_round,
)
from .registry import register_model
from .yolov5 import YOLOv5PAFPN

__all__ = ["YOLOv8CSPDarknet", "YOLOv8Head", "YOLOv8HeadModule", "YOLOv8PAFPN"]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "YOLOv8"


@register_model
class YOLOv8CSPDarknet(BaseBackbone):
    """YOLOv8's backbone: a 3x3 stride-2 stem, then per stage a strided 3x3 conv, a C2f layer
    and (last stage) SPPF. The last stage's width is ``last_stage_out_channels`` (1024 for n/s,
    768 for m, 512 for l/x, before widening)."""

    # Per stage: in_channels, out_channels, num_blocks, add_identity, use_spp. The last stage's
    # out_channels (None) comes from last_stage_out_channels.
    arch_settings: ClassVar[dict[str, list[list[Any]]]] = {
        "P5": [
            [64, 128, 3, True, False],
            [128, 256, 6, True, False],
            [256, 512, 6, True, False],
            [512, None, 3, True, True],
        ],
    }

    def __init__(
        self,
        arch: str = "P5",
        last_stage_out_channels: int = 1024,
        plugins: Cfg | Sequence[Cfg] | None = None,
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        input_channels: int = 3,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
        norm_eval: bool = False,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        setting = [list(s) for s in select_arch(self.arch_settings, arch, "YOLOv8CSPDarknet")]
        setting[-1][1] = last_stage_out_channels
        super().__init__(
            setting,
            deepen_factor,
            widen_factor,
            input_channels=input_channels,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            plugins=plugins,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            norm_eval=norm_eval,
            init_cfg=init_cfg,
        )

    def build_stem_layer(self) -> nn.Module:
        out_channels = make_divisible(self.arch_setting[0][0], self.widen_factor)
        return ConvModule(
            self.input_channels, out_channels, 3, stride=2, padding=1, **self._conv_kwargs()
        )

    def build_stage_layer(self, stage_idx: int, setting: Sequence[Any]) -> list[nn.Module]:
        in_channels, out_channels, num_blocks, add_identity, use_spp = setting
        in_channels = make_divisible(in_channels, self.widen_factor)
        out_channels = make_divisible(out_channels, self.widen_factor)
        kw = self._conv_kwargs()
        stage: list[nn.Module] = [
            ConvModule(in_channels, out_channels, 3, stride=2, padding=1, **kw),
            CSPLayerWithTwoConv(
                out_channels,
                out_channels,
                num_blocks=make_round(num_blocks, self.deepen_factor),
                add_identity=add_identity,
                **kw,
            ),
        ]
        if use_spp:
            stage.append(SPPFBottleneck(out_channels, out_channels, kernel_sizes=5, **kw))
        return stage


@register_model
class YOLOv8PAFPN(YOLOv5PAFPN):
    """YOLOv8's neck: YOLOv5's, without the reduce convs and with C2f layers whose inputs are
    the concatenated widths of the two levels they merge."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int | Sequence[int],
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        num_csp_blocks: int = 3,
        freeze_all: bool = False,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        if isinstance(out_channels, int):
            raise TypeError("YOLOv8PAFPN needs one out_channels value per level (a list)")
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            deepen_factor=deepen_factor,
            widen_factor=widen_factor,
            num_csp_blocks=num_csp_blocks,
            freeze_all=freeze_all,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg,
        )

    def _c2f(self, in_channels: int, out_channels: int) -> CSPLayerWithTwoConv:
        return CSPLayerWithTwoConv(
            self._width(in_channels),
            self._width(out_channels),
            num_blocks=make_round(self.num_csp_blocks, self.deepen_factor),
            add_identity=False,
            **self._conv_kwargs(),
        )

    def build_reduce_layer(self, idx: int) -> nn.Module:
        return nn.Identity()

    def build_top_down_layer(self, idx: int) -> nn.Module:
        out = self.out_channels
        assert not isinstance(out, int)
        return self._c2f(self.in_channels[idx - 1] + self.in_channels[idx], out[idx - 1])

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        out = self.out_channels
        assert not isinstance(out, int)
        return self._c2f(out[idx] + out[idx + 1], out[idx + 1])


@register_model
class YOLOv8HeadModule(nn.Module):
    """Decoupled head: per level a box branch (two 3x3 convs, then a 1x1 conv to 4 x ``reg_max``
    distance bins) and a class branch (two 3x3 convs, then a 1x1 conv to the classes).

    In eval mode the bins are decoded (DFL): a softmax over the ``reg_max`` bins, then the
    expectation, a matmul with ``proj`` = 0..reg_max-1. Training mode also returns the raw bins.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int | Sequence[int],
        widen_factor: float = 1.0,
        num_base_priors: int = 1,
        featmap_strides: Sequence[int] = (8, 16, 32),
        reg_max: int = 16,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.featmap_strides = list(featmap_strides)
        self.num_levels = len(self.featmap_strides)
        self.num_base_priors = num_base_priors
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.reg_max = reg_max
        if isinstance(in_channels, int):
            in_channels = [in_channels] * self.num_levels
        self.in_channels = [make_divisible(c, widen_factor) for c in in_channels]
        if len(self.in_channels) != self.num_levels:
            raise ValueError(
                f"in_channels has {len(self.in_channels)} levels, featmap_strides {self.num_levels}"
            )

        # Both branch widths come from the finest level's width and are shared by all levels.
        reg_channels = max(16, self.in_channels[0] // 4, reg_max * 4)
        cls_channels = max(self.in_channels[0], num_classes)
        self.cls_preds = nn.ModuleList()
        self.reg_preds = nn.ModuleList()
        for channels in self.in_channels:
            self.reg_preds.append(self._branch(channels, reg_channels, 4 * reg_max))
            self.cls_preds.append(self._branch(channels, cls_channels, num_classes))
        # The DFL bin values; a buffer (not a parameter) that checkpoints do not store.
        self.register_buffer("proj", torch.arange(reg_max, dtype=torch.float), persistent=False)

    def _branch(self, in_channels: int, mid_channels: int, out_channels: int) -> nn.Sequential:
        kw: dict[str, Any] = {"norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}
        return nn.Sequential(
            ConvModule(in_channels, mid_channels, 3, stride=1, padding=1, **kw),
            ConvModule(mid_channels, mid_channels, 3, stride=1, padding=1, **kw),
            nn.Conv2d(mid_channels, out_channels, 1),
        )

    def forward(self, x: Sequence[Tensor]) -> tuple[tuple[Tensor, ...], ...]:
        if len(x) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} feature maps, got {len(x)}")
        outs = [
            self.forward_single(feat, cls_pred, reg_pred)
            for feat, cls_pred, reg_pred in zip(x, self.cls_preds, self.reg_preds, strict=True)
        ]
        return tuple(tuple(level) for level in zip(*outs, strict=True))

    def forward_single(
        self, x: Tensor, cls_pred: nn.Module, reg_pred: nn.Module
    ) -> tuple[Tensor, ...]:
        b, _, h, w = x.shape
        cls_logit = cls_pred(x)
        bbox_dist_preds = reg_pred(x)
        if self.reg_max > 1:
            bbox_dist_preds = bbox_dist_preds.reshape([-1, 4, self.reg_max, h * w]).permute(
                0, 3, 1, 2
            )
            bbox_preds = bbox_dist_preds.softmax(3).matmul(self.proj.view([-1, 1])).squeeze(-1)
            bbox_preds = bbox_preds.transpose(1, 2).reshape(b, -1, h, w)
        else:
            bbox_preds = bbox_dist_preds
        if self.training:
            return cls_logit, bbox_preds, bbox_dist_preds
        return cls_logit, bbox_preds


@register_model
class YOLOv8Head(YOLOHeadWrapper):
    """YOLOv8's head: ``head_module`` only (see ``YOLOHeadWrapper``)."""

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
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__(head_module, train_cfg, test_cfg)
