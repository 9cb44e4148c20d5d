"""The `fvcore` convention: fvcore's operator set and formulas, one fused multiply-add = 1 flop.

These are the numbers MMYOLO's get_flops (mmengine.analysis) and detectron2 print. Every
formula below is fvcore's (fvcore/nn/jit_handles.py). Where fvcore's formula is the plain one (conv, addmm, bmm) the
handler calls `formulas.py`; fvcore's own variants (matmul without a broadcast batch, einsum
through numpy's flop estimate) are written out here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from .formulas import conv_macs, matmul_macs, numel
from .registry import Args, Handler, HandlerTable

FLOPS = HandlerTable("flops")
ACTIVATIONS = HandlerTable("activations")

# fvcore's _IGNORED_OPS (fvcore/nn/jit_analysis.py): ops it treats as free and never reports.
# Kept as data so the convention is explicit; a test checks it still equals fvcore's set.
IGNORED: frozenset[str] = frozenset(
    "aten::" + op
    for op in (
        "Int ScalarImplicit __and__ arange bitwise_not cat chunk clamp clamp_ constant_pad_nd "
        "contiguous copy_ detach dropout empty eq expand flatten floor floor_divide full "
        "full_like gather ge gt index index_put_ masked_fill max narrow new_empty new_full "
        "new_zeros nonzero ones permute relu relu_ remainder reshape roll select size slice "
        "split split_with_sizes squeeze stack t to transpose type_as unbind unsqueeze "
        "unsqueeze_ view zeros zeros_like"
    ).split()
)


@FLOPS.register("aten::_convolution", label="conv")
def conv_flops(args: Args, outputs: Sequence[Any]) -> int:
    """batch * prod(weight) * prod(output spatial), input spatial when transposed; no bias."""
    return conv_macs(args["input"], args["weight"], outputs[0], bool(args["transposed"]))


@FLOPS.register("aten::addmm")
def addmm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """n * k * m for mat1 (n, k) @ mat2 (k, m); the bias add is free."""
    return matmul_macs(args["mat1"], args["mat2"])


@FLOPS.register("aten::linear")
def linear_flops(args: Args, outputs: Sequence[Any]) -> int:
    """numel(input) * out_features; the bias add is free."""
    return numel(args["input"]) * args["weight"][0]


@FLOPS.register("aten::bmm")
def bmm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """b * n * k * m for (b, n, k) @ (b, k, m)."""
    return matmul_macs(args["self"], args["mat2"])


@FLOPS.register("aten::matmul", "aten::mm")
def matmul_flops(args: Args, outputs: Sequence[Any]) -> int:
    """numel(a) * b[-1] (fvcore's formula); numel of the larger operand when one is 1-d."""
    a, b = args.first(2)  # matmul(self, other), mm(self, mat2)
    if len(b) == 1:
        return numel(a)
    if len(a) == 1:
        return numel(b)
    return numel(a) * b[-1]


@FLOPS.register("aten::einsum")
def einsum_flops(args: Args, outputs: Sequence[Any]) -> int:
    """Two bmm-like equations exactly; otherwise numpy's optimal contraction path flops / 2."""
    equation = args["equation"].replace(" ", "")
    shapes = args["tensors"]
    # fvcore renames letters in order of appearance so equivalent equations compare equal.
    letters = OrderedDict((c, 0) for c in equation if c.isalpha()).keys()
    equation = equation.translate({ord(c): 97 + i for i, c in enumerate(letters)})
    if equation == "abc,abd->acd":
        n, c, t = shapes[0]
        return n * c * t * shapes[-1][-1]
    if equation == "abc,adc->adb":
        n, t, g = shapes[0]
        return n * t * g * shapes[-1][1]
    path = np.einsum_path(equation, *[np.zeros(s) for s in shapes], optimize="optimal")[1]
    for line in path.split("\n"):
        if "optimized flop" in line.lower():
            return int(np.floor(float(line.split(":")[-1]) / 2))
    raise NotImplementedError(f"einsum {equation!r}: numpy gave no flop estimate")


def _norm_flops(x: Sequence[int], weight: Any) -> int:
    return numel(x) * (5 if weight is not None else 4)


@FLOPS.register("aten::batch_norm")
def batch_norm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """Training: 5 (affine) or 4 per element; eval: 2 (affine) or 1 per element."""
    x, weight, training = args["input"], args["weight"], args["training"]
    if training:
        return _norm_flops(x, weight)
    return numel(x) * (2 if weight is not None else 1)


@FLOPS.register("aten::group_norm", "aten::layer_norm")
def group_layer_norm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """5 per input element with an affine weight, 4 without."""
    return _norm_flops(args["input"], args["weight"])


@FLOPS.register("aten::instance_norm")
def instance_norm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """5 per input element with an affine weight, 4 without."""
    return _norm_flops(args["input"], args["weight"])


@FLOPS.register("aten::upsample_nearest2d")
def upsample_nearest_flops(args: Args, outputs: Sequence[Any]) -> int:
    """1 per output element."""
    return numel(outputs[0])


@FLOPS.register("aten::upsample_bilinear2d", "aten::grid_sampler")
def bilinear_flops(args: Args, outputs: Sequence[Any]) -> int:
    """4 per output element (grid_sampler is assumed bilinear, as fvcore does)."""
    return 4 * numel(outputs[0])


@FLOPS.register("aten::adaptive_avg_pool2d")
def adaptive_avg_pool_flops(args: Args, outputs: Sequence[Any]) -> int:
    """1 per input element."""
    return numel(args["self"])


def output_elements(args: Args, outputs: Sequence[Any]) -> int:
    """numel(output): fvcore's activation count."""
    return numel(outputs[0])


ACTIVATIONS.add("aten::_convolution", output_elements, label="conv")
for _op in ("aten::addmm", "aten::bmm", "aten::einsum", "aten::matmul", "aten::linear"):
    ACTIVATIONS.add(_op, output_elements)

__all__: list[str] = ["ACTIVATIONS", "FLOPS", "IGNORED", "Handler", "numel", "output_elements"]
