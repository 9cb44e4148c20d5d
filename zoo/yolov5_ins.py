"""YOLOv5-Ins (YOLOv5 v7.0 segmentation): the YOLOv5 detector whose head also predicts
``mask_channels`` mask coefficients per anchor and, from the finest level, prototype masks
(``ProtoModule``), in mmyolo's layout (``YOLOv5InsHead``).

Combining coefficients and prototypes into masks happens in ``predict``, after non-maximum
suppression, so it is not in the tensor-mode forward that get_flops counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from .bricks import MMDET_BN, SILU_INPLACE, Cfg, ConvModule, make_divisible
from .registry import register_model
from .yolov5 import YOLOv5Head, YOLOv5HeadModule

__all__ = ["ProtoModule", "YOLOv5InsHead", "YOLOv5InsHeadModule"]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "YOLOv5-Ins"


class ProtoModule(nn.Module):
    """Prototype masks from the finest level: 3x3 conv, 2x nearest upsampling, 3x3 conv, then a
    1x1 conv to ``mask_channels`` maps (at a quarter of the input image's resolution)."""

    def __init__(
        self,
        in_channels: int = 32,
        middle_channels: int = 256,
        mask_channels: int = 32,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
    ) -> None:
        super().__init__()
        kw = {"norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.conv1 = ConvModule(in_channels, middle_channels, kernel_size=3, padding=1, **kw)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv2 = ConvModule(middle_channels, middle_channels, kernel_size=3, padding=1, **kw)
        self.conv3 = ConvModule(middle_channels, mask_channels, kernel_size=1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv3(self.conv2(self.upsample(self.conv1(x))))


@register_model
class YOLOv5InsHeadModule(YOLOv5HeadModule):
    """YOLOv5's prediction convs widened by ``mask_channels`` coefficients per anchor, and
    ``proto_pred`` on the finest level."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int | Sequence[int],
        widen_factor: float = 1.0,
        num_base_priors: int = 3,
        featmap_strides: Sequence[int] = (8, 16, 32),
        init_cfg: Cfg | Sequence[Cfg] | None = None,
        mask_channels: int = 32,
        proto_channels: int = 256,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
    ) -> None:
        self.mask_channels = mask_channels
        self.num_out_attrib_with_proto = 5 + num_classes + mask_channels
        self.proto_channels = make_divisible(proto_channels, widen_factor)
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        super().__init__(
            num_classes, in_channels, widen_factor, num_base_priors, featmap_strides, init_cfg
        )

    def _init_layers(self) -> None:
        self.convs_pred = nn.ModuleList(
            nn.Conv2d(c, self.num_base_priors * self.num_out_attrib_with_proto, 1)
            for c in self.in_channels
        )
        self.proto_pred = ProtoModule(
            in_channels=self.in_channels[0],
            middle_channels=self.proto_channels,
            mask_channels=self.mask_channels,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )

    def forward(self, x: Sequence[Tensor]) -> tuple:  # type: ignore[override]
        if len(x) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} feature maps, got {len(x)}")
        outs = [self.forward_single(f, conv) for f, conv in zip(x, self.convs_pred, strict=True)]
        cls_scores, bbox_preds, objectnesses, coeff_preds = (
            list(o) for o in zip(*outs, strict=True)
        )
        mask_protos = self.proto_pred(x[0])
        return cls_scores, bbox_preds, objectnesses, coeff_preds, mask_protos

    def forward_single(  # type: ignore[override]
        self, x: Tensor, conv: nn.Module
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        pred_map = conv(x)
        bs, _, ny, nx = pred_map.shape
        pred_map = pred_map.view(bs, self.num_base_priors, self.num_out_attrib_with_proto, ny, nx)
        cls_score = pred_map[:, :, 5 : self.num_classes + 5, ...].reshape(bs, -1, ny, nx)
        bbox_pred = pred_map[:, :, :4, ...].reshape(bs, -1, ny, nx)
        objectness = pred_map[:, :, 4:5, ...].reshape(bs, -1, ny, nx)
        coeff_pred = pred_map[:, :, self.num_classes + 5 :, ...].reshape(bs, -1, ny, nx)
        return cls_score, bbox_pred, objectness, coeff_pred


@register_model
class YOLOv5InsHead(YOLOv5Head):
    """YOLOv5-Ins's head: ``head_module`` only; ``mask_overlap`` (one mask image per picture
    with instance ids, or one per instance: the "non_overlap" configs) and the mask loss only
    change training, and are accepted and ignored."""

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
        mask_overlap: bool = True,
        loss_mask: Cfg | None = None,
        loss_mask_weight: float = 0.05,
    ) -> None:
        super().__init__(
            head_module, prior_generator, bbox_coder, loss_cls, loss_bbox, loss_obj,
            prior_match_thr, near_neighbor_thr, ignore_iof_thr, obj_level_weights, train_cfg,
            test_cfg, init_cfg,
        )  # fmt: skip
        self.mask_overlap = mask_overlap
