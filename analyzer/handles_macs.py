"""The `macs` convention: multiply-adds of conv and matmul-family ops, and nothing else.

One multiply-add = 1. Counted: convolutions (any dims, transposed too), linear, addmm, mm,
bmm, baddbmm, matmul (with its 1-d forms mv and dot), einsum, _grouped_mm (MoE experts), and
scaled_dot_product_attention as its two matmuls (q @ k^T and p @ v). Bias and `beta * self`
adds, masks and causality do not change the count. This is what torchvision publishes as
its models' GFLOPS and what most papers call "FLOPs".

The formulas are the pure shape functions of `formulas.py`; the handlers here only pick
those shapes out of the node's inputs. Ops with no multiply-add (norms, elementwise,
softmax, pooling, interpolation, shape ops) are free (`IGNORED`); an op that may hide
multiply-adds (lstm, a custom autograd.Function, ...) is never free: it is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import handles_flops, handles_fvcore
from .formulas import (
    MATMUL_OPS,
    conv_macs,
    einsum_macs,
    grouped_mm_macs,
    linear_macs,
    matmul_macs,
    sdpa_macs,
)
from .registry import Args, HandlerTable

FLOPS = HandlerTable("flops")
ACTIVATIONS = HandlerTable("activations")

# ------------------------------------------------------------------ handlers
# A handler picks the formula's shapes out of the node's inputs, by schema argument name.


@FLOPS.register("aten::_convolution", "aten::convolution", "aten::_convolution_mode", label="conv")
def conv_handler(args: Args, outputs: Sequence[Any]) -> int:
    """conv_macs(input, weight, output, transposed)."""
    transposed = bool(args.get("transposed"))  # _convolution_mode (string padding) has none
    return conv_macs(args["input"], args["weight"], outputs[0], transposed)


@FLOPS.register("aten::mm", "aten::bmm", "aten::matmul", "aten::mv", "aten::dot")
def matmul_handler(args: Args, outputs: Sequence[Any]) -> int:
    """matmul_macs(self, mat2 | other | vec | tensor)."""
    return matmul_macs(*args.first(2))


@FLOPS.register("aten::addmm", "aten::baddbmm")
def addmm_handler(args: Args, outputs: Sequence[Any]) -> int:
    """matmul_macs(mat1, mat2) (batch1, batch2 for baddbmm); the scaled add of `self` is free."""
    _, a, b = args.first(3)
    return matmul_macs(a, b)


@FLOPS.register("aten::linear")
def linear_handler(args: Args, outputs: Sequence[Any]) -> int:
    """linear_macs(input, weight); the bias add is free."""
    return linear_macs(args["input"], args["weight"])


@FLOPS.register("aten::einsum")
def einsum_handler(args: Args, outputs: Sequence[Any]) -> int:
    """einsum_macs(equation, tensors)."""
    return einsum_macs(args["equation"], args["tensors"])


@FLOPS.register("aten::_grouped_mm", label="grouped_mm")
def grouped_mm_handler(args: Args, outputs: Sequence[Any]) -> int:
    """grouped_mm_macs(self, mat2, output); the bias add is free."""
    mat_a, mat_b = args.first(2)
    return grouped_mm_macs(mat_a, mat_b, outputs[0])


@FLOPS.register("aten::scaled_dot_product_attention")
def sdpa_handler(args: Args, outputs: Sequence[Any]) -> int:
    """sdpa_macs(query, key, value, output); attn_mask and is_causal change nothing."""
    return sdpa_macs(args["query"], args["key"], args["value"], outputs[0])


for _op in sorted(MATMUL_OPS):
    ACTIVATIONS.add(_op, handles_flops.output_elements, label=FLOPS.get(_op)[0])  # type: ignore[index]


# ------------------------------------------------------------------ free ops

# No multiply-add in any of these: what `flops` treats as free or charges per element
# (elementwise, activations, softmax, norms, pooling, interpolation, dropout, embedding),
# fvcore's free ops, and a few more bookkeeping ops HF models trace (cumsum, diff, ...).
# Not here, so reported when they run: recurrent ops and fused attention variants, which
# hide matmuls, and anything unknown.
_NO_MULTIPLY_ADD = (
    "cumsum cumprod diff triu tril topk sort argsort argmax argmin any all isnan isinf "
    "bitwise_and bitwise_or scatter scatter_ scatter_add scatter_add_ index_add index_add_ "
    "index_copy index_fill masked_scatter masked_select repeat_interleave one_hot "
    "var std var_mean std_mean norm linalg_vector_norm logsumexp prod"
)
IGNORED: frozenset[str] = (
    handles_flops.IGNORED
    | handles_fvcore.IGNORED
    | frozenset(f"aten::{op}" for cost in handles_flops.COSTS.values() for op in cost.ops)
    | frozenset(f"aten::{op}" for op in _NO_MULTIPLY_ADD.split())
) - frozenset(FLOPS)

__all__: list[str] = [
    "ACTIVATIONS",
    "FLOPS",
    "IGNORED",
    "conv_macs",
    "einsum_macs",
    "linear_macs",
    "matmul_macs",
    "sdpa_macs",
]
