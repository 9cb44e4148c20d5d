"""The input MMYOLO's get_flops feeds a detector: one random image through its preprocessor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

DEFAULT_SHAPE = (640, 640)


def _preprocessor(source: Mapping[str, Any] | nn.Module) -> Any:
    if isinstance(source, nn.Module):
        return getattr(source, "data_preprocessor", None)
    from .registry import build_model

    model_cfg = source.get("model", source)  # a whole config or its `model` part
    preprocessor_cfg = model_cfg.get("data_preprocessor")
    return build_model(preprocessor_cfg) if preprocessor_cfg else None


def example_inputs(
    source: Mapping[str, Any] | nn.Module, shape: tuple[int, int] = DEFAULT_SHAPE
) -> torch.Tensor:
    """A (1, 3, H', W') batch: a random `shape` image through the data preprocessor.

    `source` is an MMYOLO config (whole, or its `model` part) or a built model; the image is
    normalised and padded as its `data_preprocessor` does (H', W' rounded up to the pad
    divisor), or simply batched when there is none.
    """
    height, width = shape
    image = torch.rand(3, height, width)
    preprocessor = _preprocessor(source)
    if not callable(preprocessor):
        return image.unsqueeze(0)
    with torch.no_grad():
        return preprocessor({"inputs": [image], "data_samples": [None]}, False)["inputs"]
