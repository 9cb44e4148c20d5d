"""Model zoo: our own PyTorch implementations of the models named by MMYOLO configs.

``build_model(cfg.model)`` turns an MMYOLO-format model config into an ``nn.Module`` whose module
names, parameter counts and traced op graph match MMYOLO's, without depending on mmcv/mmdet/mmyolo.

Layout: ``bricks`` (shared building blocks), ``base`` (backbone/neck/head skeletons),
``detectors`` (the detector wrapper and data preprocessors), one module per family (``rtmdet``,
``yolov5``, ``yolov8``, ``yolox``, ...), ``deploy`` (the re-parameterization step) and
``registry``. Importing the package registers every family.
"""

from . import rtmdet, yolov5, yolov8, yolox  # noqa: F401  (registers the families)
from .base import BaseBackbone, BaseYOLONeck, YOLOHeadWrapper
from .bricks import (
    ChannelAttention,
    ConvModule,
    CSPLayer,
    CSPLayerWithTwoConv,
    CSPNeXtBlock,
    DarknetBottleneck,
    DepthwiseSeparableConvModule,
    Focus,
    SPPFBottleneck,
)
from .deploy import DEPLOY_NOTE, deploy_note, switch_to_deploy
from .detectors import DetDataPreprocessor, YOLODetector, YOLOv5DetDataPreprocessor
from .inputs import example_inputs
from .registry import (
    MODELS,
    UnknownModelTypeError,
    build_model,
    describe_known_types,
    family_of,
    known_types,
    known_types_by_family,
    register_model,
)
from .rtmdet import CSPNeXt, CSPNeXtPAFPN, RTMDetHead, RTMDetSepBNHeadModule
from .yolov5 import YOLOv5CSPDarknet, YOLOv5Head, YOLOv5HeadModule, YOLOv5PAFPN
from .yolov8 import YOLOv8CSPDarknet, YOLOv8Head, YOLOv8HeadModule, YOLOv8PAFPN
from .yolox import YOLOXPAFPN, YOLOXCSPDarknet, YOLOXHead, YOLOXHeadModule

# Families added with issue #11 (YOLOv6, YOLOv7, PP-YOLOE); importing registers their types.
from . import ppyoloe, yolov6, yolov7  # noqa: F401  (isort: skip)

__all__ = [
    "DEPLOY_NOTE",
    "MODELS",
    "YOLOXPAFPN",
    "BaseBackbone",
    "BaseYOLONeck",
    "CSPLayer",
    "CSPLayerWithTwoConv",
    "CSPNeXt",
    "CSPNeXtBlock",
    "CSPNeXtPAFPN",
    "ChannelAttention",
    "ConvModule",
    "DarknetBottleneck",
    "DepthwiseSeparableConvModule",
    "DetDataPreprocessor",
    "Focus",
    "RTMDetHead",
    "RTMDetSepBNHeadModule",
    "SPPFBottleneck",
    "UnknownModelTypeError",
    "YOLODetector",
    "YOLOHeadWrapper",
    "YOLOXCSPDarknet",
    "YOLOXHead",
    "YOLOXHeadModule",
    "YOLOv5CSPDarknet",
    "YOLOv5DetDataPreprocessor",
    "YOLOv5Head",
    "YOLOv5HeadModule",
    "YOLOv5PAFPN",
    "YOLOv8CSPDarknet",
    "YOLOv8Head",
    "YOLOv8HeadModule",
    "YOLOv8PAFPN",
    "build_model",
    "deploy_note",
    "describe_known_types",
    "example_inputs",
    "family_of",
    "known_types",
    "known_types_by_family",
    "register_model",
    "switch_to_deploy",
]
