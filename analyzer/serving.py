"""What serving a causal LM costs: the KV cache, one decode step's traffic, and the summary.

Pure arithmetic on a traced decode step and its prefill (both `Report`s), a cache layout
and a device: no tracing here. The layout comes from the model's own cache classes
(`targets`), so KV heads, head dims and sliding windows are whatever the model makes.

The KV cache "at N" is what a serving engine keeps for a context of N tokens: N per full
attention layer, min(N, window) per sliding-window layer (transformers' DynamicCache keeps
window - 1 between steps and appends the new token; a static cache allocates the window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from .datasheets import DeviceSpec
from .report import Report
from .roofline import COMPUTE, MATMUL_OPS, MEMORY, op_time


@dataclass(frozen=True)
class CacheLayer:
    """One attention layer's KV cache: [batch, kv_heads, tokens, key_dim] and the values'."""

    kv_heads: int
    key_dim: int
    value_dim: int
    window: int | None  # tokens a sliding-window layer keeps; None: grows with the context
    held_before_step: int  # tokens its DynamicCache layer holds when the step starts

    def tokens_at(self, context: int) -> int:
        return min(context, self.window) if self.window else context

    def elements_per_token(self) -> int:
        """Key and value elements one token adds, per sequence."""
        return self.kv_heads * (self.key_dim + self.value_dim)


@dataclass(frozen=True)
class KVCache:
    """The cache of a decode step: its layers, batch, context and element dtype."""

    layers: tuple[CacheLayer, ...]
    batch: int
    context: int
    dtype: str  # how it is stored (--kv-dtype), default the model's
    compute_dtype: str  # the dtype the traced step made its keys and values in
    max_positions: int | None = None  # the model's position limit (max_position_embeddings)

    @property
    def element_bytes(self) -> int:
        return _itemsize(self.dtype)

    @property
    def scale(self) -> float:
        """Stored bytes per traced byte of cache (1 unless --kv-dtype differs)."""
        return self.element_bytes / _itemsize(self.compute_dtype)

    def bytes_at(self, context: int | None = None, batch: int | None = None) -> int:
        """Bytes the cache holds after `context` tokens for `batch` sequences."""
        context = self.context if context is None else context
        batch = self.batch if batch is None else batch
        elements = sum(
            layer.elements_per_token() * layer.tokens_at(context) for layer in self.layers
        )
        return batch * elements * self.element_bytes

    def bytes_per_token(self) -> int:
        """Bytes one more token adds to one sequence's cache while no window is full."""
        return sum(layer.elements_per_token() for layer in self.layers) * self.element_bytes

    @property
    def windows(self) -> tuple[int, ...]:
        return tuple(sorted({layer.window for layer in self.layers if layer.window}))

    def to_dict(self) -> dict[str, Any]:
        first = self.layers[0]
        uniform = all(layer == first for layer in self.layers)
        return {
            "context": self.context,
            "batch": self.batch,
            "dtype": self.dtype,
            "layers": len(self.layers),
            "kv_heads": first.kv_heads if uniform else None,
            "head_dim": first.key_dim if uniform and first.key_dim == first.value_dim else None,
            "sliding_windows": list(self.windows),
            "bytes_per_token": self.bytes_per_token(),
            "bytes": self.bytes_at(),
        }


def _itemsize(name: str) -> int:
    return getattr(torch, name).itemsize


@dataclass(frozen=True)
class Traffic:
    """Bytes a step moves per module (descendants included), and its roofline split."""

    names: tuple[str, ...]
    bytes_read: tuple[int, ...]
    bytes_written: tuple[int, ...]
    weight_bytes_read: tuple[int, ...]
    kv_bytes_read: tuple[int, ...]
    kv_bytes_written: tuple[int, ...]
    compute_seconds: tuple[float, ...] | None  # None without a device
    memory_seconds: tuple[float, ...] | None

    def seconds(self, position: int = 0) -> float | None:
        if self.compute_seconds is None or self.memory_seconds is None:
            return None
        return self.compute_seconds[position] + self.memory_seconds[position]

    def bound(self, position: int = 0) -> str:
        seconds = self.seconds(position)
        if not seconds or self.compute_seconds is None or self.memory_seconds is None:
            return ""
        return (
            COMPUTE if self.compute_seconds[position] >= self.memory_seconds[position] else MEMORY
        )

    def module_dict(self, position: int) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "bytes_read": self.bytes_read[position],
            "bytes_written": self.bytes_written[position],
            "weight_bytes_read": self.weight_bytes_read[position],
            "kv_bytes_read": self.kv_bytes_read[position],
            "kv_bytes_written": self.kv_bytes_written[position],
        }
        if self.compute_seconds is not None:
            entry["roofline_seconds"] = self.seconds(position)
            entry["bound"] = self.bound(position)
        return entry


