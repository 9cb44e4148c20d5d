"""Roofline time of a forward per module: each kernel at its device's peak compute or bandwidth.

Per op: time = max(flops / peak FLOP/s, bytes moved / bandwidth), where flops are the `flops`
convention's (real floating-point operations, whatever convention the report displays) and
bytes moved = tensor inputs read (weights included) + outputs written. A module's time is
the sum over its ops; it is compute-bound when its compute-bound ops take most of it.

This is a lower bound: it ignores kernel-launch overheads, the time between kernels, caches
and the fusion a compiler would do (which removes memory traffic), and assumes every op
reaches the peak. docs/memory.md says more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .datasheets import DeviceSpec
from .formulas import MATMUL_OPS  # on tensor cores, where a chip has them for their dtype
from .memory import MemoryWalk, OpCost
from .report import Report

COMPUTE, MEMORY = "compute", "memory"
LOWER_BOUND_NOTE = (
    "roofline time is a lower bound: every op at peak FLOP/s or bandwidth, no launch "
    "overheads, no fusion"
)


def op_time(flops: int, bytes_moved: int, peak: float, bandwidth: float) -> tuple[float, str]:
    """(seconds, "compute" or "memory"): the roofline time of one op and what bounds it."""
    compute, memory = flops / peak, bytes_moved / bandwidth
    return (compute, COMPUTE) if compute > memory else (memory, MEMORY)


@dataclass(frozen=True)
class Roofline:
    """Roofline seconds per module (descendants included), split by what bounds each op."""

    device: DeviceSpec
    names: tuple[str, ...]
    compute_seconds: tuple[float, ...]  # time in compute-bound ops
    memory_seconds: tuple[float, ...]  # time in memory-bound ops

    def seconds(self, position: int = 0) -> float:
        return self.compute_seconds[position] + self.memory_seconds[position]

    def bound(self, position: int = 0) -> str:
        """What most of the module's time is bound by ("" if it has no ops)."""
        if self.seconds(position) == 0:
            return ""
        return (
            COMPUTE if self.compute_seconds[position] >= self.memory_seconds[position] else MEMORY
        )

    def by_module(self) -> dict[str, float]:
        return {name: self.seconds(i) for i, name in enumerate(self.names)}

    def to_dict(self) -> dict[str, Any]:
        spec = self.device
        return {
            "device": {
                "name": spec.name,
                "source": spec.source,
                "peak_flops_per_s": {
                    "fp32": spec.fp32,
                    "tf32": spec.tf32,
                    "bf16": spec.bf16,
                    "fp16": spec.fp16,
                },
                "bandwidth_bytes_per_s": spec.bandwidth,
            },
            "seconds": self.seconds(),
            "compute_bound_seconds": self.compute_seconds[0],
            "memory_bound_seconds": self.memory_seconds[0],
            "bound": self.bound(),
            "note": LOWER_BOUND_NOTE,
        }


class KernelCosts:
    """A collector of the analysis's walk: each kernel's real flops beside the bytes it moved.

    It reads the bytes from the memory collector, which must visit each node first;
    `real_flops(kind, node)` is the `flops` convention's count of the node (0 if none).
    """

    def __init__(self, memory: MemoryWalk, real_flops: Callable[[str, torch._C.Node], int]) -> None:
        self._memory = memory
        self._real_flops = real_flops
        self.ops: list[OpCost] = []

    def visit(self, index: int, node: torch._C.Node, kind: str, position: int) -> None:
        kernel = self._memory.kernel
        if kernel is None:
            return
        flops = self._real_flops(kind, node)
        self.ops.append(
            OpCost(
                position,
                kind,
                flops,
                kernel.bytes_read,
                kernel.bytes_written,
                kernel.dtype,
                weight_bytes_read=kernel.weight_bytes_read,
                kv_bytes_read=kernel.kv_bytes_read,
                kv_bytes_written=kernel.kv_bytes_written,
            )
        )


def roofline(report: Report, device: DeviceSpec) -> Roofline:
    """The roofline time of every module of `report` on `device` (no new trace)."""
    count = len(report.modules)
    compute = [0.0] * count
    memory = [0.0] * count
    ops = report.memory.ops if report.memory else ()
    for op in ops:
        peak = device.peak(op.dtype, op.op in MATMUL_OPS)
        seconds, bound = op_time(op.flops, op.bytes_read + op.bytes_written, peak, device.bandwidth)
        (compute if bound == COMPUTE else memory)[op.position] += seconds
    for position in range(count - 1, 0, -1):  # children come after their parents
        parent = report.modules[position].parent
        compute[parent] += compute[position]
        memory[parent] += memory[position]
    return Roofline(
        device=device,
        names=tuple(info.name for info in report.modules),
        compute_seconds=tuple(compute),
        memory_seconds=tuple(memory),
    )


def annotate(data: dict[str, Any], result: Roofline) -> None:
    """Add the roofline to a report's JSON (`Report.to_dict`): totals, modules, device."""
    data["roofline"] = result.to_dict()
    data["totals"]["roofline_seconds"] = result.seconds()
    for position, module in enumerate(data["modules"]):
        module["roofline_seconds"] = result.seconds(position)
        module["bound"] = result.bound(position)
