"""YOLOv5 (P5 and P6), YOLOv8 and YOLOX from MMYOLO's configs: the published model-zoo rows,
fvcore side by side, --cfg-options scaling, the deploy step and `complexity zoo`.

Expected numbers come from outside our analyzer: MMYOLO's published model-zoo table
(docs/en/model_zoo.md of open-mmlab/mmyolo, COCO section, "obtained using the get_flops
script" at 640x640), hand arithmetic, or fvcore run side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import torch
from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis, parameter_count
from fvcore.nn.print_model_statistics import _format_size
from torch import nn

from complexity.analyzer import analyze
from complexity.analyzer.report import NOT_COUNTED_BY_CONVENTION
from complexity.zoo import (
    DEPLOY_NOTE,
    MODELS,
    build_model,
    example_inputs,
    known_types_by_family,
    register_model,
    switch_to_deploy,
)

from helpers import REPO, build_for_counting, cli, load_cfg

# MMYOLO docs/en/model_zoo.md, COCO table (mmyolo 8c4d9dc5): (family, size) -> (Params(M),
# FLOPs(G)), every row of the families built here. The table's YOLOv8 rows are the mask-refine models and its YOLOX tiny/s/m rows the
# rtmdet-hyp ones (batch 8xb32, AMP), hence those families here; both build the same detector
# as their plain configs (test_variants_build_the_same_detector).
PUBLISHED: dict[tuple[str, str], tuple[str, str]] = {
    ("rtmdet", "tiny"): ("4.90", "8.09"),
    ("rtmdet", "s"): ("8.89", "14.84"),
    ("rtmdet", "m"): ("24.71", "39.21"),
    ("rtmdet", "l"): ("52.32", "80.12"),
    ("rtmdet", "x"): ("94.86", "145.41"),
    ("yolov5", "n"): ("1.87", "2.26"),
    ("yolov5", "s"): ("7.24", "8.27"),
    ("yolov5", "m"): ("21.19", "24.53"),
    ("yolov5", "l"): ("46.56", "54.65"),
    ("yolov5-p6", "n"): ("3.25", "2.30"),
    ("yolov5-p6", "s"): ("12.63", "8.45"),
    ("yolov5-p6", "m"): ("35.73", "25.05"),
    ("yolov5-p6", "l"): ("76.77", "55.77"),
    ("yolov8-mask-refine", "n"): ("3.16", "4.4"),
    ("yolov8-mask-refine", "s"): ("11.17", "14.36"),
    ("yolov8-mask-refine", "m"): ("25.9", "39.57"),
    ("yolov8-mask-refine", "l"): ("43.69", "82.73"),
    ("yolov8-mask-refine", "x"): ("68.23", "132.10"),
    ("yolox-rtmdet-hyp", "tiny"): ("5.06", "7.63"),
    ("yolox-rtmdet-hyp", "s"): ("8.97", "13.40"),
    ("yolox-rtmdet-hyp", "m"): ("25.33", "36.88"),
    ("yolox", "l"): ("54.21", "77.83"),
    ("yolox", "x"): ("99.07", "144.39"),
}
# Published FLOPs we do not reproduce (see docs/zoo.md): all three x models. We give 141.51G,
# 129.09G and 140.97G; MMYOLO's own RTMDet README gives RTMDet-x 141.67G, and the upstream
# projects' figures support ours (Ultralytics YOLOv8x: 257.8 GFLOPs = 2 x 128.9G multiply-adds;
# Megvii YOLOX-X: 281.9 GFLOPs = 2 x 141.0G). Their params match to the digit.
FLOPS_NOT_REPRODUCED = {("rtmdet", "x"), ("yolov8-mask-refine", "x"), ("yolox", "x")}


def _as_published(count: int, published: str) -> str:
    """`count` as MMYOLO's table prints it: get_flops prints 3 decimals ("82.725G", fvcore's
    and mmengine's format), and the table rounds that string, half up, to its own digits."""
    printed = _format_size(count)  # e.g. "82.725G"
    decimals = len(published.split(".")[1]) if "." in published else 0
    step = Decimal(1).scaleb(-decimals)
    return str(Decimal(printed[:-1]).quantize(step, rounding=ROUND_HALF_UP))


