"""What a target is (`TargetSpec`), what loading it gives (`Loaded`), and its error type.

Imports nothing heavy: the CLI's error handler checks `TargetError` after a Ctrl-C that may
have left torch half imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_SHAPE = (640, 640)  # MMYOLO configs: what MMYOLO's get_flops feeds
DEFAULT_IMAGE = (224, 224)  # plain files and import specs: the ImageNet size
DEFAULT_SEQ_LEN = 512  # config.json models; BERT-style encoders allow no more
DTYPES = (
    "float32 float float16 half bfloat16 float64 double int64 long int32 int int16 int8 uint8 bool"
).split()
# Where a model and its inputs are built: "meta" allocates no weights (shapes only).
BUILD_DEVICES = ("meta", "cpu", "cuda")


class TargetError(Exception):
    """The target cannot be loaded as given: a one-line message naming the problem and the
    fix (the CLI prints it and exits 2)."""


@dataclass(frozen=True)
class TensorSpec:
    """One input tensor: `--input SHAPE[:DTYPE]`."""

    shape: tuple[int, ...]
    dtype: str = "float32"


@dataclass(frozen=True)
class InputRequest:
    """The inputs and factory arguments asked for (image size and config options apart)."""

    inputs: tuple[TensorSpec, ...] = ()
    seq_len: int | None = None
    batch: int | None = None
    model_args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetSpec:
    """What to load: a config, model file, `package.module:factory` or config.json, and how.

    A config's model is switched to its deploy form, as MMYOLO's get_flops does, unless
    `training_form`.
    """

    target: str
    shape: tuple[int, int] | None = None  # image (height, width); None: the kind's default
    cfg_options: Mapping[str, Any] = field(default_factory=dict)  # parsed key=value overrides
    request: InputRequest = field(default_factory=InputRequest)
    training_form: bool = False
    device: str = "cpu"  # one of BUILD_DEVICES


@dataclass
class Loaded:
    model: Any  # nn.Module, in eval mode
    inputs: Any  # what `analyze` feeds to model(*inputs)
    input_label: str  # for the summary block's `Input shape:` line
    notes: list[str] = field(default_factory=list)
    # (batch, sequence length) when the first input is token ids: flops per token
    tokens: tuple[int, int] | None = None
    default_seq_len: bool = False  # the sequence length is DEFAULT_SEQ_LEN, not given


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
