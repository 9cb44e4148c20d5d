"""The generic parts of every MMYOLO model: the ``YOLODetector`` wrapper and the data
preprocessors (mmdet's ``DetDataPreprocessor`` and mmyolo's ``YOLOv5DetDataPreprocessor``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .registry import Cfg, build_child, register_model

__all__ = ["DetDataPreprocessor", "YOLODetector", "YOLOv5DetDataPreprocessor"]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "detector and data preprocessors"


@register_model
class DetDataPreprocessor(nn.Module):
    """Normalise, pad and batch images the way mmengine's ``ImgDataPreprocessor`` does.

    It has no parameters: ``mean``/``std`` are non-persistent buffers of shape (C, 1, 1), so they
    neither show up in parameter counts nor in checkpoints.
    """

    def __init__(
        self,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        pad_size_divisor: int = 1,
        pad_value: float = 0,
        non_blocking: bool = False,
        **ignored: Any,  # batch_augments, boxtype2tensor, pad_mask, ... only matter in training
    ) -> None:
        super().__init__()
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError("bgr_to_rgb and rgb_to_bgr cannot both be True")
        if (mean is None) != (std is None):
            raise ValueError("mean and std must be given together")
        if pad_size_divisor < 1:
            raise ValueError(f"pad_size_divisor must be >= 1, got {pad_size_divisor}")
        self.channel_conversion = bgr_to_rgb or rgb_to_bgr
        self.pad_size_divisor = int(pad_size_divisor)
        self.pad_value = pad_value
        self.non_blocking = non_blocking
        self.normalize = mean is not None
        if mean is not None and std is not None:
            if len(mean) != len(std):
                raise ValueError("mean and std must have the same length")
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                                 persistent=False)  # fmt: skip
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
                                 persistent=False)  # fmt: skip

    def _prepare(self, img: Tensor) -> Tensor:
        """Channel flip, float cast and normalisation for one CHW image or an NCHW batch."""
        channel_dim = img.dim() - 3
        if self.channel_conversion:
            if img.shape[channel_dim] != 3:
                raise ValueError(f"channel flip needs 3 channels, got shape {tuple(img.shape)}")
            img = img.flip(channel_dim)
        img = img.float()
        if self.normalize:
            img = (img - self.mean) / self.std
        return img

    def _padding(self, h: int, w: int) -> tuple[int, int]:
        d = self.pad_size_divisor
        return math.ceil(h / d) * d, math.ceil(w / d) * d

    def forward(self, data: Mapping[str, Any], training: bool = False) -> dict[str, Any]:
        inputs = data["inputs"]
        device = self.mean.device if self.normalize else None
        if isinstance(inputs, Tensor):
            if inputs.dim() != 4:
                raise ValueError(f"tensor inputs must be NCHW, got shape {tuple(inputs.shape)}")
            batch = self._prepare(inputs.to(device, non_blocking=self.non_blocking))
            h, w = batch.shape[-2:]
            target_h, target_w = self._padding(h, w)
            batch = F.pad(batch, (0, target_w - w, 0, target_h - h), value=self.pad_value)
        else:
            images = [
                self._prepare(img.to(device, non_blocking=self.non_blocking)) for img in inputs
            ]
            if not images or any(img.dim() != 3 for img in images):
                raise ValueError("list inputs must be a non-empty list of CHW tensors")
            # Pad every image bottom/right to the largest size in the batch, rounded up.
            target_h, target_w = self._padding(
                max(img.shape[1] for img in images), max(img.shape[2] for img in images)
            )
            batch = torch.stack(
                [
                    F.pad(img, (0, target_w - img.shape[2], 0, target_h - img.shape[1]),
                          value=self.pad_value)
                    for img in images
                ]
            )  # fmt: skip
        return {"inputs": batch, "data_samples": data.get("data_samples")}


@register_model
class YOLOv5DetDataPreprocessor(DetDataPreprocessor):
    """mmyolo's preprocessor: mmdet's, with ``non_blocking`` on by default. Its training-only
    fast path (batched targets for ``yolov5_collate``) is outside what get_flops runs."""

    def __init__(self, *args: Any, non_blocking: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, non_blocking=non_blocking, **kwargs)


@register_model
class YOLODetector(nn.Module):
    """Single-stage detector: ``bbox_head(neck(backbone(inputs)))``.

    Attribute order mirrors mmengine's ``BaseModel`` + mmdet's ``SingleStageDetector``:
    ``data_preprocessor`` first, then ``backbone``, ``neck``, ``bbox_head``.
    """

    def __init__(
        self,
        backbone: Cfg | nn.Module,
        neck: Cfg | nn.Module | None,
        bbox_head: Cfg | nn.Module,
        data_preprocessor: Cfg | nn.Module | None = None,
        train_cfg: Cfg | None = None,
        test_cfg: Cfg | None = None,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
        use_syncbn: bool = True,  # converts BN to SyncBN for multi-GPU training: no effect here
    ) -> None:
        super().__init__()
        self.data_preprocessor = build_child(
            data_preprocessor or {"type": "YOLOv5DetDataPreprocessor"}, "data_preprocessor"
        )
        self.backbone = build_child(backbone, "backbone")
        self.neck = build_child(neck, "neck") if neck is not None else None
        self.bbox_head = build_child(bbox_head, "bbox_head")
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    def extract_feat(self, inputs: Tensor) -> tuple[Tensor, ...]:
        feats = self.backbone(inputs)
        return self.neck(feats) if self.neck is not None else feats

    def forward(
        self, inputs: Tensor, data_samples: Any = None, mode: str = "tensor"
    ) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        if mode != "tensor":
            raise NotImplementedError(
                f"YOLODetector.forward(mode={mode!r}) is not implemented: the zoo builds models "
                "for complexity analysis only, so just mode='tensor' (raw head outputs) exists"
            )
        return self.bbox_head.forward(self.extract_feat(inputs))