def _num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _build_on_meta(family: str, size: str) -> nn.Module:
    # Parameter counts need shapes only: the meta device builds without allocating weights.
    with torch.device("meta"):
        return build_model(load_cfg(family, size).model)


# 1. the published rows ----------------------------------------------------------------------


@pytest.mark.parametrize(("family", "size"), sorted(PUBLISHED))
def test_published_params(family: str, size: str) -> None:
    model = _build_on_meta(family, size)
    assert next(model.parameters()).device.type == "meta"
    published = PUBLISHED[family, size][0]
    assert _format_size(_num_params(model))[-1] == "M"
    assert _as_published(_num_params(model), published) == published


@pytest.mark.slow
@pytest.mark.parametrize(("family", "size"), sorted(set(PUBLISHED) - FLOPS_NOT_REPRODUCED))
def test_published_flops(
    family: str, size: str, zoo_model: Callable[[str, str], nn.Module]
) -> None:
    model = zoo_model(family, size)
    report = analyze(model, example_inputs(model, (640, 640)))
    published = PUBLISHED[family, size][1]
    assert _format_size(report.total("flops"))[-1] == "G"
    assert _as_published(report.total("flops"), published) == published
    # Whatever ran uncounted (adds, SiLU, ...) is left out by the fvcore convention itself,
    # never for want of a handler.
    assert {op.reason for op in report.uncounted} <= {NOT_COUNTED_BY_CONVENTION}


@pytest.mark.parametrize(
    ("variant", "plain", "sizes"),
    [
        ("yolov8-mask-refine", "yolov8", ("n", "s", "m", "l", "x")),
        ("yolox-rtmdet-hyp", "yolox", ("nano", "tiny", "s", "m")),
    ],
)
def test_variants_build_the_same_detector(variant: str, plain: str, sizes: tuple[str]) -> None:
    for size in sizes:
        a, b = _build_on_meta(variant, size), _build_on_meta(plain, size)
        shapes_a = [(n, p.shape) for n, p in a.named_parameters()]
        assert shapes_a == [(n, p.shape) for n, p in b.named_parameters()], size


def test_yolov5_s_hand_arithmetic() -> None:
    model = _build_on_meta("yolov5", "s")
    stem = model.backbone.stem  # 6x6 stride-2 conv 3 -> 32 (no bias: BN follows) + BN
    assert (stem.conv.kernel_size, stem.conv.stride, stem.conv.padding) == ((6, 6), (2, 2), (2, 2))
    assert _num_params(stem) == 3 * 32 * 36 + 2 * 32
    # SPPF comes last in YOLOv5's stage 4: conv 512 -> 256, pool x3, conv 1024 -> 512.
    sppf = model.backbone.stage4[2]
    assert _num_params(sppf) == (512 * 256 + 2 * 256) + (1024 * 512 + 2 * 512)
    # The head's 1x1 convs: 3 anchors x (80 classes + 4 box + 1 objectness), with bias.
    assert [_num_params(c) for c in model.bbox_head.head_module.convs_pred] == [
        (c + 1) * 255 for c in (128, 256, 512)
    ]


def test_yolov8_and_yolox_hand_arithmetic() -> None:
    v8 = _build_on_meta("yolov8", "n").bbox_head.head_module
    # reg branch width max(16, 64 // 4, 16 * 4) = 64; cls branch width max(64, 80) = 80.
    assert [m.conv.out_channels for m in v8.reg_preds[0][:2]] == [64, 64]
    assert [m.conv.out_channels for m in v8.cls_preds[0][:2]] == [80, 80]
    assert v8.reg_preds[2][2].out_channels == 4 * 16
    assert tuple(v8.proj.shape) == (16,) and "proj" not in v8.state_dict()
    stem = _build_on_meta("yolox", "s").backbone.stem  # Focus: 4 phases of 3 channels -> 32
    assert _num_params(stem) == 12 * 32 * 9 + 2 * 32


