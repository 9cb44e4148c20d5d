"""YOLOv5 (v6.1 P5 and v6.2 P6): ``YOLOv5CSPDarknet``, ``YOLOv5PAFPN`` and the anchor-based
``YOLOv5Head``, in mmyolo's layout.

Channel counts are rounded up to multiples of 8 (``make_divisible``) and block counts rounded
(``make_round``), as mmyolo does, which is why e.g. YOLOv5-n's 0.25 width gives 16, not 16.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

from .base import BaseBackbone, BaseYOLONeck, YOLOHeadWrapper, select_arch
from .bricks import (
    MMDET_BN,
    SILU_INPLACE,
    Cfg,
    ConvModule,
    CSPLayer,
    SPPFBottleneck,
    make_divisible,
    make_round,
)
from .registry import register_model

__all__ = ["YOLOv5CSPDarknet", "YOLOv5Head", "YOLOv5HeadModule", "YOLOv5PAFPN"]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "YOLOv5"


@register_model
class YOLOv5CSPDarknet(BaseBackbone):
    """YOLOv5's backbone: a 6x6 stride-2 stem conv, then per stage a strided 3x3 conv, a CSP
    layer and (last stage) SPPF."""

    # Per stage: in_channels, out_channels, num_blocks, add_identity, use_spp.
    arch_settings: ClassVar[dict[str, list[list[Any]]]] = {
        "P5": [
            [64, 128, 3, True, False],
            [128, 256, 6, True, False],
            [256, 512, 9, True, False],
            [512, 1024, 3, True, True],
        ],
        "P6": [
            [64, 128, 3, True, False],
            [128, 256, 6, True, False],
            [256, 512, 9, True, False],
            [512, 768, 3, True, False],
            [768, 1024, 3, True, True],
        ],
    }

    def __init__(
        self,
        arch: str = "P5",
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
        super().__init__(
            select_arch(self.arch_settings, arch, "YOLOv5CSPDarknet"),
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
            self.input_channels, out_channels, 6, stride=2, padding=2, **self._conv_kwargs()
        )

    def build_stage_layer(self, stage_idx: int, setting: Sequence[Any]) -> list[nn.Module]:
        in_channels, out_channels, num_blocks, add_identity, use_spp = setting
        in_channels = make_divisible(in_channels, self.widen_factor)
        out_channels = make_divisible(out_channels, self.widen_factor)
        kw = self._conv_kwargs()
        stage: list[nn.Module] = [
            ConvModule(in_channels, out_channels, 3, stride=2, padding=1, **kw),
            CSPLayer(
                out_channels,
                out_channels,
                num_blocks=make_round(num_blocks, self.deepen_factor),
                add_identity=add_identity,
                **kw,
            ),
        ]
        if use_spp:  # after the CSP layer, unlike RTMDet and YOLOX
            stage.append(SPPFBottleneck(out_channels, out_channels, kernel_sizes=5, **kw))
        return stage


@register_model
class YOLOv5PAFPN(BaseYOLONeck):
    """YOLOv5's neck: CSP layers without residuals; no out layers (identity), so each level
    leaves with the width it has after the bottom-up pass."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int | Sequence[int],
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        num_csp_blocks: int = 1,
        freeze_all: bool = False,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        self.num_csp_blocks = num_csp_blocks
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            deepen_factor=deepen_factor,
            widen_factor=widen_factor,
            freeze_all=freeze_all,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg,
        )

    def _width(self, channels: int) -> int:
        return make_divisible(channels, self.widen_factor)

    def _csp(self, in_channels: int, out_channels: int) -> CSPLayer:
        return CSPLayer(
            self._width(in_channels),
            self._width(out_channels),
            num_blocks=make_round(self.num_csp_blocks, self.deepen_factor),
            add_identity=False,
            **self._conv_kwargs(),
        )

    def build_reduce_layer(self, idx: int) -> nn.Module:
        if idx == len(self.in_channels) - 1:
            return ConvModule(
                self._width(self.in_channels[idx]),
                self._width(self.in_channels[idx - 1]),
                1,
                **self._conv_kwargs(),
            )
        return nn.Identity()

    def build_upsample_layer(self, idx: int) -> nn.Module:
        return nn.Upsample(scale_factor=2, mode="nearest")

    def build_top_down_layer(self, idx: int) -> nn.Module:
        layer = self._csp(self.in_channels[idx - 1] * 2, self.in_channels[idx - 1])
        if idx == 1:
            return layer
        return nn.Sequential(
            layer,
            ConvModule(
                self._width(self.in_channels[idx - 1]),
                self._width(self.in_channels[idx - 2]),
                kernel_size=1,
                **self._conv_kwargs(),
            ),
        )

    def build_downsample_layer(self, idx: int) -> nn.Module:
        width = self._width(self.in_channels[idx])
        return ConvModule(width, width, 3, stride=2, padding=1, **self._conv_kwargs())

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        return self._csp(self.in_channels[idx] * 2, self.in_channels[idx + 1])

    def build_out_layer(self, idx: int) -> nn.Module:
        return nn.Identity()


