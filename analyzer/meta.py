"""The meta device: shapes and dtypes without values, so analysis allocates no weights.

Two pieces. `ModelState` swaps a model's parameters, buffers and tensor attributes for meta
tensors (and puts everything back afterwards, on either path). `conv_meta_reroute` makes
convolutions traceable on meta: `aten::convolution` is one of the ops the jit tracer does
not record itself (torchgen's DONT_RECORD_TRACE); on CPU its kernel calls
`aten::_convolution` and that call is what the graph gets. torch's Python meta kernel for
`aten::convolution` computes the shape itself instead, so on meta the convolution vanishes
from the graph (and its size checks receive traced values). While a trace runs we register
a Meta kernel that makes the CPU kernel's call, with the same 13 arguments. In the same
registration, `aten::_convolution` and `aten::native_batch_norm` get shape-only Meta kernels:
torch's own run size checks and, for batch norm, a whole Python decomposition (about 2 ms a
call, a third of an RTMDet-s analysis) to produce tensors whose values meta never has. The
tracer records the op above the kernel (`aten::_convolution`, `aten::batch_norm`) either
way, so the graph is the same; the meta/real parity tests hold us to that.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.utils._pytree as pytree
from torch import nn

from .meta_elementwise import register_elementwise_shapes

_REROUTE_LOCK = threading.Lock()
_reroute_users = 0
_reroute_library: torch.library.Library | None = None


def _convolution_as_on_cpu(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: list[int],
    padding: list[int],
    dilation: list[int],
    transposed: bool,
    output_padding: list[int],
    groups: int,
) -> torch.Tensor:
    """`aten::convolution` as its C++ kernel runs it: a call to `aten::_convolution`."""
    cudnn = torch.backends.cudnn
    return torch.ops.aten._convolution(
        input, weight, bias, stride, padding, dilation, transposed, output_padding, groups,
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled, cudnn.allow_tf32,
    )  # fmt: skip


def _convolution_shapes(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: list[int],
    padding: list[int],
    dilation: list[int],
    transposed: bool,
    output_padding: list[int],
    groups: int,
    *backend_flags: bool,
) -> torch.Tensor:
    """`aten::_convolution` on meta: the output's shape (batched input, as conv{1,2,3}d pass)."""
    spatial = zip(
        input.shape[2:], weight.shape[2:], stride, padding, dilation, output_padding, strict=True
    )
    if transposed:
        channels = weight.shape[1] * groups
        sizes = [(i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, k, s, p, d, o in spatial]
    else:
        channels = weight.shape[0]
        sizes = [(i + 2 * p - d * (k - 1) - 1) // s + 1 for i, k, s, p, d, _ in spatial]
    output = input.new_empty((input.shape[0], channels, *sizes))
    # CPU kernels answer channels-last with channels-last; later views depend on it.
    if input.dim() == 4 and any(
        not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)
        for t in (input, weight)
    ):
        output = output.contiguous(memory_format=torch.channels_last)
    return output


def _native_batch_norm_shapes(
    input: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`aten::native_batch_norm` on meta: the output, saved mean and saved invstd shapes."""
    saved = input.shape[1] if training else 0  # the CPU kernel saves nothing in eval mode
    return torch.empty_like(input), input.new_empty((saved,)), input.new_empty((saved,))


def _grouped_mm_shapes(
    mat_a: torch.Tensor,
    mat_b: torch.Tensor,
    offs: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    out_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """`aten::_grouped_mm` on meta: the output's shape, in any floating dtype.

    torch's meta kernel repeats the CUDA kernel's bfloat16-only check, but the CPU kernel
    (which a real forward of the same model runs) takes float32 too: meta follows the model.
    """
    if mat_a.dim() == 2 and mat_b.dim() == 2:  # (M, K) @ (K, N), K split by offs: per group
        groups = offs.shape[0] if offs is not None else 1
        shape: tuple[int, ...] = (groups, mat_a.shape[0], mat_b.shape[1])
    elif mat_a.dim() == 2:  # (S, K) @ (G, K, N): each row through its group's matrix
        shape = (mat_a.shape[0], mat_b.shape[-1])
    elif mat_b.dim() == 2:  # (G, M, K) @ (K, N), N split by offs
        shape = (mat_a.shape[1], mat_b.shape[1])
    else:  # (G, M, K) @ (G, K, N): a batched matmul
        shape = (mat_a.shape[0], mat_a.shape[1], mat_b.shape[-1])
    return mat_a.new_empty(shape, dtype=out_dtype or mat_a.dtype)


@contextmanager
def conv_meta_reroute() -> Iterator[None]:
    """Reroute `aten::convolution` on the Meta key for the duration; nested/threads share it.

    Removing our registration restores the kernel that was there before (the dispatcher
    keeps registrations as a stack), so torch's own meta kernel is back afterwards.
    """
    global _reroute_users, _reroute_library
    with _REROUTE_LOCK:
        if _reroute_users == 0:
            library = torch.library.Library("aten", "IMPL", "Meta")
            library.impl("convolution", _convolution_as_on_cpu)
            library.impl("_convolution", _convolution_shapes)
            library.impl("native_batch_norm", _native_batch_norm_shapes)
            library.impl("_grouped_mm", _grouped_mm_shapes)
            register_elementwise_shapes(library)  # no torch._dynamo import on meta
            _reroute_library = library
        _reroute_users += 1
    try:
        yield
    finally:
        with _REROUTE_LOCK:
            _reroute_users -= 1
            if _reroute_users == 0 and _reroute_library is not None:
                _reroute_library._destroy()
                _reroute_library = None


def _as_meta(tensor: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(tensor, device="meta")


def to_meta(value: Any) -> Any:
    """Every tensor in a (nested) structure replaced by a meta tensor of its shape and dtype."""
    return pytree.tree_map(
        lambda leaf: _as_meta(leaf) if isinstance(leaf, torch.Tensor) else leaf, value
    )


class ModelState:
    """What a forward could change on a model, saved, so that `restore` puts it back.

    Saved per module: the `_parameters`, `_buffers` and `_modules` entries and the plain
    attributes (a forward that re-assigns `self.count = self.count + 1` or stores
    `self.cache = ...`). With `keep_values` (a real trace), a copy of every parameter and
    buffer too, written back if the forward changed it in place (`weight.mul_(0.5)`).
    """

    def __init__(self, modules: Sequence[nn.Module], keep_values: bool) -> None:
        self._saved = [
            (
                module,
                dict(module.__dict__),
                dict(module._parameters),
                dict(module._buffers),
                dict(module._modules),
            )
            for module in modules
        ]
        self._values: list[tuple[torch.Tensor, torch.Tensor]] = []
        if keep_values:
            seen: set[int] = set()
            for module in modules:
                for tensor in (*module._parameters.values(), *module._buffers.values()):
                    if tensor is not None and id(tensor) not in seen and not tensor.is_meta:
                        seen.add(id(tensor))
                        self._values.append((tensor, tensor.detach().clone()))

    def swap_to_meta(self) -> None:
        """Parameters, buffers and tensor attributes -> meta tensors; sharing is kept."""
        replacement: dict[int, torch.Tensor] = {}

        def meta_of(tensor: torch.Tensor) -> torch.Tensor:
            if id(tensor) not in replacement:
                if isinstance(tensor, nn.Parameter):
                    replacement[id(tensor)] = nn.Parameter(
                        _as_meta(tensor), requires_grad=tensor.requires_grad
                    )
                else:
                    replacement[id(tensor)] = _as_meta(tensor)
            return replacement[id(tensor)]

        for module, attributes, parameters, buffers, _ in self._saved:
            for key, parameter in parameters.items():
                if parameter is not None:
                    module._parameters[key] = meta_of(parameter)  # type: ignore[assignment]
            for key, buffer in buffers.items():
                if buffer is not None:
                    module._buffers[key] = meta_of(buffer)
            for key, value in attributes.items():
                if isinstance(value, torch.Tensor):
                    module.__dict__[key] = meta_of(value)

    def restore(self) -> None:
        for module, attributes, parameters, buffers, modules in self._saved:
            for current, saved in (
                (module._parameters, parameters),
                (module._buffers, buffers),
                (module._modules, modules),
            ):
                current.clear()
                current.update(saved)
            for key in [k for k in module.__dict__ if k not in attributes]:
                del module.__dict__[key]
            for key, value in attributes.items():
                if module.__dict__.get(key) is not value:
                    module.__dict__[key] = value
        with torch.no_grad():
            # Unconditionally: kernels such as batch_norm update running stats without
            # bumping the version counter.
            for tensor, value in self._values:
                tensor.copy_(value)
