"""YOLOX: ``YOLOXCSPDarknet`` (Focus stem, SPP), ``YOLOXPAFPN`` and the decoupled anchor-free
``YOLOXHead``, in mmyolo's layout. The rtmdet-hyp configs only change training, not the network.

Unlike YOLOv5/v8, YOLOX scales widths with ``int(c * widen_factor)`` in the neck and head, and
``make_divisible`` in the backbone, as mmyolo does.
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
    DepthwiseSeparableConvModule,
    Focus,
    SPPFBottleneck,
    make_divisible,
    make_round,
)
from .registry import register_model

__all__ = ["YOLOXPAFPN", "YOLOXCSPDarknet", "YOLOXHead", "YOLOXHeadModule"]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "YOLOX"


@register_model
class YOLOXCSPDarknet(BaseBackbone):
    """YOLOX's backbone: a ``Focus`` stem, then per stage a strided 3x3 conv, (last stage) SPP
    with parallel 5/9/13 poolings, and a CSP layer."""

    # Per stage: in_channels, out_channels, num_blocks, add_identity, use_spp.
    arch_settings: ClassVar[dict[str, list[list[Any]]]] = {
        "P5": [
            [64, 128, 3, True, False],
            [128, 256, 9, True, False],
            [256, 512, 9, True, False],
            [512, 1024, 3, False, True],
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
        use_depthwise: bool = False,
        spp_kernal_sizes: Sequence[int] = (5, 9, 13),  # sic: mmyolo's spelling
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
        norm_eval: bool = False,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        self.use_depthwise = use_depthwise
        self.spp_kernal_sizes = spp_kernal_sizes
        super().__init__(
            select_arch(self.arch_settings, arch, "YOLOXCSPDarknet"),
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
        # mmyolo builds the Focus for 3 input channels whatever input_channels says.
        return Focus(3, make_divisible(64, self.widen_factor), kernel_size=3, **self._conv_kwargs())

    def build_stage_layer(self, stage_idx: int, setting: Sequence[Any]) -> list[nn.Module]:
        in_channels, out_channels, num_blocks, add_identity, use_spp = setting
        in_channels = make_divisible(in_channels, self.widen_factor)
        out_channels = make_divisible(out_channels, self.widen_factor)
        conv = DepthwiseSeparableConvModule if self.use_depthwise else ConvModule
        kw = self._conv_kwargs()
        stage: list[nn.Module] = [conv(in_channels, out_channels, 3, stride=2, padding=1, **kw)]
        if use_spp:
            stage.append(
                SPPFBottleneck(out_channels, out_channels, kernel_sizes=self.spp_kernal_sizes, **kw)
            )
        # mmyolo does not pass use_depthwise on to the CSP layer: its blocks stay dense.
        stage.append(
            CSPLayer(
                out_channels,
                out_channels,
                num_blocks=make_round(num_blocks, self.deepen_factor),
                add_identity=add_identity,
                **kw,
            )
        )
        return stage


@register_model
class YOLOXPAFPN(BaseYOLONeck):
    """YOLOX's neck: CSP layers without residuals, then a 1x1 ``out_layer`` per level that maps
    every level to ``out_channels``."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        num_csp_blocks: int = 3,
        use_depthwise: bool = False,
        freeze_all: bool = False,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        if len(in_channels) != 3:
            raise ValueError(f"YOLOXPAFPN takes exactly 3 levels, got {len(in_channels)}")
        self.num_csp_blocks = round(num_csp_blocks * deepen_factor)
        self.use_depthwise = use_depthwise
        super().__init__(
            in_channels=[int(c * widen_factor) for c in in_channels],
            out_channels=int(out_channels * widen_factor),
            deepen_factor=deepen_factor,
            widen_factor=widen_factor,
            freeze_all=freeze_all,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg,
        )

    def _csp(self, in_channels: int, out_channels: int) -> CSPLayer:
        return CSPLayer(
            in_channels,
            out_channels,
            num_blocks=self.num_csp_blocks,
            add_identity=False,
            **self._conv_kwargs(),
        )

    def build_reduce_layer(self, idx: int) -> nn.Module:
        if idx == 2:
            return ConvModule(
                self.in_channels[idx], self.in_channels[idx - 1], 1, **self._conv_kwargs()
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
                self.in_channels[idx - 1],
                self.in_channels[idx - 2],
                kernel_size=1,
                **self._conv_kwargs(),
            ),
        )

    def build_downsample_layer(self, idx: int) -> nn.Module:
        conv = DepthwiseSeparableConvModule if self.use_depthwise else ConvModule
        width = self.in_channels[idx]
        return conv(width, width, kernel_size=3, stride=2, padding=1, **self._conv_kwargs())

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        return self._csp(self.in_channels[idx] * 2, self.in_channels[idx + 1])

    def build_out_layer(self, idx: int) -> nn.Module:
        out = self.out_channels
        assert isinstance(out, int)
        return ConvModule(self.in_channels[idx], out, 1, **self._conv_kwargs())


