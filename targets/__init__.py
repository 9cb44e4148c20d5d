"""complexity.targets: turn what the user names into a model and its inputs.

    from complexity.targets import TargetSpec, load_target
    loaded = load_target(TargetSpec("configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py"))
    loaded.model, loaded.inputs  # an nn.Module in eval mode, what to feed it

A target is an MMYOLO-format config, a Python file that defines `model`, an import spec
`package.module:factory` or a Hugging Face `config.json`. `load_and_analyze` builds it on
the meta device where it can and analyses it once. Every problem is a `TargetError`: one
line naming it and the fix.
"""

from .analyze import DEVICE_CHOICES, check_device, load_and_analyze
from .inputs import parse_input, parse_model_args, parse_shape
from .load import files_named, load_target
from .openmmlab import parse_cfg_options
from .spec import (
    BUILD_DEVICES,
    DEFAULT_IMAGE,
    DEFAULT_MAX_MODULES,
    DEFAULT_SEQ_LEN,
    DEFAULT_SHAPE,
    InputRequest,
    Loaded,
    TargetError,
    TargetSpec,
    TensorSpec,
)

__all__ = [
    "BUILD_DEVICES",
    "DEFAULT_IMAGE",
    "DEFAULT_MAX_MODULES",
    "DEFAULT_SEQ_LEN",
    "DEFAULT_SHAPE",
    "DEVICE_CHOICES",
    "InputRequest",
    "Loaded",
    "TargetError",
    "TargetSpec",
    "TensorSpec",
    "check_device",
    "files_named",
    "load_and_analyze",
    "load_target",
    "parse_cfg_options",
    "parse_input",
    "parse_model_args",
    "parse_shape",
]