def traffic(report: Report, cache: KVCache | None, device: DeviceSpec | None) -> Traffic:
    """Per module bytes of a traced step; KV bytes scaled to the cache's stored dtype."""
    count = len(report.modules)
    read, written, weights, kv_read, kv_written = ([0] * count for _ in range(5))
    compute = [0.0] * count
    memory = [0.0] * count
    scale = cache.scale if cache else 1.0
    for op in report.memory.ops if report.memory else ():
        kv_in = round(op.kv_bytes_read * scale)
        kv_out = round(op.kv_bytes_written * scale)
        op_read = op.bytes_read - op.kv_bytes_read + kv_in
        op_written = op.bytes_written - op.kv_bytes_written + kv_out
        position = op.position
        read[position] += op_read
        written[position] += op_written
        weights[position] += op.weight_bytes_read
        kv_read[position] += kv_in
        kv_written[position] += kv_out
        if device is not None:
            peak = device.peak(op.dtype, op.op in MATMUL_OPS)
            seconds, bound = op_time(op.flops, op_read + op_written, peak, device.bandwidth)
            (compute if bound == COMPUTE else memory)[position] += seconds
    series: list[list[Any]] = [read, written, weights, kv_read, kv_written, compute, memory]
    for position in range(count - 1, 0, -1):  # children come after their parents
        parent = report.modules[position].parent
        for values in series:
            values[parent] += values[position]
    return Traffic(
        names=tuple(info.name for info in report.modules),
        bytes_read=tuple(read),
        bytes_written=tuple(written),
        weight_bytes_read=tuple(weights),
        kv_bytes_read=tuple(kv_read),
        kv_bytes_written=tuple(kv_written),
        compute_seconds=tuple(compute) if device else None,
        memory_seconds=tuple(memory) if device else None,
    )


@dataclass(frozen=True)
class Fit:
    """What fits the device's memory beside the weights (activations not included)."""

    memory_bytes: float
    weight_bytes: int
    max_batch_at_context: int  # sequences of `context` tokens; 0 if not even one
    max_context_at_batch: int | None  # tokens per sequence at `batch`; None: unbounded
    free_bytes: float
    by_positions: bool = False  # max_context_at_batch is the model's position limit


def fit(cache: KVCache, weight_bytes: int, memory_bytes: float) -> Fit:
    """The largest batch at the cache's context, and the longest context at its batch."""
    free = memory_bytes - weight_bytes
    one = cache.bytes_at(batch=1)
    max_batch = max(0, math.floor(free / one)) if one else 0
    per_token = cache.batch * cache.bytes_per_token()
    max_context: int | None
    if free <= 0:
        max_context = 0
    elif cache.windows and all(layer.window for layer in cache.layers):
        # Every layer stops growing at its window: any context fits if the windows do.
        largest = max(cache.windows)
        max_context = None if cache.bytes_at(largest) <= free else _longest(cache, free)
    else:
        max_context = _longest(cache, free) if per_token else None
    limit = cache.max_positions
    if limit is not None and (max_context is None or max_context > limit):
        return Fit(memory_bytes, weight_bytes, max_batch, limit, free, by_positions=True)
    return Fit(memory_bytes, weight_bytes, max_batch, max_context, free)


def _longest(cache: KVCache, free: float) -> int:
    """The most tokens whose cache fits `free` bytes at the cache's batch (bisection)."""
    low, high = 0, 1
    while cache.bytes_at(high) <= free:
        low, high = high, high * 2
        if high > 1 << 40:
            return high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if cache.bytes_at(middle) <= free else (low, middle)
    return low


@dataclass(frozen=True)
class Serving:
    """Prefill and decode side by side, as the summary and JSON show them."""

    prefill_tokens: tuple[int, int]  # (batch, sequence length) of the prefill
    prefill_flops: int
    decode_flops: int
    cache: KVCache
    weight_bytes: int
    decode_bytes: int  # read + written by one decode step (KV at its stored dtype)
    time_to_first_token: float | None  # prefill roofline seconds
    seconds_per_step: float | None  # decode roofline seconds
    decode_bound: str
    fit: Fit | None
    step: Traffic  # the decode step's bytes (and times) per module
    device: DeviceSpec | None
    notes: tuple[str, ...] = ()  # what the step assumes (the cache class, windows, experts)

    @property
    def tokens_per_second(self) -> float | None:
        """Tokens per second over the batch (a bound: the roofline is a lower bound)."""
        if not self.seconds_per_step:
            return None
        return self.cache.batch / self.seconds_per_step

    def to_dict(self) -> dict[str, Any]:
        fit = self.fit
        return {
            "prefill": {
                "batch": self.prefill_tokens[0],
                "seq_len": self.prefill_tokens[1],
                "flops": self.prefill_flops,
                "time_to_first_token_seconds": self.time_to_first_token,
            },
            "decode": {
                "batch": self.cache.batch,
                "context": self.cache.context,
                "flops": self.decode_flops,
                "bytes_moved": self.decode_bytes,
                "seconds_per_step": self.seconds_per_step,
                "tokens_per_second": self.tokens_per_second,
                "bound": self.decode_bound,
            },
            "kv_cache": self.cache.to_dict(),
            "weight_bytes": self.weight_bytes,
            "notes": list(self.notes),
            "fit": None
            if fit is None
            else {
                "memory_bytes": fit.memory_bytes,
                "max_batch_at_context": fit.max_batch_at_context,
                "max_context_at_batch": fit.max_context_at_batch,
                "max_context_is_the_position_limit": fit.by_positions,
                "note": "weights + KV cache only: activations and the runtime's own memory "
                "are not included",
            },
        }


def serving(
    prefill: Report,
    decode: Report,
    cache: KVCache,
    device: DeviceSpec | None,
    prefill_tokens: tuple[int, int],
    notes: tuple[str, ...] = (),
) -> Serving:
    from .roofline import roofline

    step = traffic(decode, cache, device)
    weights = decode.total("param_bytes")
    ttft = roofline(prefill, device).seconds() if device else None
    fits = fit(cache, weights, device.memory) if device and device.memory else None
    return Serving(
        prefill_tokens=prefill_tokens,
        prefill_flops=prefill.total("flops"),
        decode_flops=decode.total("flops"),
        cache=cache,
        weight_bytes=weights,
        decode_bytes=step.bytes_read[0] + step.bytes_written[0],
        time_to_first_token=ttft,
        seconds_per_step=step.seconds(0),
        decode_bound=step.bound(0),
        fit=fits,
        step=step,
        device=device,
        notes=notes,
    )
