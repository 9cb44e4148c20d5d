"""RTMDet-Ins, YOLOv5-Ins and YOLOv6 v3.0 in the zoo: their new bricks checked against counts
worked out by hand from the architectures (no OpenMMLab package needed; the side-by-side proof
against mmyolo's own models is tests/test_zoo_mmyolo.py)."""

from __future__ import annotations

import pytest
import torch
from mmengine import Config

from complexity.zoo import build_model
from complexity.zoo.rtmdet_ins import MaskFeatModule, RTMDetInsSepBNHeadModule
from complexity.zoo.yolov5_ins import ProtoModule
from complexity.zoo.yolov6 import BiFusion, CSPSPPFBottleneck

from helpers import REPO, num_params

CONFIGS = REPO / "configs"
RELU = {"type": "ReLU", "inplace": True}


def conv_bn(c_in: int, c_out: int, k: int) -> int:
    """A bias-free k x k conv followed by BatchNorm (weight and bias per channel)."""
    return c_in * c_out * k * k + 2 * c_out


def test_proto_module_params_and_mask_resolution() -> None:
    # YOLOv5-Ins-s: 128 input channels (256 x 0.5), 128 middle (256 x 0.5), 32 prototypes.
    proto = ProtoModule(in_channels=128, middle_channels=128, mask_channels=32)
    assert num_params(proto) == conv_bn(128, 128, 3) * 2 + conv_bn(128, 32, 1)  # 299,584
    # The finest level (stride 8) upsampled twice: masks at a quarter of a 640 image.
    assert proto(torch.rand(1, 128, 80, 80)).shape == (1, 32, 160, 160)


def test_yolov5_ins_head_predicts_mask_coefficients_per_anchor() -> None:
    cfg = Config.fromfile(
        str(CONFIGS / "yolov5/ins_seg/yolov5_ins_s-v61_syncbn_fast_8xb16-300e_coco_instance.py")
    )
    head = build_model(cfg.model.bbox_head).head_module
    # 3 anchors x (4 box + 1 objectness + 80 classes + 32 mask coefficients).
    assert [conv.out_channels for conv in head.convs_pred] == [3 * (5 + 80 + 32)] * 3
    feats = [torch.rand(1, c, s, s) for c, s in ((128, 8), (256, 4), (512, 2))]
    cls, box, obj, coeff, protos = head(feats)
    assert [t.shape[1] for t in cls] == [3 * 80] * 3
    assert [t.shape[1] for t in box] == [3 * 4] * 3
    assert [t.shape[1] for t in obj] == [3] * 3
    assert [t.shape[1] for t in coeff] == [3 * 32] * 3
    assert protos.shape == (1, 32, 16, 16)


def test_non_overlap_variant_builds_the_same_network() -> None:
    # mask_overlap only changes how training targets are drawn.
    base = "yolov5/ins_seg/yolov5_ins_s-v61_syncbn_fast_8xb16-300e_coco_instance.py"
    variant = "yolov5/ins_seg/yolov5_ins_s-v61_syncbn_fast_non_overlap_8xb16-300e_coco_instance.py"
    models = []
    for config in (base, variant):
        with torch.device("meta"):
            models.append(build_model(Config.fromfile(str(CONFIGS / config)).model))
    assert models[1].bbox_head.mask_overlap is False
    shapes = [[(n, p.shape) for n, p in m.named_parameters()] for m in models]
    assert shapes[0] == shapes[1]


def test_rtmdet_ins_dynamic_kernel_size_and_shared_box_tower() -> None:
    head = RTMDetInsSepBNHeadModule(num_classes=80, in_channels=256, widen_factor=0.5)
    # Dynamic convs 10 -> 8 -> 8 -> 1 (8 prototypes + 2 coordinates in): weights and biases.
    assert head.num_gen_params == (10 * 8 + 8) + (8 * 8 + 8) + (8 + 1) == 169
    assert [conv.out_channels for conv in head.rtm_kernel] == [169] * 3
    # mmyolo 0.6 appends the class tower to reg_convs: the box branch has no weights of its own.
    assert all(head.reg_convs[i] is head.cls_convs[i] for i in range(3))
    assert len(head.rtm_obj) == 0


