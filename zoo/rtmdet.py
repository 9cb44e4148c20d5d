"""RTMDet: the CSPNeXt backbone, the CSPNeXtPAFPN neck and the RTMDet head (mmyolo layout)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

from .base import BaseBackbone, BaseYOLONeck, YOLOHeadWrapper, select_arch
from .bricks import (
    BN,
    SILU_INPLACE,
    Cfg,
    ConvModule,
    CSPLayer,
    DepthwiseSeparableConvModule,
    SPPFBottleneck,
)
from .registry import register_model

__all__ = ["CSPNeXt", "CSPNeXtPAFPN", "RTMDetHead", "RTMDetSepBNHeadModule"]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "RTMDet"

_UPSAMPLE: dict[str, Any] = {"scale_factor": 2, "mode": "nearest"}


@register_model
class CSPNeXt(BaseBackbone):
    """CSPNeXt backbone (RTMDet).

    Each stage is ``nn.Sequential(downsample conv, [SPPF], CSPLayer)``; the width and depth of
    every stage are the arch setting scaled by ``widen_factor`` / ``deepen_factor``.
    """

    # Per stage: in_channels, out_channels, num_blocks, add_identity, use_spp.
    arch_settings: ClassVar[dict[str, list[list[Any]]]] = {
        "P5": [
            [64, 128, 3, True, False],
            [128, 256, 6, True, False],
            [256, 512, 6, True, False],
            [512, 1024, 3, False, True],
        ],
        "P6": [
            [64, 128, 3, True, False],
            [128, 256, 6, True, False],
            [256, 512, 6, True, False],
            [512, 768, 3, True, False],
            [768, 1024, 3, False, True],
        ],
    }

    def __init__(
        self,
        arch: str = "P5",
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        input_channels: int = 3,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        plugins: Sequence[Cfg] | None = None,
        use_depthwise: bool = False,
        expand_ratio: float = 0.5,
        arch_ovewrite: Sequence[Sequence[Any]] | None = None,  # sic: mmyolo's spelling
        channel_attention: bool = True,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = BN,
        act_cfg: Cfg = SILU_INPLACE,
        norm_eval: bool = False,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        self.use_depthwise = use_depthwise
        self.expand_ratio = expand_ratio
        self.channel_attention = channel_attention
        self.conv_cfg = conv_cfg
        super().__init__(
            arch_ovewrite or select_arch(self.arch_settings, arch, "CSPNeXt"),
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
        # Three 3x3 convs (the first strided) instead of one big conv: cheaper for the same field.
        stem_out = int(self.arch_setting[0][0] * self.widen_factor)
        half = int(self.arch_setting[0][0] * self.widen_factor // 2)
        kw = self._conv_kwargs()
        return nn.Sequential(
            ConvModule(self.input_channels, half, 3, padding=1, stride=2, **kw),
            ConvModule(half, half, 3, padding=1, stride=1, **kw),
            ConvModule(half, stem_out, 3, padding=1, stride=1, **kw),
        )

    def build_stage_layer(self, stage_idx: int, setting: Sequence[Any]) -> list[nn.Module]:
        in_channels, out_channels, num_blocks, add_identity, use_spp = setting
        in_channels = int(in_channels * self.widen_factor)
        out_channels = int(out_channels * self.widen_factor)
        num_blocks = max(round(num_blocks * self.deepen_factor), 1)
        conv = DepthwiseSeparableConvModule if self.use_depthwise else ConvModule
        kw = self._conv_kwargs()
        stage: list[nn.Module] = [conv(in_channels, out_channels, 3, stride=2, padding=1, **kw)]
        if use_spp:
            stage.append(SPPFBottleneck(out_channels, out_channels, kernel_sizes=5, **kw))
        stage.append(
            CSPLayer(
                out_channels,
                out_channels,
                num_blocks=num_blocks,
                add_identity=add_identity,
                use_depthwise=self.use_depthwise,
                use_cspnext_block=True,
                expand_ratio=self.expand_ratio,
                channel_attention=self.channel_attention,
                conv_cfg=self.conv_cfg,
                **kw,
            )
        )
        return stage


@register_model
class CSPNeXtPAFPN(BaseYOLONeck):
    """RTMDet's neck: path aggregation with CSPNeXt blocks and a 3x3 ``out_layer`` per level
    that maps every level to ``out_channels``."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        num_csp_blocks: int = 3,
        freeze_all: bool = False,
        use_depthwise: bool = False,
        expand_ratio: float = 0.5,
        upsample_cfg: Cfg = _UPSAMPLE,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = BN,
        act_cfg: Cfg = SILU_INPLACE,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        # Unlike the backbone there is no max(..., 1): mmyolo allows zero blocks here.
        self.num_csp_blocks = round(num_csp_blocks * deepen_factor)
        self.conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        self.upsample_cfg = dict(upsample_cfg)
        self.expand_ratio = expand_ratio
        self.conv_cfg = conv_cfg
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
        # The neck's CSPLayers have no residuals and no channel attention (mmyolo defaults).
        return CSPLayer(
            in_channels,
            out_channels,
            num_blocks=self.num_csp_blocks,
            add_identity=False,
            use_cspnext_block=True,
            expand_ratio=self.expand_ratio,
            conv_cfg=self.conv_cfg,
            **self._conv_kwargs(),
        )

    def build_reduce_layer(self, idx: int) -> nn.Module:
        # Only the coarsest level is reduced (to the next level's width) before the top-down pass.
        if idx == len(self.in_channels) - 1:
            return self.conv(
                self.in_channels[idx], self.in_channels[idx - 1], 1, **self._conv_kwargs()
            )
        return nn.Identity()

    def build_upsample_layer(self, idx: int) -> nn.Module:
        return nn.Upsample(**self.upsample_cfg)

    def build_top_down_layer(self, idx: int) -> nn.Module:
        layer = self._csp(self.in_channels[idx - 1] * 2, self.in_channels[idx - 1])
        if idx == 1:
            return layer
        # Intermediate levels also shrink to the next finer width before being upsampled again.
        return nn.Sequential(
            layer,
            self.conv(
                self.in_channels[idx - 1], self.in_channels[idx - 2], 1, **self._conv_kwargs()
            ),
        )

    def build_downsample_layer(self, idx: int) -> nn.Module:
        return self.conv(
            self.in_channels[idx], self.in_channels[idx], 3, stride=2, padding=1,
            **self._conv_kwargs(),
        )  # fmt: skip

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        return self._csp(self.in_channels[idx] * 2, self.in_channels[idx + 1])

    def build_out_layer(self, idx: int) -> nn.Module:
        return self.conv(
            self.in_channels[idx], self.out_channels, 3, padding=1, **self._conv_kwargs()
        )


