"""What a target is (`TargetSpec`), what loading it gives (`Loaded`), and its error type.

Imports nothing heavy: the CLI's error handler checks `TargetError` after a Ctrl-C that may
have left torch half imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SHAPE = (640, 640)  # MMYOLO configs: what MMYOLO's get_flops feeds
DEFAULT_IMAGE = (224, 224)  # plain files and import specs: the ImageNet size
DEFAULT_SEQ_LEN = 512  # config.json models; BERT-style encoders allow no more
DTYPES = (
    "float32 float float16 half bfloat16 float64 double int64 long int32 int int16 int8 uint8 bool"
).split()
# Building stops past this many modules unless raised (`--max-modules`): size_guard.py.
DEFAULT_MAX_MODULES = 20_000
# Where a model and its inputs are built: "meta" allocates no weights (shapes only).
BUILD_DEVICES = ("meta", "cpu", "cuda")


class TargetError(Exception):
    """The target cannot be loaded as given: a one-line message naming the problem and the
    fix (the CLI prints it and exits 2)."""


@dataclass(frozen=True)
class TensorSpec:
    """One input tensor: `--input [NAME=]SHAPE[:DTYPE]`; a named one is a keyword input."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    name: str | None = None


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
    builder: str = "auto"  # configs: "auto", "openmmlab" or "zoo" (builders.py)
    # Stop building past this many modules (None: no limit): see size_guard.py.
    max_modules: int | None = DEFAULT_MAX_MODULES


@dataclass(frozen=True)  # a new one with dataclasses.replace, never patched
class Loaded:
    model: Any  # nn.Module, in eval mode
    inputs: Any  # what `analyze` feeds to model(*inputs)
    input_label: str  # for the summary block's `Input shape:` line
    notes: list[str] = field(default_factory=list)
    # (batch, sequence length) when the first input is token ids: flops per token
    tokens: tuple[int, int] | None = None
    default_seq_len: bool = False  # the sequence length is DEFAULT_SEQ_LEN, not given
    built_by: Any = None  # configs: the builder and versions that built it (builders.BuiltBy)
    # Parameters one token runs through (Hugging Face configs): all of them, or for a
    # mixture of experts the shared ones and top-k of the routed experts.
    active_params: ActiveParams | None = None
    # Keyword inputs: model(*inputs, **kwargs)
    kwargs: dict[str, Any] = field(default_factory=dict)
    # Every local file the target read (the target, its `_base_` files, the modules a model
    # file imported from its folder): an export must not replace one of them.
    files_read: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ActiveParams:
    """Parameters per token: `count` of `total`, `top_k` of `experts` routed experts."""

    count: int
    total: int
    experts: int = 0
    top_k: int = 0


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
