"""RTMDet-Ins (Lyu et al., 2022): RTMDet's head plus dynamic mask kernels and a mask feature
branch, in mmyolo's layout (``RTMDetInsSepBNHead``).

Per level the head predicts, beside the class scores and boxes, the parameters of a small dynamic
convolution (``rtm_kernel``); a shared mask branch (``mask_head``) fuses the levels into
prototype features. Applying the kernels to the prototypes happens in ``predict``, after
non-maximum suppression, so it is not in the tensor-mode forward that get_flops counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .bricks import BN, SILU_INPLACE, Cfg, ConvModule
from .registry import register_model
from .rtmdet import RTMDetHead, RTMDetSepBNHeadModule

__all__ = ["MaskFeatModule", "RTMDetInsSepBNHead", "RTMDetInsSepBNHeadModule"]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "RTMDet-Ins"

_RELU_INPLACE = {"type": "ReLU", "inplace": True}


class MaskFeatModule(nn.Module):
    """The mask feature branch: every level resized to the finest, concatenated, fused by a 1x1
    conv, refined by ``stacked_convs`` 3x3 convs and projected to ``num_prototypes`` maps."""

    def __init__(
        self,
        in_channels: int,
        feat_channels: int = 256,
        stacked_convs: int = 4,
        num_levels: int = 3,
        num_prototypes: int = 8,
        act_cfg: Cfg = _RELU_INPLACE,
        norm_cfg: Cfg = BN,
    ) -> None:
        super().__init__()
        self.num_levels = num_levels
        self.fusion_conv = nn.Conv2d(num_levels * in_channels, in_channels, 1)
        kw = {"padding": 1, "act_cfg": act_cfg, "norm_cfg": norm_cfg}
        self.stacked_convs = nn.Sequential(
            *(
                ConvModule(in_channels if i == 0 else feat_channels, feat_channels, 3, **kw)
                for i in range(stacked_convs)
            )
        )
        self.projection = nn.Conv2d(feat_channels, num_prototypes, kernel_size=1)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        size = features[0].shape[-2:]
        resized = [features[0]] + [
            F.interpolate(features[i], size=size, mode="bilinear")
            for i in range(1, self.num_levels)
        ]
        fused = self.fusion_conv(torch.cat(resized, dim=1))
        return self.projection(self.stacked_convs(fused))


@register_model
class RTMDetInsSepBNHeadModule(RTMDetSepBNHeadModule):
    """RTMDet's separated-BN head with a third tower per level (``kernel_convs``) predicting the
    ``num_gen_params`` weights and biases of ``num_dyconvs`` dynamic convs, and ``mask_head``.

    As upstream (mmyolo 0.6), ``reg_convs[n]`` *is* ``cls_convs[n]``: the box branch runs the
    class tower's modules a second time and has no parameters of its own, and ``rtm_obj`` is an
    empty list. Both are kept so the module names, parameters and counted ops match.
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
        num_prototypes: int = 8,
        dyconv_channels: int = 8,
        num_dyconvs: int = 3,
        use_sigmoid_cls: bool = True,
    ) -> None:
        self.num_prototypes = num_prototypes
        self.num_dyconvs = num_dyconvs
        self.dyconv_channels = dyconv_channels
        self.use_sigmoid_cls = use_sigmoid_cls
        # A softmax classifier needs a background class.
        self.cls_out_channels = num_classes if use_sigmoid_cls else num_classes + 1
        super().__init__(
            num_classes, in_channels, widen_factor, num_base_priors, feat_channels, stacked_convs,
            featmap_strides, share_conv, pred_kernel_size, conv_cfg, norm_cfg, act_cfg, init_cfg,
        )  # fmt: skip

    def _dynamic_param_count(self) -> int:
        """Weights and biases of the dynamic convs: (prototypes + 2 coordinates) -> channels ->
        ... -> 1 mask logit."""
        total = 0
        for i in range(self.num_dyconvs):
            if i == 0:
                total += (self.num_prototypes + 2) * self.dyconv_channels + self.dyconv_channels
            elif i == self.num_dyconvs - 1:
                total += self.dyconv_channels + 1
            else:
                total += self.dyconv_channels * self.dyconv_channels + self.dyconv_channels
        return total

    def _init_layers(self) -> None:
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.kernel_convs = nn.ModuleList()
        self.rtm_cls = nn.ModuleList()
        self.rtm_reg = nn.ModuleList()
        self.rtm_kernel = nn.ModuleList()
        self.rtm_obj = nn.ModuleList()
        self.num_gen_params = self._dynamic_param_count()
        for _ in self.featmap_strides:
            cls_convs = self._tower()
            self.cls_convs.append(cls_convs)
            self.reg_convs.append(cls_convs)  # upstream's sharing, see the class docstring
            self.kernel_convs.append(self._tower())
            self.rtm_cls.append(self._predictor(self.num_base_priors * self.cls_out_channels))
            self.rtm_reg.append(self._predictor(self.num_base_priors * 4))
            self.rtm_kernel.append(self._predictor(self.num_gen_params))
        self._share_convs()
        self.mask_head = MaskFeatModule(
            in_channels=self.in_channels,
            feat_channels=self.feat_channels,
            stacked_convs=4,
            num_levels=len(self.featmap_strides),
            num_prototypes=self.num_prototypes,
            act_cfg=self.act_cfg,
            norm_cfg=self.norm_cfg,
        )

    def forward(  # type: ignore[override]
        self, feats: Sequence[Tensor]
    ) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...], tuple[Tensor, ...], Tensor]:
        mask_feat = self.mask_head(feats)
        cls_scores: list[Tensor] = []
        bbox_preds: list[Tensor] = []
        kernel_preds: list[Tensor] = []
        for idx, x in enumerate(feats):
            cls_feat = kernel_feat = reg_feat = x
            for layer in self.cls_convs[idx]:
                cls_feat = layer(cls_feat)
            cls_scores.append(self.rtm_cls[idx](cls_feat))
            for layer in self.kernel_convs[idx]:
                kernel_feat = layer(kernel_feat)
            kernel_preds.append(self.rtm_kernel[idx](kernel_feat))
            for layer in self.reg_convs[idx]:
                reg_feat = layer(reg_feat)
            # Unlike RTMDet's detection head, distances stay in stride units here.
            bbox_preds.append(self.rtm_reg[idx](reg_feat))
        return tuple(cls_scores), tuple(bbox_preds), tuple(kernel_preds), mask_feat


@register_model
class RTMDetInsSepBNHead(RTMDetHead):
    """RTMDet-Ins's head: ``head_module`` only; the mask loss is accepted and ignored."""

    def __init__(
        self,
        head_module: Cfg | nn.Module,
        prior_generator: Cfg | None = None,
        bbox_coder: Cfg | None = None,
        loss_cls: Cfg | None = None,
        loss_bbox: Cfg | None = None,
        loss_mask: Cfg | None = None,
        train_cfg: Cfg | None = None,
        test_cfg: Cfg | None = None,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__(
            head_module, prior_generator, bbox_coder, loss_cls, loss_bbox, train_cfg, test_cfg,
            init_cfg,
        )  # fmt: skip