# 2. fvcore side by side, one model per family -----------------------------------------------

SIDE_BY_SIDE = [("yolov5-p6", "n"), ("yolov8", "n"), ("yolox", "nano")]


@pytest.mark.slow
@pytest.mark.parametrize(("family", "size"), SIDE_BY_SIDE)
def test_every_module_equals_fvcore(family: str, size: str) -> None:
    # YOLOv5-P6 also covers the P5 code; YOLOX-nano the depthwise-separable variant.
    model = build_for_counting(load_cfg(family, size))
    inputs = example_inputs(model, (256, 256))
    ours = analyze(model, inputs)
    flops = FlopCountAnalysis(model, inputs)
    acts = ActivationCountAnalysis(model, inputs)
    for analysis in (flops, acts):
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    assert ours.by_module("flops") == dict(flops.by_module())
    assert ours.by_module("activations") == dict(acts.by_module())
    assert ours.by_operator("flops") == dict(flops.by_operator())
    fv_params = dict(parameter_count(model))
    assert ours.by_module("params") == {n: fv_params.get(n, 0) for n, _ in model.named_modules()}
    # The preprocessor runs before the model; fvcore also calls the neck's nn.Identity layers
    # uncalled (they leave no op in the graph), which we know were called.
    assert ours.uncalled_modules == {"data_preprocessor"}
    identities = {n for n, m in model.named_modules() if isinstance(m, nn.Identity)}
    parents = {n.rsplit(".", 1)[0] for n in identities}
    assert flops.uncalled_modules() - ours.uncalled_modules <= identities | parents


# 3. --cfg-options: one size's config with the next size's factors is the next size ---------

_FACTORS = {"m": (0.67, 0.75)}


def _scale_options(family: str) -> dict[str, object]:
    deepen, widen = _FACTORS["m"]
    options: dict[str, object] = {
        "model.backbone.deepen_factor": deepen,
        "model.backbone.widen_factor": widen,
        "model.neck.deepen_factor": deepen,
        "model.neck.widen_factor": widen,
        "model.bbox_head.head_module.widen_factor": widen,
    }
    if family == "yolov8":  # YOLOv8-m also narrows the last stage (1024 -> 768 before widening)
        options["model.backbone.last_stage_out_channels"] = 768
        options["model.neck.in_channels"] = [256, 512, 768]
        options["model.neck.out_channels"] = [256, 512, 768]
        options["model.bbox_head.head_module.in_channels"] = [256, 512, 768]
    return options


@pytest.mark.slow
@pytest.mark.parametrize("family", ["yolov5", "yolov5-p6", "yolov8", "yolox"])
def test_s_with_m_factors_equals_m(family: str) -> None:
    cfg = load_cfg(family, "s")
    cfg.merge_from_dict(_scale_options(family))
    merged = build_for_counting(cfg)
    reference = build_for_counting(load_cfg(family, "m"))
    inputs = example_inputs(reference, (128, 128))
    ours, theirs = analyze(merged, inputs), analyze(reference, inputs)
    for metric in ("params", "flops", "activations"):
        assert ours.by_module(metric) == theirs.by_module(metric), metric


# 4. the deploy step -----------------------------------------------------------------------


@pytest.fixture
def fusable_type() -> Iterator[str]:
    """A scratch registered type with a RepVGG-like block: 3x3 + 1x1 branches, summed."""
    before = dict(MODELS)

    class Branches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv3 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.conv1 = nn.Conv2d(3, 8, 1, bias=False)
            self.fused: nn.Conv2d | None = None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.fused is not None:
                return self.fused(x)
            return self.conv3(x) + self.conv1(x)

        def switch_to_deploy(self) -> None:
            if self.fused is not None:
                return
            # The 1x1 kernel folds into the centre of the 3x3 one: one conv, same output.
            weight = self.conv3.weight.detach().clone()
            weight[:, :, 1:2, 1:2] += self.conv1.weight.detach()
            self.fused = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.fused.weight.data = weight
            del self.conv3, self.conv1

    @register_model("FusableNet")
    class FusableNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Branches()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.block(x)

    yield "FusableNet"
    MODELS.clear()
    MODELS.update(before)