@register_model
class YOLOXHeadModule(nn.Module):
    """Per level: a class tower and a box tower (``stacked_convs`` 3x3 convs each), then 1x1
    predictors for classes (on the class tower), box and objectness (both on the box tower)."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int | Sequence[int],
        widen_factor: float = 1.0,
        num_base_priors: int = 1,
        feat_channels: int = 256,
        stacked_convs: int = 2,
        featmap_strides: Sequence[int] = (8, 16, 32),
        use_depthwise: bool = False,
        dcn_on_last_conv: bool = False,
        conv_bias: bool | str = "auto",
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__()
        if dcn_on_last_conv:
            raise NotImplementedError("YOLOXHeadModule: dcn_on_last_conv (DCNv2) is not supported")
        if conv_bias != "auto" and not isinstance(conv_bias, bool):
            raise ValueError(f"conv_bias must be 'auto' or a bool, got {conv_bias!r}")
        self.num_classes = num_classes
        self.feat_channels = int(feat_channels * widen_factor)
        self.stacked_convs = stacked_convs
        self.use_depthwise = use_depthwise
        self.dcn_on_last_conv = dcn_on_last_conv
        self.conv_bias = conv_bias
        self.num_base_priors = num_base_priors
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.featmap_strides = list(featmap_strides)
        if not isinstance(in_channels, int):
            raise TypeError("YOLOXHeadModule takes one in_channels value shared by all levels")
        self.in_channels = int(in_channels * widen_factor)

        self.multi_level_cls_convs = nn.ModuleList()
        self.multi_level_reg_convs = nn.ModuleList()
        self.multi_level_conv_cls = nn.ModuleList()
        self.multi_level_conv_reg = nn.ModuleList()
        self.multi_level_conv_obj = nn.ModuleList()
        for _ in self.featmap_strides:
            self.multi_level_cls_convs.append(self._stacked_convs())
            self.multi_level_reg_convs.append(self._stacked_convs())
            self.multi_level_conv_cls.append(nn.Conv2d(self.feat_channels, num_classes, 1))
            self.multi_level_conv_reg.append(nn.Conv2d(self.feat_channels, 4, 1))
            self.multi_level_conv_obj.append(nn.Conv2d(self.feat_channels, 1, 1))

    def _stacked_convs(self) -> nn.Sequential:
        conv = DepthwiseSeparableConvModule if self.use_depthwise else ConvModule
        return nn.Sequential(
            *(
                conv(
                    self.in_channels if i == 0 else self.feat_channels,
                    self.feat_channels,
                    3,
                    stride=1,
                    padding=1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    bias=self.conv_bias,
                )
                for i in range(self.stacked_convs)
            )
        )

    def forward(
        self, x: Sequence[Tensor]
    ) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...], tuple[Tensor, ...]]:
        outs = [
            self.forward_single(feat, *layers)
            for feat, *layers in zip(
                x,
                self.multi_level_cls_convs,
                self.multi_level_reg_convs,
                self.multi_level_conv_cls,
                self.multi_level_conv_reg,
                self.multi_level_conv_obj,
                strict=True,
            )
        ]
        cls_scores, bbox_preds, objectnesses = zip(*outs, strict=True)
        return tuple(cls_scores), tuple(bbox_preds), tuple(objectnesses)

    def forward_single(
        self,
        x: Tensor,
        cls_convs: nn.Module,
        reg_convs: nn.Module,
        conv_cls: nn.Module,
        conv_reg: nn.Module,
        conv_obj: nn.Module,
    ) -> tuple[Tensor, Tensor, Tensor]:
        cls_feat = cls_convs(x)
        reg_feat = reg_convs(x)
        return conv_cls(cls_feat), conv_reg(reg_feat), conv_obj(reg_feat)


@register_model
class YOLOXHead(YOLOHeadWrapper):
    """YOLOX's head: ``head_module`` only (see ``YOLOHeadWrapper``)."""

    def __init__(
        self,
        head_module: Cfg | nn.Module,
        prior_generator: Cfg | None = None,
        bbox_coder: Cfg | None = None,
        loss_cls: Cfg | None = None,
        loss_bbox: Cfg | None = None,
        loss_obj: Cfg | None = None,
        loss_bbox_aux: Cfg | None = None,
        train_cfg: Cfg | None = None,
        test_cfg: Cfg | None = None,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__(head_module, train_cfg, test_cfg)
