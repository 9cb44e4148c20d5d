"""Peak dense FLOP/s and memory bandwidth of a few GPUs, from their vendor's datasheets.

Every figure is the datasheet's dense number (NVIDIA prints tensor-core figures "with
sparsity"; dense is half of those). docs/memory.md lists the figures with their documents.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .quantities import parse_si

if TYPE_CHECKING:  # torch is imported where a peak is asked for: parsing needs no torch
    import torch

TERA = 1e12
GIGA = 1e9


@dataclass(frozen=True)
class DeviceSpec:
    """Peak dense FLOP/s per dtype and memory bandwidth in bytes/s."""

    name: str
    fp32: float  # CUDA cores, no tensor cores
    tf32: float | None  # tensor cores on fp32 data; None where the chip has none
    bf16: float | None
    fp16: float
    bandwidth: float
    source: str  # the document the figures come from
    memory: float | None = None  # device memory in bytes (the datasheet's GB, 10^9 bytes)

    def peak(self, dtype: torch.dtype | None, matmul: bool) -> float:
        """FLOP/s an op of `dtype` can reach: tensor cores for the matmul family only."""
        import torch

        if not matmul:
            return self.fp32
        if dtype == torch.float16:
            return self.fp16
        if dtype == torch.bfloat16:
            return self.bf16 or self.fp32  # no bf16 units (T4): emulated at best at fp32
        if dtype == torch.float32:
            return self.tf32 or self.fp32  # TF32 may be used: keeps the estimate a lower bound
        return self.fp32


DEVICES: dict[str, DeviceSpec] = {
    spec.name: spec
    for spec in (
        DeviceSpec(
            "H100 SXM",
            fp32=67 * TERA,
            tf32=989 / 2 * TERA,
            bf16=1979 / 2 * TERA,
            fp16=1979 / 2 * TERA,
            bandwidth=3.35 * TERA,
            source="NVIDIA H100 Tensor Core GPU datasheet (H100 SXM column)",
            memory=80 * GIGA,
        ),
        DeviceSpec(
            "H200",
            fp32=67 * TERA,
            tf32=989 / 2 * TERA,
            bf16=1979 / 2 * TERA,
            fp16=1979 / 2 * TERA,
            bandwidth=4.8 * TERA,
            source="NVIDIA H200 Tensor Core GPU datasheet (H200 SXM column)",
            memory=141 * GIGA,
        ),
        DeviceSpec(
            "A100 80GB",
            fp32=19.5 * TERA,
            tf32=156 * TERA,
            bf16=312 * TERA,
            fp16=312 * TERA,
            bandwidth=2039 * GIGA,
            source="NVIDIA A100 Tensor Core GPU datasheet (A100 80GB SXM column)",
            memory=80 * GIGA,
        ),
        DeviceSpec(
            "L4",
            fp32=30.3 * TERA,
            tf32=120 / 2 * TERA,
            bf16=242 / 2 * TERA,
            fp16=242 / 2 * TERA,
            bandwidth=300 * GIGA,
            source="NVIDIA L4 Tensor Core GPU datasheet",
            memory=24 * GIGA,
        ),
        DeviceSpec(
            "T4",
            fp32=8.1 * TERA,
            tf32=None,
            bf16=None,
            fp16=65 * TERA,
            bandwidth=320 * GIGA,
            source="NVIDIA T4 Tensor Core GPU datasheet (mixed precision FP16/FP32 figure)",
            memory=16 * GIGA,
        ),
        DeviceSpec(
            "RTX 4090",
            fp32=82.6 * TERA,
            tf32=82.6 * TERA,
            bf16=165.2 * TERA,
            fp16=165.2 * TERA,
            bandwidth=1008 * GIGA,
            source="NVIDIA Ada GPU Architecture whitepaper, GeForce RTX 4090 table "
            "(tensor figures with FP32 accumulate)",
            memory=24 * GIGA,
        ),
    )
}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_EXAMPLES = {
    "flops": "989T",
    "fp32": "67T",
    "tf32": "494.5T",
    "bf16": "989.5T",
    "fp16": "989.5T",
    "bandwidth": "3.35T",
    "memory": "80G",
}


def _number(field: str, text: str) -> float:
    try:
        value = parse_si(text)  # 1e400 is refused there: its times would be 0, its JSON invalid
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise ValueError(
            f"{field}={text!r} is not a positive finite number; write e.g. "
            f"{field}={_EXAMPLES[field]}"
        )
    return value


def parse_device_spec(text: str) -> DeviceSpec:
    """A device of the table by name (any case, spaces optional), or `flops=...,bandwidth=...`.

    A custom spec gives `flops` (FLOP/s for every dtype) or per-dtype `fp32`, `tf32`, `bf16`,
    `fp16`, `bandwidth` in bytes/s and optionally `memory` in bytes; numbers take a k/M/G/T/P suffix (powers of 1000).
    """
    if "=" not in text:
        wanted = _key(text)
        for name, spec in DEVICES.items():
            if _key(name) == wanted:
                return spec
        known = ", ".join(DEVICES)
        raise ValueError(
            f"unknown device {text!r}; use one of: {known}, or flops=...,bandwidth=..."
        )
    values: dict[str, float] = {}
    allowed = ("flops", "fp32", "tf32", "bf16", "fp16", "bandwidth", "memory")
    for part in filter(None, (p.strip() for p in text.split(","))):
        field, _, value = part.partition("=")
        field = field.strip().lower()
        if field not in allowed:
            raise ValueError(
                f"unknown device-spec field {field!r}; use {', '.join(allowed)} "
                "(e.g. flops=989T,bandwidth=3.35T)"
            )
        if field in values:
            raise ValueError(f"device spec {text!r} gives {field}= twice; give it once")
        values[field] = _number(field, value)
    if "bandwidth" not in values or not ({"flops", "fp32"} & values.keys()):
        raise ValueError(
            f"device spec {text!r} needs flops= (or fp32=) and bandwidth=, "
            "e.g. flops=989T,bandwidth=3.35T"
        )
    flops = values.get("flops", values.get("fp32", 0.0))
    return DeviceSpec(
        name=f"custom ({text})",
        fp32=values.get("fp32", flops),
        tf32=values.get("tf32", flops),
        bf16=values.get("bf16", flops),
        fp16=values.get("fp16", flops),
        bandwidth=values["bandwidth"],
        source="given on the command line",
        memory=values.get("memory"),
    )
