"""Pure shape formulas, in multiply-adds: the one place every convention and backward rule
takes its arithmetic from.

Each formula takes shapes (tuples of ints) by name and returns an int, as torch's
`utils/flop_counter.py` does; a convention scales them (`flops`: 2 per multiply-add) or
picks another documented formula (fvcore's own quirks stay in `handles_fvcore.py`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from string import ascii_letters

import numpy as np
import torch

Shape = Sequence[int]

# The matmul family: ops whose work is multiply-adds on tensor cores (convolutions, the
# matmuls, einsum and fused attention). Their outputs are the `flops`/`macs` activations,
# and the roofline runs them at a chip's matmul peak.
MATMUL_OPS: frozenset[str] = frozenset(
    "aten::" + op
    for op in (
        "_convolution convolution _convolution_mode mm bmm matmul mv dot addmm baddbmm "
        "linear einsum scaled_dot_product_attention _grouped_mm"
    ).split()
)

# Ops that do multiply-adds, which every convention counts: one left uncounted hides work
# of the convention's own kind (e.g. attention under fvcore), not a choice of its definition.
MULTIPLY_ADD_OPS: frozenset[str] = MATMUL_OPS | frozenset(
    f"aten::{op}" for op in ("lstm", "gru", "rnn_tanh", "rnn_relu")
)


def numel(shape: Shape) -> int:
    """Elements of a tensor of `shape` (1 for a 0-d tensor)."""
    return math.prod(shape)


def conv_macs(input: Shape, weight: Shape, output: Shape, transposed: bool) -> int:
    """N * prod(output spatial; input spatial if transposed) * prod(weight).

    Each weight element meets one input element per output position (per input position for
    a transposed conv); torch's and fvcore's `conv_flop_count` are this (torch's times 2).
    """
    spatial = input[2:] if transposed else output[2:]
    return input[0] * numel(spatial) * numel(weight)


def matmul_macs(a: Shape, b: Shape) -> int:
    """prod(broadcast batch) * n * k * m for a (..., n, k) @ b (..., k, m); 1-d: n or m = 1."""
    n = a[-2] if len(a) > 1 else 1
    m = b[-1] if len(b) > 1 else 1
    batch = torch.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
    return numel(batch) * n * a[-1] * m


def linear_macs(input: Shape, weight: Shape) -> int:
    """numel(input) * out_features (1 for a 1-d weight): input @ weight.T."""
    return numel(input) * (weight[0] if len(weight) == 2 else 1)


def sdpa_macs(query: Shape, key: Shape, value: Shape, output: Shape) -> int:
    """B*Hq*L*S*E (q @ k^T) + B*Hq*L*S*Ev (p @ v), B*Hq*L from the output (GQA's real heads)."""
    batch_heads_l = numel(output[:-1])
    source = key[-2]
    return batch_heads_l * source * query[-1] + batch_heads_l * source * value[-1]


def grouped_mm_macs(mat_a: Shape, mat_b: Shape, output: Shape) -> int:
    """Multiply-adds of `_grouped_mm`: each group's matmul, the groups summed.

    (S, K) @ (G, K, N), rows routed to groups (MoE experts): S*K*N, as if every row went
    through one matrix, whatever the routing. (G, M, K) @ (G, K, N): a bmm. (G, M, K) @
    (K, N) with N split into groups: M*K*N. (M, K) @ (K, N) with K split into G groups
    (the weight gradient): M*K*N, the output (G, M, N) holding one partial product per group.
    """
    if len(mat_a) == 2 and len(mat_b) == 2:
        return mat_a[0] * mat_a[1] * mat_b[1]
    return numel(output) * mat_a[-1]


def sort_comparisons(input: Shape, dim: int = -1) -> int:
    """numel(input) * ceil(log2(n)), at least 1 each: a comparison sort of rows of n."""
    if not len(input):
        return 0
    return numel(input) * max(1, math.ceil(math.log2(max(input[dim], 1))))


def topk_comparisons(input: Shape, k: int) -> int:
    """numel(input) * ceil(log2(k)), at least 1 each: every element offered to a k-heap."""
    return numel(input) * max(1, math.ceil(math.log2(max(k, 1))))


def einsum_subscripts(
    equation: str, shapes: Sequence[Shape]
) -> tuple[list[str], str, dict[str, int]]:
    """Explicit subscripts per operand, output subscripts and index sizes; `...` expanded."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    spare = iter(c for c in ascii_letters if c not in equation)
    ranks = [len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes, strict=True)]
    ellipsis = "".join(next(spare) for _ in range(max([0, *ranks])))
    subscripts: list[str] = []
    sizes: dict[str, int] = {}
    for term, shape, rank in zip(terms, shapes, ranks, strict=True):
        term = term.replace("...", ellipsis[len(ellipsis) - rank :])
        subscripts.append(term)
        for index, size in zip(term, shape, strict=True):
            sizes[index] = max(sizes.get(index, 1), size)  # size-1 dims broadcast
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:  # implicit output: the broadcast dims, then every index used exactly once
        counts = Counter("".join(subscripts))
        output = ellipsis + "".join(c for c in counts if counts[c] == 1 and c not in ellipsis)
    return subscripts, output, sizes


def einsum_path(subscripts: Sequence[str], output: str, sizes: dict[str, int]) -> list[tuple]:
    """numpy's optimal pairwise contraction path (a list of operand-position tuples)."""
    views = [np.broadcast_to(0.0, [sizes[c] for c in term]) for term in subscripts]
    equation = ",".join(subscripts) + "->" + output
    return np.einsum_path(equation, *views, optimize="optimal")[0][1:]


def einsum_macs(equation: str, operands: Sequence[Shape]) -> int:
    """Sum over numpy's optimal pairwise path of prod(sizes of each step's indices)."""
    subscripts, output, sizes = einsum_subscripts(equation, operands)
    if len(subscripts) == 1:  # a sum or a view of one tensor: no multiplication
        return 0
    if len(subscripts) == 2:
        return numel([sizes[c] for c in set("".join(subscripts))])
    operands_left = [set(term) for term in subscripts]
    total = 0
    for step in einsum_path(subscripts, output, sizes):
        picked = [operands_left.pop(i) for i in sorted(step, reverse=True)]
        indices = set().union(*picked)
        total += numel([sizes[c] for c in indices]) if len(picked) > 1 else 0
        operands_left.append(indices & set(output).union(*operands_left))
    return total


__all__: list[str] = [
    "MATMUL_OPS",
    "MULTIPLY_ADD_OPS",
    "Shape",
    "conv_macs",
    "einsum_macs",
    "einsum_path",
    "einsum_subscripts",
    "grouped_mm_macs",
    "linear_macs",
    "matmul_macs",
    "numel",
    "sdpa_macs",
    "sort_comparisons",
    "topk_comparisons",
]
