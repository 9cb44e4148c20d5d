"""One validation step for `analyze`, `compare` and `sweep`: every option, before any model.

Everything here is torch-free (torch takes seconds to import): a typo in an option, a
missing file or `--device cuda` on a CPU-only torch is reported in a blink. Each check
raises `UsageError` (or the targets' `TargetError`) with one line naming the problem and the fix.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace

from complexity.targets import (
    InputRequest,
    TargetSpec,
    check_device,
    parse_cfg_options,
    parse_input,
    parse_model_args,
    parse_shape,
)
from complexity.targets.load import check_config_path, check_target

from .failures import UsageError

# The built-in conventions (complexity.analyzer.CONVENTIONS, which needs torch to import;
# a test holds the two equal).
CONVENTION_NAMES = ("fvcore", "flops", "macs")


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
    builder: str = "auto"  # configs: auto | openmmlab | zoo (targets/builders.py)
    max_modules: int | None = None  # --max-modules: stop building past this many (None: default)


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


def check_build_device(device: str) -> str:
    """`--device`: a known name, and `cuda` only where torch can reach a GPU."""
    return check_device(device)


def check_target_options(target: str, options: TargetOptions) -> TargetSpec:
    """Parse and check one target's options, and the target itself (file, kind)."""
    spec = TargetSpec(
        target,
        parse_shape(list(options.shape) if options.shape else None),
        parse_cfg_options(list(options.cfg_options or ())),
        InputRequest(
            inputs=tuple(parse_input(item) for item in options.inputs or ()),
            seq_len=options.seq_len,
            batch=options.batch,
            model_args=parse_model_args(list(options.model_args or ())),
        ),
        training_form=options.training_form,
        builder=options.builder,
    )
    if options.max_modules is not None:
        spec = replace(spec, max_modules=options.max_modules)
    check_target(spec)
    return spec


def check_seq_lens(spec: TargetSpec, lengths: Sequence[int], option: str = "--seq-lens") -> None:
    """Each sweep point against the positions a config.json's model has, before any build."""
    if not lengths or check_target(spec) != "json":
        return
    from complexity.targets.huggingface import position_limit, seq_len_error

    path = check_config_path(spec.target)
    limit, model_type = position_limit(path, dict(spec.request.model_args))
    for length in lengths:
        if limit and length > limit:
            raise seq_len_error(option, length, limit, model_type)


PLOTLY_MISSING = (
    'the HTML report needs plotly; install it with pip install "torch-complexity[html]"'
)


def plotly_available() -> bool:
    """Whether plotly can be imported, without importing it (a few hundred ms)."""
    if "plotly" in sys.modules:
        return sys.modules["plotly"] is not None  # None: an import that is known to fail
    return importlib.util.find_spec("plotly") is not None