@register_model
class YOLOv5HeadModule(nn.Module):
    """One 1x1 prediction conv per level: ``num_base_priors`` anchors x (4 box + 1 objectness +
    classes) channels; the output is split into class, box and objectness maps."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int | Sequence[int],
        widen_factor: float = 1.0,
        num_base_priors: int = 3,
        featmap_strides: Sequence[int] = (8, 16, 32),
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.widen_factor = widen_factor
        self.featmap_strides = list(featmap_strides)
        self.num_out_attrib = 5 + num_classes
        self.num_levels = len(self.featmap_strides)
        self.num_base_priors = num_base_priors
        if isinstance(in_channels, int):
            self.in_channels = [make_divisible(in_channels, widen_factor)] * self.num_levels
        else:
            self.in_channels = [make_divisible(c, widen_factor) for c in in_channels]
        if len(self.in_channels) != self.num_levels:
            raise ValueError(
                f"in_channels has {len(self.in_channels)} levels, featmap_strides {self.num_levels}"
            )
        self._init_layers()

    def _init_layers(self) -> None:
        """Build the prediction convs (the instance-segmentation head adds its proto branch)."""
        self.convs_pred = nn.ModuleList(
            nn.Conv2d(c, self.num_base_priors * self.num_out_attrib, 1) for c in self.in_channels
        )

    def forward(
        self, x: Sequence[Tensor]
    ) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...], tuple[Tensor, ...]]:
        if len(x) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} feature maps, got {len(x)}")
        outs = [
            self.forward_single(feat, conv) for feat, conv in zip(x, self.convs_pred, strict=True)
        ]
        cls_scores, bbox_preds, objectnesses = zip(*outs, strict=True)
        return tuple(cls_scores), tuple(bbox_preds), tuple(objectnesses)

    def forward_single(self, x: Tensor, conv: nn.Module) -> tuple[Tensor, Tensor, Tensor]:
        pred_map = conv(x)
        bs, _, ny, nx = pred_map.shape
        pred_map = pred_map.view(bs, self.num_base_priors, self.num_out_attrib, ny, nx)
        cls_score = pred_map[:, :, 5:, ...].reshape(bs, -1, ny, nx)
        bbox_pred = pred_map[:, :, :4, ...].reshape(bs, -1, ny, nx)
        objectness = pred_map[:, :, 4:5, ...].reshape(bs, -1, ny, nx)
        return cls_score, bbox_pred, objectness


@register_model
class YOLOv5Head(YOLOHeadWrapper):
    """YOLOv5's head: ``head_module`` only (see ``YOLOHeadWrapper``); anchors, box coder, the
    three losses and the matching thresholds are accepted and ignored."""

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
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__(head_module, train_cfg, test_cfg)
