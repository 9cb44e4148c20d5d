"""The zoo is MMYOLO: every config, built by mmyolo's own registry and by ``complexity.zoo``,
has the same module names and the same per-module parameters, flops and activations.

Both models are built, put in deploy form and counted the way MMYOLO's get_flops counts
(``revert_sync_batchnorm``, eval, ``switch_to_deploy``, the image through the data
preprocessor), by the same analyzer: what differs is only who built the network. One config
per family and size class (configs from MMYOLO's repository, ``configs/``), every size of the
families added for MMYOLO's configs outside the main detectors (RTMDet-Ins, YOLOv5-Ins, YOLOv6
v3.0, YOLOv5u). Skipped, with the reason, where mmyolo is not installed
(``pip install -e ".[openmmlab]"``).
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
import warnings
from typing import Any

import pytest
import torch
from mmengine import Config
from torch import nn

from complexity.analyzer import Report, analyze
from complexity.zoo import example_inputs

from helpers import REPO, zoo_model_on_meta

CONFIGS = REPO / "configs"
METRICS_COMPARED = ("params", "flops", "activations")

# The families added for MMYOLO's configs outside the main detectors: every size.
NEW_FAMILIES = [
    "rtmdet/rtmdet-ins_s_syncbn_fast_8xb32-300e_coco.py",
    *(
        f"yolov5/ins_seg/yolov5_ins_{size}-v61_syncbn_fast_8xb16-300e_coco_instance.py"
        for size in "nsmlx"
    ),
    "yolov5/ins_seg/yolov5_ins_s-v61_syncbn_fast_non_overlap_8xb16-300e_coco_instance.py",
    "yolov5/ins_seg/yolov5_ins_s-v61_syncbn_fast_8xb16-300e_balloon_instance.py",
    *(f"yolov6/yolov6_v3_{size}_syncbn_fast_8xb32-300e_coco.py" for size in "ntsml"),
    *(f"yolov5/yolov5u/yolov5u_{size}_syncbn_fast_8xb16-300e_coco.py" for size in "nsmlx"),
]
# The main families: one config per size class.
MAIN_FAMILIES = [
    *(
        f"rtmdet/rtmdet_{size}_syncbn_fast_8xb32-300e_coco.py"
        for size in ("tiny", "s", "m", "l", "x")
    ),
    *(f"yolov5/yolov5_{size}-v61_syncbn_fast_8xb16-300e_coco.py" for size in "nsmlx"),
    *(f"yolov5/yolov5_{size}-p6-v62_syncbn_fast_8xb16-300e_coco.py" for size in "nsmlx"),
    "yolov6/yolov6_n_syncbn_fast_8xb32-400e_coco.py",
    "yolov6/yolov6_t_syncbn_fast_8xb32-400e_coco.py",
    "yolov6/yolov6_s_syncbn_fast_8xb32-400e_coco.py",
    "yolov6/yolov6_m_syncbn_fast_8xb32-300e_coco.py",
    "yolov6/yolov6_l_syncbn_fast_8xb32-300e_coco.py",
    *(
        f"yolov7/yolov7_{size}_syncbn_fast_8x16b-300e_coco.py"
        for size in ("tiny", "l", "x", "w-p6", "e-p6", "d-p6", "e2e-p6")
    ),
    *(f"yolov8/yolov8_{size}_syncbn_fast_8xb16-500e_coco.py" for size in "nsmlx"),
    *(
        f"yolox/yolox_{size}_fast_8xb8-300e_coco.py"
        for size in ("nano", "tiny", "s", "m", "l", "x")
    ),
    *(f"ppyoloe/ppyoloe_plus_{size}_fast_8xb8-80e_coco.py" for size in "smlx"),
    "ppyoloe/ppyoloe_s_fast_8xb32-300e_coco.py",
]


def _placeholder_for_compiled_ops() -> types.ModuleType:
    """Stands in for ``mmcv._ext`` (mmcv-lite has no compiled ops): importable, and every op
    raises when called. A tensor-mode forward of these detectors calls none."""
    module = types.ModuleType("mmcv._ext")
    module.__spec__ = importlib.machinery.ModuleSpec("mmcv._ext", None)

    def missing(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def op(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError(f"mmcv's compiled op {name!r} is not installed")

        return op

    module.__getattr__ = missing  # type: ignore[method-assign]
    return module


@pytest.fixture(scope="module")
def mmyolo_models() -> Any:
    """mmyolo's model registry in its own scope, or a skip saying what to install."""
    try:
        import mmcv._ext  # noqa: F401
    except ImportError:
        sys.modules.setdefault("mmcv._ext", _placeholder_for_compiled_ops())
    except Exception:  # a broken mmcv build: the placeholder is what the user would need too
        sys.modules["mmcv._ext"] = _placeholder_for_compiled_ops()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("mmyolo", reason='mmyolo not installed: pip install -e ".[openmmlab]"')
        import mmyolo.models  # noqa: F401  (registers mmyolo's modules)
        from mmdet.registry import MODELS
        from mmengine.registry import init_default_scope
    init_default_scope("mmyolo")
    return MODELS


def _built_by_mmyolo(models: Any, cfg: Config) -> nn.Module:
    from mmengine.model import revert_sync_batchnorm
    from mmyolo.utils import switch_to_deploy as mmyolo_switch_to_deploy

    def built_on(device: str) -> nn.Module:
        with torch.device(device):  # the fused convs mmyolo creates go there too
            model = revert_sync_batchnorm(models.build(cfg.model)).eval()
            mmyolo_switch_to_deploy(model)
        return model

    try:
        return built_on("meta")
    except RuntimeError as error:
        # mmyolo's RepVGG switch_to_deploy reads a value (`if self.alpha:`, PP-YOLOE+), which
        # a meta build has not: built for real, as `--device auto` does.
        if "meta tensor" not in str(error):
            raise
        return built_on("cpu")


def _per_module(report: Report, metric: str) -> dict[str, int]:
    # Modules that neither hold parameters nor run counted work (losses and assigners, which
    # mmyolo builds as modules and the zoo leaves out) are no rows of get_flops' table.
    return {name: value for name, value in report.by_module(metric).items() if value}


def _assert_same_counts(config: str, models: Any, shape: tuple[int, int] = (320, 320)) -> None:
    cfg = Config.fromfile(str(CONFIGS / config))
    ours = zoo_model_on_meta(config)  # on meta, shared with the other zoo tests
    theirs = _built_by_mmyolo(models, cfg)
    inputs = example_inputs(cfg, shape)
    reports = {"zoo": analyze(ours, inputs), "mmyolo": analyze(theirs, inputs)}
    for metric in METRICS_COMPARED:
        assert _per_module(reports["zoo"], metric) == _per_module(reports["mmyolo"], metric), (
            f"{config}: {metric} per module"
        )
    # Every module the zoo builds is one mmyolo builds, under the same name and in its order.
    zoo_names = [name for name, _ in ours.named_modules()]
    mmyolo_names = [name for name, _ in theirs.named_modules()]
    assert zoo_names == [name for name in mmyolo_names if name in set(zoo_names)]


@pytest.mark.slow
@pytest.mark.parametrize("config", NEW_FAMILIES)
def test_new_families_equal_mmyolo(config: str, mmyolo_models: Any) -> None:
    _assert_same_counts(config, mmyolo_models)


@pytest.mark.slow
@pytest.mark.parametrize("config", MAIN_FAMILIES)
def test_main_families_equal_mmyolo(config: str, mmyolo_models: Any) -> None:
    _assert_same_counts(config, mmyolo_models)
