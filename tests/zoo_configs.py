"""Which config file is which model: the zoo tests' map of families, sizes and config paths.

Each family's shipped configs follow MMYOLO's file naming; ``config_path("yolov5", "s")`` gives
``configs/yolov5/yolov5_s-v61_syncbn_fast_8xb16-300e_coco.py``. ``built`` builds a config once
per test session (the models are large; tests must not rebuild them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from mmengine import Config
from torch import nn

from complexity.zoo import build_model, switch_to_deploy

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


@dataclass(frozen=True)
class Family:
    folder: str  # configs/<folder>
    pattern: str  # file name with a {size} field
    sizes: tuple[str, ...]
    # The sizes whose deepen/widen factors MMYOLO's configs set, smallest first.


FAMILIES: dict[str, Family] = {
    "rtmdet": Family(
        "rtmdet", "rtmdet_{size}_syncbn_fast_8xb32-300e_coco.py", ("tiny", "s", "m", "l", "x")
    ),
    "yolov5": Family(
        "yolov5", "yolov5_{size}-v61_syncbn_fast_8xb16-300e_coco.py", ("n", "s", "m", "l", "x")
    ),
    "yolov5-p6": Family(
        "yolov5", "yolov5_{size}-p6-v62_syncbn_fast_8xb16-300e_coco.py", ("n", "s", "m", "l", "x")
    ),
    "yolov8": Family(
        "yolov8", "yolov8_{size}_syncbn_fast_8xb16-500e_coco.py", ("n", "s", "m", "l", "x")
    ),
    "yolov8-mask-refine": Family(
        "yolov8",
        "yolov8_{size}_mask-refine_syncbn_fast_8xb16-500e_coco.py",
        ("n", "s", "m", "l", "x"),
    ),
    "yolox": Family(
        "yolox", "yolox_{size}_fast_8xb8-300e_coco.py", ("nano", "tiny", "s", "m", "l", "x")
    ),
    "yolox-rtmdet-hyp": Family(
        "yolox", "yolox_{size}_fast_8xb32-300e-rtmdet-hyp_coco.py", ("nano", "tiny", "s", "m")
    ),
}


def config_path(family: str, size: str) -> Path:
    spec = FAMILIES[family]
    if size not in spec.sizes:
        raise KeyError(f"{family} has no size {size!r} (sizes: {', '.join(spec.sizes)})")
    return CONFIGS / spec.folder / spec.pattern.format(size=size)


def load_cfg(family: str, size: str) -> Config:
    return Config.fromfile(str(config_path(family, size)))


def build_eval(cfg: Config) -> nn.Module:
    """Build like MMYOLO's get_flops does: eval mode, then the deploy form."""
    model = build_model(cfg.model).eval()
    switch_to_deploy(model)
    return model


@cache
def built(family: str, size: str) -> nn.Module:
    """``build_eval`` of a shipped config, once per session. Treat the result as read-only."""
    return build_eval(load_cfg(family, size))


def preprocessed_input(model: nn.Module, h: int = 640, w: int = 640) -> torch.Tensor:
    # Exactly what MMYOLO's get_flops.py feeds the model.
    data = model.data_preprocessor({"inputs": [torch.rand(3, h, w)], "data_samples": [None]}, False)
    return data["inputs"]


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
