"""The deploy form: what MMYOLO's get_flops counts.

MMYOLO's ``tools/analysis_tools/get_flops.py`` calls ``mmyolo.utils.switch_to_deploy(model)``
before counting, which re-parameterizes every RepVGG-style block (a 3x3 conv, a 1x1 conv and
an identity branch, each with its BN) into the single 3x3 conv that inference runs. Here the
step is generic: every module that has a ``switch_to_deploy()`` method is switched, so a brick
only has to implement that method to take part.
"""

from __future__ import annotations

from collections import Counter

from torch import nn

__all__ = ["DEPLOY_NOTE", "deploy_note", "switch_to_deploy"]

#: How the output says that the deploy form was counted.
DEPLOY_NOTE = "RepVGG blocks fused, as MMYOLO's get_flops does"


def switch_to_deploy(model: nn.Module) -> dict[str, int]:
    """Switch every submodule that has a ``switch_to_deploy`` method to its deploy form.

    Returns how many modules of each class were switched (empty when the model has none, e.g.
    RTMDet, YOLOv5, YOLOv8, YOLOX). The candidates are collected before any is switched, since
    switching replaces submodules; each is switched once, outermost first.
    """
    candidates = [
        (name, module)
        for name, module in model.named_modules()
        if callable(getattr(module, "switch_to_deploy", None))
    ]
    switched: Counter[str] = Counter()
    for _, module in candidates:
        module.switch_to_deploy()
        switched[type(module).__name__] += 1
    return dict(switched)


def deploy_note(switched: dict[str, int]) -> str | None:
    """One line for the report saying what was fused, or None when nothing was."""
    if not switched:
        return None
    counts = ", ".join(f"{count} {name}" for name, count in sorted(switched.items()))
    return f"Deploy form: {DEPLOY_NOTE} ({counts} switched; --training-form keeps them)"
