"""RTMDet head: the forward-relevant part of mmyolo's ``RTMDetHead`` and its head module."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from .layers import _BN, _SILU_INPLACE, ConvModule
from .registry import Cfg, build_child, register_model

__all__ = ["RTMDetHead", "RTMDetSepBNHeadModule"]


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
        norm_cfg: Cfg = _BN,
        act_cfg: Cfg = _SILU_INPLACE,
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

        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.rtm_cls = nn.ModuleList()
        self.rtm_reg = nn.ModuleList()
        pad = pred_kernel_size // 2
        for _ in self.featmap_strides:
            self.cls_convs.append(self._tower())
            self.reg_convs.append(self._tower())
            self.rtm_cls.append(
                nn.Conv2d(self.feat_channels, num_base_priors * num_classes, pred_kernel_size,
                          padding=pad)
            )  # fmt: skip
            self.rtm_reg.append(
                nn.Conv2d(self.feat_channels, num_base_priors * 4, pred_kernel_size, padding=pad)
            )
        if share_conv:
            for n in range(len(self.featmap_strides)):
                for i in range(stacked_convs):
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
            # Distances are predicted in stride units and scaled to pixels here.
            bbox_preds.append(self.rtm_reg[idx](reg_feat) * self.featmap_strides[idx])
        return tuple(cls_scores), tuple(bbox_preds)


@register_model
class RTMDetHead(nn.Module):
    """Wrapper holding ``head_module``; losses, priors and box coding are training/post-processing
    concerns outside the forward graph, so their configs are accepted and ignored."""

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
        super().__init__()
        self.head_module = build_child(head_module, "head_module")
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    def forward(self, x: Sequence[Tensor]) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        return self.head_module(x)
