"""`--device`: where the model is built and traced, and the rebuild when meta is not enough.

`auto` (default) and `meta` build configs, factories and `inputs()` under
`torch.device("meta")`: no weights are allocated and nothing is initialised. The trace then
needs shapes only. If the forward needs values (`nonzero`, `.item()`, masks), `auto`
rebuilds on cpu and traces real tensors, and the report says so; `meta` stops with the
analysis error. `cpu` and `cuda` build there and trace real tensors.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from .isolation import FORWARD_EXIT_HINT, LOADING_EXIT_HINT, user_code
from .loading import InputRequest, Loaded, building_on, load
from .validation import BUILD_DEVICES, check_build_device

DEVICES = BUILD_DEVICES
check_device = check_build_device  # one check, in validation.py


def load_and_analyze(
    target: str,
    shape: tuple[int, int] | None,
    options: dict[str, Any],
    convention: str,
    device: str = "auto",
    request: InputRequest | None = None,
    *,
    training_form: bool = False,
    memory: bool = True,
) -> tuple[Loaded, Any]:
    """Build `target` for `device` and analyse it once: (what was loaded, the Report).
    A config's model is counted in deploy form unless `training_form` (see `load`);
    `memory=False` skips the memory walk (`analyze`'s `memory`).

    An `AnalysisError` carries `.tokens` (the token-id input shape, if any) for hints.
    """
    from complexity.analyzer import AnalysisError, analyze
    from complexity.analyzer.meta import conv_meta_reroute

    check_device(device)

    def loaded_on(device: str | None) -> Loaded:
        # The user's code prints to stderr, sees its own argv, and may not sys.exit.
        where = building_on(device) if device else contextlib.nullcontext()
        # A preprocessor may run on meta while inputs are built: the same shape-only kernels.
        kernels = conv_meta_reroute() if device == "meta" else contextlib.nullcontext()
        with where, kernels, user_code(target, "loading it", LOADING_EXIT_HINT):
            return load(target, shape, options, request, training_form=training_form)

    def traced(loaded: Loaded, meta: bool) -> Any:
        try:
            with user_code(target, "running its forward", FORWARD_EXIT_HINT):
                return analyze(
                    loaded.model, loaded.inputs, convention=convention, meta=meta, memory=memory
                )
        except AnalysisError as error:
            error.tokens = loaded.tokens
            raise

    if device in ("cpu", "cuda"):
        loaded = loaded_on(device)
        return loaded, traced(loaded, meta=False)
    loaded = loaded_on("meta")
    try:
        return loaded, traced(loaded, meta=True)
    except AnalysisError as error:
        if device == "meta" or not error.value_needed:
            raise
        reason = error.reason
    # The forward needs values that a model built on meta does not have: build it for real.
    loaded = loaded_on(None)
    report = traced(loaded, meta=False)
    return loaded, dataclasses.replace(report, fallback_reason=reason)