@register_model
class RTMDetSepBNHeadModule(nn.Module):
    """Decoupled cls/reg towers per level with convs shared across levels but separate BNs.

    With ``share_conv`` every level's ``ConvModule.conv`` is the *same* module object as level 0's,
    while each level keeps its own BatchNorm (levels have different statistics). Parameter counts
    therefore show level 0 with the conv weights and levels 1+ with BN parameters only.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        widen_factor: float = 1.0,
        num_base_priors: int = 1,
        feat_channels: int = 256,
        stacked_convs: int = 2,
        featmap_strides: Sequence[int] = (8, 16, 32),
        share_conv: bool = True,
        pred_kernel_size: int = 1,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = BN,
        act_cfg: Cfg = SILU_INPLACE,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = int(in_channels * widen_factor)
        self.feat_channels = int(feat_channels * widen_factor)
        self.num_base_priors = num_base_priors
        self.stacked_convs = stacked_convs
        self.featmap_strides = list(featmap_strides)
        self.share_conv = share_conv
        self.pred_kernel_size = pred_kernel_size
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self._init_layers()

    def _init_layers(self) -> None:
        """Build the towers and predictors (the instance-segmentation head adds its own)."""
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.rtm_cls = nn.ModuleList()
        self.rtm_reg = nn.ModuleList()
        for _ in self.featmap_strides:
            self.cls_convs.append(self._tower())
            self.reg_convs.append(self._tower())
            self.rtm_cls.append(self._predictor(self.num_base_priors * self.num_classes))
            self.rtm_reg.append(self._predictor(self.num_base_priors * 4))
        self._share_convs()

    def _predictor(self, out_channels: int) -> nn.Conv2d:
        return nn.Conv2d(
            self.feat_channels, out_channels, self.pred_kernel_size,
            padding=self.pred_kernel_size // 2,
        )  # fmt: skip

    def _share_convs(self) -> None:
        if self.share_conv:
            for n in range(len(self.featmap_strides)):
                for i in range(self.stacked_convs):
                    self.cls_convs[n][i].conv = self.cls_convs[0][i].conv
                    self.reg_convs[n][i].conv = self.reg_convs[0][i].conv

    def _tower(self) -> nn.ModuleList:
        return nn.ModuleList(
            ConvModule(
                self.in_channels if i == 0 else self.feat_channels,
                self.feat_channels,
                3,
                stride=1,
                padding=1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
            )
            for i in range(self.stacked_convs)
        )

    def forward(self, feats: Sequence[Tensor]) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        cls_scores: list[Tensor] = []
        bbox_preds: list[Tensor] = []
        for idx, x in enumerate(feats):
            cls_feat = x
            for layer in self.cls_convs[idx]:
                cls_feat = layer(cls_feat)
            cls_scores.append(self.rtm_cls[idx](cls_feat))
            reg_feat = x
            for layer in self.reg_convs[idx]:
                reg_feat = layer(reg_feat)
            # Distances stay in stride units: MMYOLO's head scales them only when decoding
            # boxes (its bbox coder), which a tensor-mode forward does not run.
            bbox_preds.append(self.rtm_reg[idx](reg_feat))
        return tuple(cls_scores), tuple(bbox_preds)


@register_model
class RTMDetHead(YOLOHeadWrapper):
    """RTMDet's head: ``head_module`` only (see ``YOLOHeadWrapper``)."""

    def __init__(
        self,
        head_module: Cfg | nn.Module,
        prior_generator: Cfg | None = None,
        bbox_coder: Cfg | None = None,
        loss_cls: Cfg | None = None,
        loss_bbox: Cfg | None = None,
        train_cfg: Cfg | None = None,
        test_cfg: Cfg | None = None,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__(head_module, train_cfg, test_cfg)