@pytest.mark.usefixtures("fusable_type")
def test_switch_to_deploy_fuses_and_keeps_the_output() -> None:
    model = build_model({"type": "FusableNet"}).eval()
    x = torch.randn(1, 3, 16, 16)
    before = model(x)
    assert switch_to_deploy(model) == {"Branches": 1}
    assert torch.allclose(model(x), before, atol=1e-5)
    assert [n for n, _ in model.named_modules()] == ["", "block", "block.fused"]
    assert switch_to_deploy(model) == {"Branches": 1}  # switching again changes nothing
    assert switch_to_deploy(build_model(load_cfg("yolov5", "n").model)) == {}


@pytest.mark.usefixtures("fusable_type")
def test_cli_counts_the_deploy_form_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "fusable.py"
    config.write_text("model = dict(type='FusableNet')\n", encoding="utf-8")
    conv3, conv1 = 8 * 3 * 9 * 32 * 32, 8 * 3 * 32 * 32  # multiply-adds at 32x32
    code, out, err = cli(capsys, "analyze", str(config), "--shape", "32", "--not-show-table")
    assert (code, err) == (0, "")
    assert DEPLOY_NOTE in out and "1 Branches switched" in out
    assert "Model Flops: 0.221M" in out and conv3 == 221_184
    code, out, _ = cli(
        capsys, "analyze", str(config), "--shape", "32", "--not-show-table", "--training-form"
    )
    assert code == 0 and DEPLOY_NOTE not in out
    assert "Model Flops: 0.246M" in out and conv3 + conv1 == 245_760


@pytest.mark.usefixtures("fusable_type")
def test_get_flops_script_counts_the_deploy_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "get_flops", REPO / "tools" / "analysis_tools" / "get_flops.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    config = tmp_path / "fusable.py"
    config.write_text("model = dict(type='FusableNet')\n", encoding="utf-8")
    assert script.main([str(config), "--shape", "32", "--not-show-table"]) == 0
    out = capsys.readouterr().out
    assert DEPLOY_NOTE in out and "Model Flops: 0.221M" in out
    assert script.main([str(config), "--shape", "32", "--not-show-table", "--training-form"]) == 0
    out = capsys.readouterr().out
    assert DEPLOY_NOTE not in out and "Model Flops: 0.246M" in out


# 5. listing the types ---------------------------------------------------------------------


def test_zoo_command_lists_types_by_family(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "zoo")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    for family, names in (
        ("YOLOv5", ["YOLOv5CSPDarknet", "YOLOv5Head", "YOLOv5HeadModule", "YOLOv5PAFPN"]),
        ("YOLOv8", ["YOLOv8CSPDarknet", "YOLOv8Head", "YOLOv8HeadModule", "YOLOv8PAFPN"]),
        ("YOLOX", ["YOLOXCSPDarknet", "YOLOXHead", "YOLOXHeadModule", "YOLOXPAFPN"]),
    ):
        heading = lines.index(f"{family} (4)")
        assert lines[heading + 1].split(", ") == [f"  {names[0]}", *names[1:]]
    assert all(len(line) <= 80 for line in lines)
    assert sum(len(names) for names in known_types_by_family().values()) == len(MODELS)
    assert (
        lines[-1]
        == f"{len(MODELS)} types; configs name one as type='Name' (mmyolo./mmdet. optional)"
    )


def test_unknown_type_points_to_the_zoo_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "pose.py"
    config.write_text("model = dict(type='YOLODetector', backbone=dict(type='YOLOv5CSPDarknt'),"
                      " neck=None, bbox_head=dict(type='YOLOXHead', head_module={}))\n",
                      encoding="utf-8")  # fmt: skip
    code, out, err = cli(capsys, "analyze", str(config))
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "did you mean 'YOLOv5CSPDarknet'" in err
    assert "`complexity zoo` lists the" in err
