"""Every handler of the fvcore convention against numbers worked out by hand.

Each test analyses a one-layer model and compares `by_operator` (so the label is checked
too) with arithmetic written out from the layer's shapes. fvcore counts one fused
multiply-add as one flop; activations are the output elements of conv / matmul-family ops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from fvcore.nn.activation_count import _DEFAULT_SUPPORTED_OPS as FVCORE_ACTIVATION_OPS
from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS as FVCORE_FLOP_OPS
from fvcore.nn.jit_analysis import _IGNORED_OPS as FVCORE_IGNORED_OPS
from torch import nn

from complexity.analyzer import handles_fvcore

from helpers import fvcore_flops, run


def counts(model: nn.Module | Callable[..., Any], *inputs: Any) -> tuple[dict, dict]:
    """(flops by operator, activations by operator); fails if anything ran uncounted."""
    report = run(model, *inputs)
    assert report.uncounted == (), report.uncounted
    return report.by_operator("flops"), report.by_operator("activations")


def rand(*shape: int) -> torch.Tensor:
    return torch.randn(*shape)


# --------------------------------------------------------------------------- aten::_convolution
# batch * prod(weight shape) * prod(output spatial); transposed: input spatial. Bias is free.

CONV_CASES = [
    pytest.param(
        nn.Conv2d(3, 8, 3, padding=1),
        (1, 3, 14, 14),
        3 * 3 * 3 * 8 * 14 * 14,
        8 * 14 * 14,
        id="conv2d-same-padding",
    ),
    pytest.param(
        nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False),
        (2, 4, 9, 9),  # out 5x5: (9 + 2 - 3) // 2 + 1 = 5
        2 * (6 * 4 * 3 * 3) * (5 * 5),
        2 * 6 * 5 * 5,
        id="conv2d-strided-batch2-nobias",
    ),
    pytest.param(
        nn.Conv2d(8, 16, 3, groups=4),
        (2, 8, 10, 10),  # weight (16, 8/4, 3, 3), out 8x8
        2 * (16 * 2 * 3 * 3) * (8 * 8),
        2 * 16 * 8 * 8,
        id="conv2d-grouped",
    ),
    pytest.param(
        nn.Conv2d(4, 4, 3, groups=4, dilation=3, padding=3),
        (1, 4, 7, 7),  # depthwise, weight (4, 1, 3, 3); out (7 + 6 - 3*2 - 1) // 1 + 1 = 7
        4 * 1 * 3 * 3 * 7 * 7,
        4 * 7 * 7,
        id="conv2d-depthwise-dilated",
    ),
    pytest.param(
        nn.Conv1d(4, 6, 3, stride=2, dilation=2),
        (1, 4, 21),  # out (21 - 2*(3-1) - 1) // 2 + 1 = 9
        6 * 4 * 3 * 9,
        6 * 9,
        id="conv1d-strided-dilated",
    ),
    pytest.param(
        nn.Conv3d(2, 4, (1, 3, 3), padding=(0, 1, 1)),
        (1, 2, 3, 5, 5),  # out (3, 5, 5)
        4 * 2 * 1 * 3 * 3 * (3 * 5 * 5),
        4 * 3 * 5 * 5,
        id="conv3d",
    ),
    pytest.param(
        nn.ConvTranspose1d(4, 6, 3, stride=2),
        (2, 4, 7),  # weight (in 4, out 6, 3); out (7 - 1)*2 + 3 = 15
        2 * (4 * 6 * 3) * 7,
        2 * 6 * 15,
        id="convtranspose1d",
    ),
    pytest.param(
        nn.ConvTranspose2d(4, 6, 3, stride=2),
        (2, 4, 5, 5),  # weight (4, 6, 3, 3); out (5 - 1)*2 + 3 = 11
        2 * (4 * 6 * 3 * 3) * (5 * 5),
        2 * 6 * 11 * 11,
        id="convtranspose2d",
    ),
    pytest.param(
        nn.ConvTranspose3d(4, 6, 2, stride=2, groups=2),
        (1, 4, 2, 3, 3),  # weight (4, 6/2, 2, 2, 2); out (4, 6, 6)
        1 * (4 * 3 * 2 * 2 * 2) * (2 * 3 * 3),
        6 * 4 * 6 * 6,
        id="convtranspose3d-grouped",
    ),
]


@pytest.mark.parametrize(("layer", "shape", "flops", "activations"), CONV_CASES)
def test_convolution(layer: nn.Module, shape: tuple[int, ...], flops: int, activations: int):
    assert counts(layer, rand(*shape)) == ({"conv": flops}, {"conv": activations})


def test_functional_conv_counts_like_the_module() -> None:
    w = rand(8, 3, 3, 3)
    assert counts(lambda x: F.conv2d(x, w, padding=1), rand(1, 3, 14, 14)) == (
        {"conv": 3 * 3 * 3 * 8 * 14 * 14},
        {"conv": 8 * 14 * 14},
    )


# --------------------------------------------------------------------------- matmul family


def test_addmm() -> None:
    bias, a, b = rand(3), rand(5, 7), rand(7, 3)
    flops, acts = counts(lambda bias, a, b: torch.addmm(bias, a, b), bias, a, b)
    assert (flops, acts) == ({"addmm": 5 * 7 * 3}, {"addmm": 5 * 3})


@pytest.mark.parametrize(
    ("shape", "flops", "activations"),
    [
        pytest.param((5, 7), 5 * 7 * 3, 5 * 3, id="2d"),
        pytest.param((2, 5, 7), 2 * 5 * 7 * 3, 2 * 5 * 3, id="3d"),
        pytest.param((7,), 7 * 3, 3, id="1d"),
    ],
)
def test_linear(shape: tuple[int, ...], flops: int, activations: int) -> None:
    assert counts(nn.Linear(7, 3), rand(*shape)) == ({"linear": flops}, {"linear": activations})
    no_bias = nn.Linear(7, 3, bias=False)  # the bias add is free
    assert counts(no_bias, rand(*shape)) == ({"linear": flops}, {"linear": activations})


def test_bmm() -> None:
    flops, acts = counts(torch.bmm, rand(4, 5, 6), rand(4, 6, 7))
    assert (flops, acts) == ({"bmm": 4 * 5 * 6 * 7}, {"bmm": 4 * 5 * 7})


@pytest.mark.parametrize(
    ("a", "b", "flops", "activations"),
    [
        pytest.param((5, 6), (6, 7), 5 * 6 * 7, 5 * 7, id="2d@2d"),
        pytest.param((2, 5, 6), (2, 6, 7), 2 * 5 * 6 * 7, 2 * 5 * 7, id="3d@3d"),
        pytest.param((2, 5, 6), (6, 7), 2 * 5 * 6 * 7, 2 * 5 * 7, id="3d@2d"),
        # fvcore's formula numel(a) * b[-1] ignores a batch that only b has: 5*6*7, not 3*5*6*7.
        pytest.param((5, 6), (3, 6, 7), 5 * 6 * 7, 3 * 5 * 7, id="2d@3d-fvcore-formula"),
        # 1-d operands (fvcore's handler asserts on these): one multiply-add per element of
        # the operand that is not a vector.
        pytest.param((5, 6), (6,), 5 * 6, 5, id="matrix@vector"),
        pytest.param((6,), (6, 7), 6 * 7, 7, id="vector@matrix"),
        pytest.param((6,), (2, 6, 7), 2 * 6 * 7, 2 * 7, id="vector@batched"),
        pytest.param((2, 5, 6), (6,), 2 * 5 * 6, 2 * 5, id="batched@vector"),
        pytest.param((6,), (6,), 6, 1, id="vector@vector"),  # a 0-d output: 1 element
    ],
)
def test_matmul(a: tuple[int, ...], b: tuple[int, ...], flops: int, activations: int) -> None:
    assert counts(torch.matmul, rand(*a), rand(*b)) == (
        {"matmul": flops},
        {"matmul": activations},
    )


def test_matmul_operator_symbol_is_matmul() -> None:
    assert counts(lambda a, b: a @ b, rand(5, 6), rand(6, 7))[0] == {"matmul": 5 * 6 * 7}


def test_matmul_broadcast_matches_fvcore() -> None:
    a, b = rand(5, 6), rand(3, 6, 7)
    assert counts(torch.matmul, a, b)[0] == dict(fvcore_flops(torch.matmul, a, b).by_operator())


def test_mm_has_flops_but_no_activations() -> None:
    # aten::mm is in fvcore's flop table but not in its activation table.
    assert counts(torch.mm, rand(5, 6), rand(6, 7)) == ({"mm": 5 * 6 * 7}, {})


# --------------------------------------------------------------------------- einsum


@pytest.mark.parametrize(
    ("equation", "a", "b", "flops", "out"),
    [
        # renamed in order of appearance to "abc,abd->acd": n * c * t * p
        pytest.param("nct,ncp->ntp", (2, 3, 4), (2, 3, 5), 2 * 3 * 4 * 5, (2, 4, 5), id="abc,abd"),
        pytest.param("xyz,xyw->xzw", (2, 3, 4), (2, 3, 5), 2 * 3 * 4 * 5, (2, 4, 5), id="renamed"),
        pytest.param(
            "n c t, n c p -> n t p", (2, 3, 4), (2, 3, 5), 2 * 3 * 4 * 5, (2, 4, 5), id="spaces"
        ),
        # renamed to "abc,adc->adb": n * t * g * c
        pytest.param("ntg,ncg->nct", (2, 4, 3), (2, 5, 3), 2 * 4 * 3 * 5, (2, 5, 4), id="abc,adc"),
    ],
)
def test_einsum_special_cases(
    equation: str,
    a: tuple[int, ...],
    b: tuple[int, ...],
    flops: int,
    out: tuple[int, ...],
) -> None:
    fn = lambda x, y: torch.einsum(equation, x, y)  # noqa: E731
    n_out = out[0] * out[1] * out[2]
    assert counts(fn, rand(*a), rand(*b)) == ({"einsum": flops}, {"einsum": n_out})


# Generic path: fvcore reads numpy's printed "Optimized FLOP count" for the optimal
# contraction path and halves it (floor). numpy costs each pairwise contraction at
# prod(sizes of its indices) * (2 if an index is summed else 1), and einsum_path adds 1.
GENERIC_EINSUM = [
    pytest.param(
        "bij,bjk->bik",
        [(2, 3, 4), (2, 4, 5)],
        (2 * (2 * 3 * 4 * 5) + 1) // 2,  # = 2*3*4*5
        2 * 3 * 5,
        id="batched-matmul",
    ),
    pytest.param("i,j->ij", [(5,), (7,)], (5 * 7 + 1) // 2, 5 * 7, id="outer-product"),
    pytest.param(
        "ij,jk,kl->il",
        [(2, 3), (3, 4), (4, 5)],
        # optimal: (ij,jk)->ik costs 2*(2*3*4), then (ik,kl)->il costs 2*(2*4*5)
        (2 * (2 * 3 * 4) + 2 * (2 * 4 * 5) + 1) // 2,
        2 * 5,
        id="three-operand-chain",
    ),
    pytest.param(
        "ij,jk->ik",
        [(7, 11), (11, 131)],
        # 2*7*11*131 + 1 = 20175 is printed "2.018e+04": 4 significant digits survive.
        int(float(f"{2 * 7 * 11 * 131 + 1:.3e}")) // 2,
        7 * 131,
        id="printed-precision",
    ),
]


@pytest.mark.parametrize(("equation", "shapes", "flops", "activations"), GENERIC_EINSUM)
def test_einsum_generic_path(
    equation: str, shapes: list[tuple[int, ...]], flops: int, activations: int
) -> None:
    fn = lambda *xs: torch.einsum(equation, *xs)  # noqa: E731
    tensors = [rand(*s) for s in shapes]
    assert counts(fn, *tensors) == ({"einsum": flops}, {"einsum": activations})
    assert dict(fvcore_flops(fn, *tensors).by_operator()) == {"einsum": flops}  # and fvcore agrees


# --------------------------------------------------------------------------- norms

N, C, H, W = 2, 4, 5, 5
ELEMENTS = N * C * H * W


@pytest.mark.parametrize(
    ("layer", "train", "per_element"),
    [
        pytest.param(nn.BatchNorm2d(C), False, 2, id="eval-affine"),
        pytest.param(nn.BatchNorm2d(C, affine=False), False, 1, id="eval-plain"),
        pytest.param(nn.BatchNorm2d(C), True, 5, id="train-affine"),
        pytest.param(nn.BatchNorm2d(C, affine=False), True, 4, id="train-plain"),
        # without running stats batch statistics are computed in eval too: the training cost
        pytest.param(nn.BatchNorm2d(C, track_running_stats=False), False, 5, id="no-stats-eval"),
    ],
)
def test_batch_norm(layer: nn.Module, train: bool, per_element: int) -> None:
    report = run(layer.train(train), rand(N, C, H, W))
    assert report.by_operator("flops") == {"batch_norm": ELEMENTS * per_element}
    assert report.by_operator("activations") == {}
    # the running-stat counter update (num_batches_tracked += 1) is the only uncounted op
    expected_uncounted = {"aten::add_": 1} if train and layer.track_running_stats else {}
    assert report.unsupported_ops == expected_uncounted


def test_batch_norm_1d() -> None:
    assert counts(nn.BatchNorm1d(6).eval(), rand(3, 6)) == ({"batch_norm": 3 * 6 * 2}, {})


@pytest.mark.parametrize(
    ("layer", "label", "per_element"),
    [
        pytest.param(nn.GroupNorm(2, C), "group_norm", 5, id="groupnorm-affine"),
        pytest.param(nn.GroupNorm(2, C, affine=False), "group_norm", 4, id="groupnorm-plain"),
        pytest.param(nn.InstanceNorm2d(C, affine=True), "instance_norm", 5, id="instance-affine"),
        pytest.param(nn.InstanceNorm2d(C), "instance_norm", 4, id="instance-plain"),
        pytest.param(nn.LayerNorm((H, W)), "layer_norm", 5, id="layernorm-affine"),
        pytest.param(
            nn.LayerNorm((H, W), elementwise_affine=False), "layer_norm", 4, id="layernorm-plain"
        ),
        pytest.param(nn.LayerNorm((H, W), bias=False), "layer_norm", 5, id="layernorm-no-bias"),
    ],
)
def test_group_instance_layer_norm(layer: nn.Module, label: str, per_element: int) -> None:
    assert counts(layer, rand(N, C, H, W)) == ({label: ELEMENTS * per_element}, {})


def test_instance_norm_1d_and_layer_norm_3d_input() -> None:
    assert counts(nn.InstanceNorm1d(3), rand(2, 3, 8))[0] == {"instance_norm": 2 * 3 * 8 * 4}
    assert counts(nn.LayerNorm(8), rand(2, 3, 8))[0] == {"layer_norm": 2 * 3 * 8 * 5}


# --------------------------------------------------------------------------- resampling, pooling


def test_upsample_nearest2d() -> None:
    fn = lambda x: F.interpolate(x, scale_factor=2, mode="nearest")  # noqa: E731
    # 1 per output element: out (1, 3, 8, 10)
    assert counts(fn, rand(1, 3, 4, 5)) == ({"upsample_nearest2d": 1 * 3 * 8 * 10}, {})


@pytest.mark.parametrize("align_corners", [False, True])
def test_upsample_bilinear2d(align_corners: bool) -> None:
    fn = lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=align_corners)  # noqa: E731
    # 4 per output element: out (1, 3, 7, 9)
    assert counts(fn, rand(1, 3, 4, 5)) == ({"upsample_bilinear2d": 4 * 1 * 3 * 7 * 9}, {})


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sampler(mode: str) -> None:
    fn = lambda x, grid: F.grid_sample(x, grid, mode=mode, align_corners=False)  # noqa: E731
    # 4 per output element (fvcore assumes bilinear whatever the mode): out (1, 3, 5, 6)
    flops = counts(fn, rand(1, 3, 8, 8), torch.rand(1, 5, 6, 2) * 2 - 1)
    assert flops == ({"grid_sampler": 4 * 1 * 3 * 5 * 6}, {})


@pytest.mark.parametrize("output_size", [1, (2, 3)])
def test_adaptive_avg_pool2d(output_size: Any) -> None:
    # 1 per input element, whatever the output size
    layer = nn.AdaptiveAvgPool2d(output_size)
    assert counts(layer, rand(2, 3, 8, 8)) == ({"adaptive_avg_pool2d": 2 * 3 * 8 * 8}, {})


# --------------------------------------------------------------------------- the tables


def test_handler_tables_match_fvcore() -> None:
    assert set(handles_fvcore.FLOPS) == set(FVCORE_FLOP_OPS)
    assert set(handles_fvcore.ACTIVATIONS) == set(FVCORE_ACTIVATION_OPS)


def test_ignored_ops_equal_fvcore() -> None:
    assert handles_fvcore.IGNORED == FVCORE_IGNORED_OPS


def test_ignored_ops_are_free_and_listed_apart() -> None:
    def fn(x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x).flatten(1).transpose(0, 1).reshape(-1)

    report = run(fn, rand(2, 3, 4))
    assert report.ignored_ops == {
        "aten::relu": 1,
        "aten::flatten": 1,
        "aten::transpose": 1,
        "aten::reshape": 1,
    }
    assert report.uncounted == ()
    assert report.total("flops") == 0
