"""Model zoo: our own PyTorch implementations of models named by MMYOLO configs.

``build_model(cfg.model)`` turns an MMYOLO-format model config into an ``nn.Module`` whose module
names, parameter counts and traced op graph match MMYOLO's, without depending on mmcv/mmdet/mmyolo.
"""

from .backbones import CSPNeXt
from .detectors import YOLODetector, YOLOv5DetDataPreprocessor
from .heads import RTMDetHead, RTMDetSepBNHeadModule
from .inputs import example_inputs
from .layers import (
    ChannelAttention,
    ConvModule,
    CSPLayer,
    CSPNeXtBlock,
    DarknetBottleneck,
    DepthwiseSeparableConvModule,
    SPPFBottleneck,
)
from .necks import CSPNeXtPAFPN
from .registry import MODELS, UnknownModelTypeError, build_model, known_types, register_model

__all__ = [
    "MODELS",
    "CSPLayer",
    "CSPNeXt",
    "CSPNeXtBlock",
    "CSPNeXtPAFPN",
    "ChannelAttention",
    "ConvModule",
    "DarknetBottleneck",
    "DepthwiseSeparableConvModule",
    "RTMDetHead",
    "RTMDetSepBNHeadModule",
    "SPPFBottleneck",
    "UnknownModelTypeError",
    "YOLODetector",
    "YOLOv5DetDataPreprocessor",
    "build_model",
    "example_inputs",
    "known_types",
    "register_model",
]
