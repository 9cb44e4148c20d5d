"""Shape-only Meta kernels for `max_pool2d` and nearest 2-d upsampling, for meta traces.

torch's Meta kernels for `aten::max_pool2d_with_indices` and `aten::upsample_nearest2d`
check their arguments with `torch._check`, and the first `torch._check` of a process imports
torch.fx's symbolic shapes and sympy: about 0.4 s of CPU on a 2-core machine, a quarter of
an RTMDet-s analysis (its SPPF block pools, its neck upsamples). The plain case has a plain
answer: a contiguous, non-empty floating input and int arguments that every one of torch's
checks accepts give the output's shape, contiguous (and int64 indices of that shape for the
pooling). Anything else (channels-last inputs, empty inputs, any argument torch would
refuse) goes to torch's own kernel, so results and messages stay torch's.

`register_spatial_shapes(library)` adds them to the Meta library that
`meta.conv_meta_reroute` destroys after the trace: nothing stays registered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .meta_elementwise import torch_meta_kernel


def _pair(values: Any) -> tuple[int, int] | None:
    """torch's `unpack`: one int or two, as a pair; None where torch would decide."""
    if not isinstance(values, Sequence) or len(values) not in (1, 2):
        return None
    if not all(type(v) is int for v in values):
        return None
    return values[0], values[-1]


def _like_channels_last(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """torch's are_strides_like_channels_last_or_false for a 4-d tensor, on plain ints.

    (torch's own imports the symbolic shapes this kernel avoids.)
    """
    if len(shape) != 4 or strides[1] == 0:
        return False
    least = 0
    for d in (1, 3, 2, 0):
        if shape[d] == 0 or strides[d] < least:
            return False
        if d == 0 and least == strides[1]:
            return False
        least = strides[d] * shape[d]
    return True


def _plain_input(input: Any, ranks: tuple[int, ...]) -> bool:
    """A non-empty floating tensor of one of `ranks`, whose output torch makes contiguous."""
    return (
        isinstance(input, torch.Tensor)
        and input.dim() in ranks
        and input.dtype.is_floating_point
        and input.numel() > 0
        and input.is_contiguous()
        and not _like_channels_last(input.shape, input.stride())
    )


def _pooled_size(size: int, kernel: int, pad: int, stride: int, dilation: int, ceil: bool) -> int:
    """pooling_output_shape (ATen's Pool.h) for arguments its checks accept."""
    output = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil else 0)) // stride
    output += 1
    if ceil and (output - 1) * stride >= size + pad:
        output -= 1
    return output


def _max_pool2d_with_indices(torch_kernel: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(
        input: Any,
        kernel_size: Any,
        stride: Any = (),
        padding: Any = (0,),
        dilation: Any = (1,),
        ceil_mode: bool = False,
    ) -> Any:
        def torchs() -> Any:
            return torch_kernel(input, kernel_size, stride, padding, dilation, ceil_mode)

        plain_input = _plain_input(input, (3, 4))
        kernel_pair = _pair(kernel_size)
        omitted = isinstance(stride, Sequence) and len(stride) == 0  # the kernel's size
        stride_pair = kernel_pair if omitted else _pair(stride)
        padding_pair, dilation_pair = _pair(padding), _pair(dilation)
        if (
            not plain_input
            or type(ceil_mode) is not bool
            or kernel_pair is None
            or stride_pair is None
            or padding_pair is None
            or dilation_pair is None
        ):
            return torchs()
        sizes = []
        for size, k, s, p, d in zip(
            input.shape[-2:], kernel_pair, stride_pair, padding_pair, dilation_pair, strict=True
        ):
            # pooling_output_shape's and pool2d_shape_check's conditions, all of them
            if k <= 0 or s <= 0 or d <= 0 or p < 0 or p > k // 2 or p > ((k - 1) * d + 1) // 2:
                return torchs()
            sizes.append(_pooled_size(size, k, p, s, d, ceil_mode))
        if min(sizes) < 1:
            return torchs()  # "Output size is too small", in torch's words
        shape = (*input.shape[:-2], *sizes)
        return (
            torch.empty(shape, dtype=input.dtype, device="meta"),
            torch.empty(shape, dtype=torch.int64, device="meta"),
        )

    return kernel


def _upsample_nearest2d(torch_kernel: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(input: Any, output_size: Any, *scales: Any, **named_scales: Any) -> Any:
        sizes = tuple(output_size) if isinstance(output_size, Sequence) else ()
        if (
            not _plain_input(input, (4,))
            or len(sizes) != 2
            or not all(type(size) is int and size > 0 for size in sizes)
            or not all(s is None or type(s) is float for s in (*scales, *named_scales.values()))
        ):
            return torch_kernel(input, output_size, *scales, **named_scales)
        return torch.empty((*input.shape[:2], *sizes), dtype=input.dtype, device="meta")

    return kernel


def register_spatial_shapes(library: torch.library.Library) -> None:
    """Register the shape-only kernels on `library` (a Meta IMPL library of `aten`), each
    where torch's Meta kernel is a Python one (what it replaces, and falls back to)."""
    makers: list[tuple[torch._ops.OpOverload, Callable[..., Callable[..., Any]]]] = [
        (torch.ops.aten.max_pool2d_with_indices.default, _max_pool2d_with_indices),
        (torch.ops.aten.upsample_nearest2d.default, _upsample_nearest2d),
        (torch.ops.aten._upsample_nearest_exact2d.default, _upsample_nearest2d),
    ]
    for op, make in makers:
        torch_kernel = torch_meta_kernel(op)
        if torch_kernel is not None:
            library.impl(op, make(torch_kernel))
