"""Model zoo: our own PyTorch implementations of the models named by MMYOLO configs.

``build_model(cfg.model)`` turns an MMYOLO-format model config into an ``nn.Module`` whose module
names, parameter counts and traced op graph match MMYOLO's, without depending on mmcv/mmdet/mmyolo.

Layout: ``bricks`` (shared building blocks), ``base`` (backbone/neck/head skeletons),
``detectors`` (the detector wrapper and data preprocessors), one module per family (``rtmdet``,
``rtmdet_ins``, ``yolov5``, ``yolov5_ins``, ``yolov6``, ``yolov7``, ``yolov8``, ``yolox``,
``ppyoloe``), ``deploy`` (the
re-parameterization step) and ``registry``. Importing the package registers every family.
"""

from . import (  # noqa: F401  (registers the families)
    ppyoloe,
    rtmdet,
    rtmdet_ins,
    yolov5,
    yolov5_ins,
    yolov6,
    yolov7,
    yolov8,
    yolox,
)
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
    RepVGGBlock,
    SPPFBottleneck,
)
from .deploy import DEPLOY_NOTE, deploy_note, switch_to_deploy
from .detectors import DetDataPreprocessor, YOLODetector, YOLOv5DetDataPreprocessor
from .inputs import example_inputs
from .ppyoloe import (
    PPYOLOECSPPAFPN,
    PPYOLOECSPResNet,
    PPYOLOEDetDataPreprocessor,
    PPYOLOEHead,
    PPYOLOEHeadModule,
)
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
from .rtmdet_ins import RTMDetInsSepBNHead, RTMDetInsSepBNHeadModule
from .yolov5 import YOLOv5CSPDarknet, YOLOv5Head, YOLOv5HeadModule, YOLOv5PAFPN
from .yolov5_ins import YOLOv5InsHead, YOLOv5InsHeadModule
from .yolov6 import (
    YOLOv6CSPBep,
    YOLOv6CSPRepBiPAFPN,
    YOLOv6CSPRepPAFPN,
    YOLOv6EfficientRep,
    YOLOv6Head,
    YOLOv6HeadModule,
    YOLOv6RepBiPAFPN,
    YOLOv6RepPAFPN,
)
from .yolov7 import (
    YOLOv7Backbone,
    YOLOv7Head,
    YOLOv7HeadModule,
    YOLOv7p6HeadModule,
    YOLOv7PAFPN,
)
from .yolov8 import YOLOv8CSPDarknet, YOLOv8Head, YOLOv8HeadModule, YOLOv8PAFPN
from .yolox import YOLOXPAFPN, YOLOXCSPDarknet, YOLOXHead, YOLOXHeadModule

__all__ = [
    "DEPLOY_NOTE",
    "MODELS",
    "PPYOLOECSPPAFPN",
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
    "PPYOLOECSPResNet",
    "PPYOLOEDetDataPreprocessor",
    "PPYOLOEHead",
    "PPYOLOEHeadModule",
    "RTMDetHead",
    "RTMDetInsSepBNHead",
    "RTMDetInsSepBNHeadModule",
    "RTMDetSepBNHeadModule",
    "RepVGGBlock",
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
    "YOLOv5InsHead",
    "YOLOv5InsHeadModule",
    "YOLOv5PAFPN",
    "YOLOv6CSPBep",
    "YOLOv6CSPRepBiPAFPN",
    "YOLOv6CSPRepPAFPN",
    "YOLOv6EfficientRep",
    "YOLOv6Head",
    "YOLOv6HeadModule",
    "YOLOv6RepBiPAFPN",
    "YOLOv6RepPAFPN",
    "YOLOv7Backbone",
    "YOLOv7Head",
    "YOLOv7HeadModule",
    "YOLOv7PAFPN",
    "YOLOv7p6HeadModule",
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
