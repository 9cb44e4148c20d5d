"""What to render: one object from the command line (or a script) to the renderers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # both import torch; the command line builds options before it
    from complexity.analyzer.datasheets import DeviceSpec
    from complexity.analyzer.serving import Serving


@dataclass(frozen=True)
class RenderOptions:
    """The sections to print and how; the defaults print what MMYOLO's get_flops prints."""

    depth: int = 3  # table rows and tree levels below the model
    table: bool = True  # the per-module table
    markdown: bool = False  # that table as MMYOLO's markdown (get_flops.py), not a box table
    arch: bool = False  # the model printout with `#params, #flops, #acts` (--show-arch)
    tree: bool = False  # the module tree with each node's statistics
    by_operator: bool = False  # flops per operator type
    all_uncounted: bool = False  # every uncounted operator with where it ran, not a summary
    memory: bool = False  # param/activation bytes and peak activation columns (--memory)
    device: DeviceSpec | None = None  # roofline time columns on this device (--device-spec)
    serving: Serving | None = None  # --decode: the step's bytes columns, prefill vs decode
    # How advice names the convention option: get_flops.py takes none, so it points to the
    # command that does ("complexity analyze --convention").
    convention_option: str = "--convention"