def test_mask_feat_module_params() -> None:
    # RTMDet-Ins-s: 128 channels, 3 levels fused by a biased 1x1 conv, 4 3x3 convs, 8 prototypes.
    branch = MaskFeatModule(in_channels=128, feat_channels=128, num_prototypes=8)
    fusion = 3 * 128 * 128 + 128
    projection = 128 * 8 + 8
    assert num_params(branch) == fusion + 4 * conv_bn(128, 128, 3) + projection
    feats = [torch.rand(1, 128, s, s) for s in (16, 8, 4)]
    assert branch(feats).shape == (1, 8, 16, 16)


def test_csp_sppf_params() -> None:
    # YOLOv6-S v3.0's last stage: 512 channels, a 256-channel middle.
    block = CSPSPPFBottleneck(512, 512, kernel_sizes=5, act_cfg=RELU)
    expected = (
        conv_bn(512, 256, 1)  # conv1
        + conv_bn(256, 256, 3)  # conv3
        + conv_bn(256, 256, 1)  # conv4
        + conv_bn(512, 256, 1)  # conv2, the shortcut
        + conv_bn(4 * 256, 256, 1)  # conv5 after the pyramid of three poolings
        + conv_bn(256, 256, 3)  # conv6
        + conv_bn(2 * 256, 512, 1)  # conv7
    )
    assert num_params(block) == expected == 2_035_712
    assert block(torch.rand(1, 512, 4, 4)).shape == (1, 512, 4, 4)


@pytest.mark.parametrize("in0, in1, out", [(256, 128, 128), (128, 64, 64)])
def test_bifusion_params_and_shapes(in0: int, in1: int, out: int) -> None:
    fusion = BiFusion(in_channels0=in0, in_channels1=in1, out_channels=out)
    transposed_conv = out * out * 2 * 2 + out  # 2x2 stride-2 upsampling, biased
    expected = (
        conv_bn(in0, out, 1) + conv_bn(in1, out, 1) + conv_bn(3 * out, out, 1)
        + transposed_conv + conv_bn(out, out, 3)
    )  # fmt: skip
    assert num_params(fusion) == expected
    coarser, current, finer = (torch.rand(1, c, s, s) for c, s in ((out, 5), (in0, 10), (in1, 20)))
    assert fusion([coarser, current, finer]).shape == (1, out, 10, 10)


def test_yolov6_v3_neck_takes_four_levels_and_returns_three() -> None:
    cfg = Config.fromfile(str(CONFIGS / "yolov6/yolov6_v3_n_syncbn_fast_8xb32-300e_coco.py"))
    model = build_model(cfg.model).eval()
    with torch.no_grad():
        feats = model.backbone(torch.rand(1, 3, 64, 64))
        outs = model.neck(feats)
    # Strides 4, 8, 16, 32 in; widths 128/256/512/1024 x 0.25.
    assert [f.shape[1:] for f in feats] == [(32, 16, 16), (64, 8, 8), (128, 4, 4), (256, 2, 2)]
    assert [o.shape[1:] for o in outs] == [(32, 8, 8), (64, 4, 4), (128, 2, 2)]
    assert type(model.backbone.stage4[1]).__name__ == "CSPSPPFBottleneck"


def test_yolov6_v3_m_keeps_plain_sppf_like_mmyolo() -> None:
    # mmyolo 0.6's YOLOv6CSPBep does not pass use_cspsppf on, so v3 M/L end in the plain SPPF.
    cfg = Config.fromfile(str(CONFIGS / "yolov6/yolov6_v3_m_syncbn_fast_8xb32-300e_coco.py"))
    assert cfg.model.backbone.use_cspsppf is True
    with torch.device("meta"):
        model = build_model(cfg.model)
    assert type(model.backbone.stage4[1]).__name__ == "SPPFBottleneck"
