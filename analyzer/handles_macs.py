"""The `macs` convention: multiply-adds of conv and matmul-family ops, and nothing else.

One multiply-add = 1. Counted: convolutions (any dims, transposed too), linear, addmm, mm,
bmm, baddbmm, matmul (with its 1-d forms mv and dot), einsum, _grouped_mm (MoE experts), and
scaled_dot_product_attention as its two matmuls (q @ k^T and p @ v). Bias and `beta * self`
adds, masks and causality do not change the count. This is what torchvision publishes as
its models' GFLOPS and what most papers call "FLOPs".

Every formula is a small pure function of named shapes; the registered handlers only pick
those shapes out of the node's inputs. Ops with no multiply-add (norms, elementwise,
softmax, pooling, interpolation, shape ops) are free (`IGNORED`); an op that may hide
multiply-adds (lstm, a custom autograd.Function, ...) is never free: it is reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from . import handles_flops, handles_fvcore
from .registry import Args, HandlerTable

FLOPS = HandlerTable("flops")
ACTIVATIONS = HandlerTable("activations")

Shape = Sequence[int]


def numel(shape: Shape) -> int:
    return math.prod(shape)


# ------------------------------------------------------------------ formulas


def conv_macs(input: Shape, weight: Shape, output: Shape, transposed: bool) -> int:
    """N * prod(output spatial; input spatial if transposed) * prod(weight)."""
    spatial = input[2:] if transposed else output[2:]
    return input[0] * numel(spatial) * numel(weight)


def matmul_macs(a: Shape, b: Shape) -> int:
    """prod(broadcast batch) * n * k * m for (..., n, k) @ (..., k, m); 1-d: n or m = 1."""
    n = a[-2] if len(a) > 1 else 1
    m = b[-1] if len(b) > 1 else 1
    batch = torch.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
    return numel(batch) * n * a[-1] * m


def linear_macs(input: Shape, weight: Shape) -> int:
    """numel(input) * out_features (1 for a 1-d weight)."""
    return numel(input) * (weight[0] if len(weight) == 2 else 1)


def einsum_macs(equation: str, operands: Sequence[Shape]) -> int:
    """Sum over numpy's optimal pairwise path of prod(sizes of each step's indices)."""
    subscripts, output, sizes = handles_flops._einsum_subscripts(equation, operands)
    if len(subscripts) == 1:  # a sum or a view of one tensor: no multiplication
        return 0
    if len(subscripts) == 2:
        return numel([sizes[c] for c in set("".join(subscripts))])
    views = [np.broadcast_to(0.0, [sizes[c] for c in term]) for term in subscripts]
    path = np.einsum_path(",".join(subscripts) + "->" + output, *views, optimize="optimal")[0]
    operands_left = [set(term) for term in subscripts]
    total = 0
    for step in path[1:]:
        picked = [operands_left.pop(i) for i in sorted(step, reverse=True)]
        indices = set().union(*picked)
        total += numel([sizes[c] for c in indices]) if len(picked) > 1 else 0
        operands_left.append(indices & set(output).union(*operands_left))
    return total


def sdpa_macs(query: Shape, key: Shape, value: Shape, output: Shape) -> int:
    """B*Hq*L*S*E (q @ k^T) + B*Hq*L*S*Ev (p @ v), B*Hq*L from the output (GQA's real heads)."""
    batch_heads_l = numel(output[:-1])
    source = key[-2]
    return batch_heads_l * source * query[-1] + batch_heads_l * source * value[-1]


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
    """handles_flops.grouped_mm_macs(self, mat2, output); the bias add is free."""
    mat_a, mat_b = args.first(2)
    return handles_flops.grouped_mm_macs(mat_a, mat_b, outputs[0])


@FLOPS.register("aten::scaled_dot_product_attention")
def sdpa_handler(args: Args, outputs: Sequence[Any]) -> int:
    """sdpa_macs(query, key, value, output); attn_mask and is_causal change nothing."""
    return sdpa_macs(args["query"], args["key"], args["value"], outputs[0])


for _op in sorted(handles_flops.MATMUL_FAMILY):
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
