"""One validation step for `analyze`, `compare` and `sweep`: every option, before any model.

Everything here is torch-free (torch takes seconds to import): a typo in an option, a
missing file or `--device cuda` on a CPU-only torch is reported in a blink. Each check
raises `UsageError` with one line naming the problem and the fix.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .loading import (
    InputRequest,
    UsageError,
    check_target,
    parse_cfg_options,
    parse_input,
    parse_model_args,
    parse_shape,
)

# The built-in conventions (complexity.analyzer.CONVENTIONS, which needs torch to import;
# a test holds the two equal).
CONVENTION_NAMES = ("fvcore", "flops", "macs")
BUILD_DEVICES = ("auto", "meta", "cpu", "cuda")


@dataclass(frozen=True)
class TargetOptions:
    """What the command line says about building one target, as typed."""

    shape: Sequence[str] | None = None
    inputs: Sequence[str] | None = None
    seq_len: int | None = None
    batch: int | None = None
    model_args: Sequence[str] | None = None
    cfg_options: Sequence[str] | None = None
    training_form: bool = False


@dataclass(frozen=True)
class CheckedTarget:
    """One target with its options parsed and checked: what `load_and_analyze` takes."""

    target: str
    kind: str  # "spec", "json", "mmyolo" or "python" (loading.check_target)
    size: tuple[int, int] | None
    cfg_options: Mapping[str, Any] = field(default_factory=dict)
    request: InputRequest = field(default_factory=InputRequest)
    training_form: bool = False


def check_convention(convention: str) -> str:
    if convention not in CONVENTION_NAMES:
        raise UsageError(
            f"unknown --convention {convention!r}; use one of: {', '.join(CONVENTION_NAMES)}"
        )
    return convention


def check_depth(depth: int) -> int:
    if depth < 0:
        raise UsageError(f"--depth {depth} is negative; give 0 or more levels")
    return depth


def _torch_build_has_gpu() -> bool:
    """Whether the installed torch was built for CUDA or ROCm, read without importing it."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return False
    version_file = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    try:
        text = version_file.read_text(encoding="utf-8")
    except OSError:
        return True  # cannot tell: let torch answer
    return not all(
        re.search(rf"^{name}\s*(?::[^=]*)?=\s*None\s*$", text, re.M) for name in ("cuda", "hip")
    )


def check_build_device(device: str) -> str:
    """`--device`: a known name, and `cuda` only where torch can reach a GPU."""
    if device not in BUILD_DEVICES:
        raise UsageError(f"unknown --device {device!r}; use one of: {', '.join(BUILD_DEVICES)}")
    if device == "cuda":
        if not _torch_build_has_gpu():
            raise UsageError(
                "--device cuda: this torch is a CPU-only build; use --device cpu or auto"
            )
        import torch  # a GPU build: only torch knows whether a device is there

        if not torch.cuda.is_available():
            raise UsageError(
                "--device cuda: torch sees no CUDA device here; use --device cpu or auto"
            )
    return device


def check_target_options(target: str, options: TargetOptions) -> CheckedTarget:
    """Parse and check one target's options, and the target itself (file, kind)."""
    size = parse_shape(list(options.shape) if options.shape else None)
    request = InputRequest(
        inputs=tuple(parse_input(spec) for spec in options.inputs or ()),
        seq_len=options.seq_len,
        batch=options.batch,
        model_args=parse_model_args(list(options.model_args or ())),
    )
    cfg_options = parse_cfg_options(list(options.cfg_options or ()))
    kind = check_target(target, size, cfg_options, request)
    return CheckedTarget(target, kind, size, cfg_options, request, options.training_form)


def check_seq_lens(checked: CheckedTarget, lengths: Sequence[int]) -> None:
    """Each sweep point against the positions a config.json's model has, before any build."""
    if checked.kind != "json" or not lengths:
        return
    from .huggingface import position_limit, seq_len_error
    from .loading import check_config_path

    limit, model_type = position_limit(
        check_config_path(checked.target), dict(checked.request.model_args)
    )
    for length in lengths:
        if limit and length > limit:
            raise seq_len_error("--seq-lens", length, limit, model_type)


def plotly_available() -> bool:
    """Whether plotly can be imported, without importing it (a few hundred ms)."""
    if "plotly" in sys.modules:
        return sys.modules["plotly"] is not None  # None: an import that is known to fail
    return importlib.util.find_spec("plotly") is not None
