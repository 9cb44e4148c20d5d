"""Where the model is built and traced, and the rebuild when meta is not enough.

`auto` and `meta` build configs, factories and `inputs()` under `torch.device("meta")`: no
weights are allocated and nothing is initialised. The trace then needs shapes only. If the
forward needs values (`nonzero`, `.item()`, masks), `auto` rebuilds on cpu and traces real
tensors, and the report says so; `meta` stops with the analysis error. `cpu` and `cuda`
build there and trace real tensors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import re
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .isolation import FORWARD_EXIT_HINT, LOADING_EXIT_HINT, user_code
from .load import load_target
from .size_guard import ANNOUNCE_FROM, estimate
from .spec import BUILD_DEVICES, Loaded, TargetError, TargetSpec, first_line

# What `--device` accepts: a place to build (BUILD_DEVICES), or auto (meta; cpu if values matter).
DEVICE_CHOICES = ("auto", *BUILD_DEVICES)


def _torch_build_has_gpu() -> bool:
    """Whether the installed torch was built for CUDA or ROCm, read without importing it
    (torch/version.py says `cuda = None` and `hip = None` in a CPU-only build)."""
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


def check_device(device: str) -> str:
    """`--device`: a known name, and `cuda` only where torch can reach a GPU. A CPU-only
    torch is recognised without importing it (seconds), so the error comes at once."""
    if device not in DEVICE_CHOICES:
        raise TargetError(f"unknown --device {device!r}; use one of: {', '.join(DEVICE_CHOICES)}")
    if device == "cuda":
        if not _torch_build_has_gpu():
            raise TargetError(
                "--device cuda: this torch is a CPU-only build; use --device cpu or auto"
            )
        import torch  # a GPU build: only torch knows whether a device is there

        if not torch.cuda.is_available():
            raise TargetError(
                "--device cuda: torch sees no CUDA device here; use --device cpu or auto"
            )
    return device


@contextlib.contextmanager
def _openmmlab_deprecations_quiet() -> Iterator[None]:
    """OpenMMLab's own code calls torch APIs torch has deprecated (mmdet's SE layer runs
    `torch.cuda.amp.autocast` in every forward): their FutureWarnings say nothing about the
    user's model, so they are not printed over the report. Anything else still is."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=FutureWarning, module=r"(mmdet|mmyolo|mmcv|mmengine)(\.|$)"
        )
        yield


def _building(show: Callable[[str], None]) -> Callable[[int], None]:
    return lambda count: show(f"building: {count:,} modules so far")


def _analysing(show: Callable[[str], None]) -> Callable[[str, int, int], None]:
    """`analyze`'s progress as a line of text: how far, of how much, and the time left at
    the pace so far."""
    from complexity.analyzer.tracing import TRACING

    started: dict[str, float] = {}

    def report(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        elapsed = now - started.setdefault(stage, now)
        what = "modules traced" if stage == TRACING else "graph nodes walked"
        left = ""
        if done and elapsed >= 0.5:
            seconds = elapsed / done * (total - done)
            left = f", about {seconds:.0f} s left" if seconds >= 1 else ", under a second left"
        show(f"{done:,} of {total:,} {what} ({done / max(total, 1):.0%}){left}")

    return report


def load_and_analyze(
    spec: TargetSpec,
    convention: str,
    device: str = "auto",
    *,
    memory: bool = True,
    train_step: Any = None,
    notify: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Loaded, Any]:
    """Build `spec` for `device` (in DEVICE_CHOICES; `spec.device` is replaced) and analyse it
    once: (what was loaded, the Report). `memory=False` skips the memory walk
    (`analyze`'s `memory`); `train_step` (a `TrainStep`) adds the backward of a training
    step; a freeze pattern that names no parameter is a `TargetError` (bad input).
    `notify(message)` hears about long work: modules built so far, and what tracing a big
    model will take (from ANNOUNCE_FROM modules on). `progress(text)` is for a display
    that replaces its text (a terminal's spinner): modules built so far, and from
    ANNOUNCE_FROM modules on, modules traced and graph nodes walked with the time left.

    An embedding fed floats (no token-id input) gets an `AnalysisError` that says how to
    give token ids.
    """
    from complexity.analyzer import AnalysisError, analyze
    from complexity.analyzer.backward import FreezeError
    from complexity.analyzer.meta import conv_meta_reroute

    check_device(device)
    target = spec.target

    def loaded_on(device: str) -> Loaded:
        # The user's code prints to stderr, sees its own argv, and may not sys.exit.
        # A preprocessor may run on meta while inputs are built: the same shape-only kernels.
        kernels = conv_meta_reroute() if device == "meta" else contextlib.nullcontext()
        built = None if progress is None else _building(progress)
        with (
            kernels,
            _openmmlab_deprecations_quiet(),
            user_code(target, "loading it", LOADING_EXIT_HINT),
        ):
            loaded = load_target(dataclasses.replace(spec, device=device), built)
        modules = sum(1 for _ in loaded.model.modules())
        if notify is not None and modules >= ANNOUNCE_FROM:
            notify(f"tracing {modules:,} modules: {estimate(modules)}")
        return loaded

    def traced(loaded: Loaded, meta: bool) -> Any:
        big = progress is not None and sum(1 for _ in loaded.model.modules()) >= ANNOUNCE_FROM
        try:
            with (
                _openmmlab_deprecations_quiet(),
                user_code(target, "running its forward", FORWARD_EXIT_HINT),
            ):
                return analyze(
                    loaded.model,
                    loaded.inputs,
                    convention=convention,
                    meta=meta,
                    memory=memory,
                    train_step=train_step or False,
                    kwargs=loaded.kwargs,
                    progress=_analysing(progress) if big and progress is not None else None,
                )
        except AnalysisError as error:
            if loaded.tokens is None and "'indices'" in str(error):  # an embedding fed floats
                raise error.restated(
                    f"{error}; the model takes token ids: give --seq-len N or --input SHAPE:int64"
                ) from error
            raise
        except FreezeError as error:
            raise TargetError(str(error)) from None

    if device in ("cpu", "cuda"):
        loaded = loaded_on(device)
        return loaded, traced(loaded, meta=False)
    try:
        loaded = loaded_on("meta")
    except RuntimeError as error:
        # A build step that reads a value (mmyolo's RepVGG `switch_to_deploy` tests
        # `if self.alpha:`) cannot run on meta: under auto, build it for real instead.
        if device == "meta" or "meta tensor" not in str(error):
            raise
        reason = f"the build reads one ({first_line(error)})"
    else:
        try:
            return loaded, traced(loaded, meta=True)
        except AnalysisError as error:
            if device == "meta" or not error.value_needed:
                raise
            reason = error.reason
    # The model needs values that a model built on meta does not have: build it for real.
    loaded = loaded_on("cpu")
    report = traced(loaded, meta=False)
    return loaded, dataclasses.replace(report, fallback_reason=reason)
