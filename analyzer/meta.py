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
from .meta_spatial import register_spatial_shapes

_REROUTE_LOCK = threading.Lock()
_reroute_users = 0
_reroute_libraries: tuple[torch.library.Library, ...] = ()


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


def _expand(values: Sequence[int], name: str, dims: int) -> list[int]:
    if len(values) == 1:
        return list(values) * dims
    if len(values) != dims:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {dims} values to "
            f"match the convolution dimensions, but got {name}={list(values)}"
        )
    return list(values)


def _check_convolution(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: list[int],
    padding: list[int],
    dilation: list[int],
    transposed: bool,
    output_padding: list[int],
    groups: int,
) -> tuple[list[int], list[int], list[int], list[int]]:
    """What the CPU `aten::_convolution` rejects, rejected with its message (check_shape_forward
    in ATen's Convolution.cpp, the kernels' own checks); else the output's spatial sizes.

    Without this a meta trace counts a model that cannot run (a channel mismatch after a
    config edit), and a real trace refuses it: tests/test_meta.py compares the verdicts.
    """
    dims = weight.dim() - 2
    if dims <= 0:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    stride = _expand(stride, "stride", dims)
    padding = _expand(padding, "padding", dims)
    dilation = _expand(dilation, "dilation", dims)
    output_padding = _expand(output_padding, "output_padding", dims)
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    weight_sizes = list(weight.shape)
    if input.dim() != weight.dim():
        raise RuntimeError(
            f"Expected {weight.dim()}-dimensional input for {weight.dim()}-dimensional weight "
            f"{weight_sizes}, but got {input.dim()}-dimensional input of size "
            f"{list(input.shape)} instead"
        )
    if weight_sizes[0] < groups or weight_sizes[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
            f"0, but got weight of size {weight_sizes} instead"
        )
    channels = weight_sizes[0] if transposed else weight_sizes[1] * groups
    if input.shape[1] != channels:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {weight_sizes}, expected "
            f"input{list(input.shape)} to have {channels} channels, but got {input.shape[1]} "
            "channels instead"
        )
    outputs = weight_sizes[1] * groups if transposed else weight_sizes[0]
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != outputs):
        raise RuntimeError(
            f"Given weight of size {weight_sizes}, expected bias to be 1-dimensional with "
            f"{outputs} elements, but got bias of size {list(bias.shape)} instead"
        )
    if input.shape[0] and input.shape[1] and input.numel() == 0:
        raise RuntimeError(
            "Only zero batch or zero channel inputs are supported, but got input shape: "
            f"{list(input.shape)}"
        )
    if weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype} but found {weight.dtype}")
    onednn = _cpu_uses_onednn(input, weight, stride, dilation, transposed, output_padding, groups)
    # oneDNN and the slow 3-d transposed kernel compare the bias's dtype; the others convert.
    if (
        bias is not None
        and bias.dtype != input.dtype
        and (onednn or (transposed and input.dim() == 5))
    ):
        raise RuntimeError(
            f"Input type ({input.dtype}) and bias type ({bias.dtype}) should be the same"
        )
    if any(d <= 0 for d in dilation):  # (oneDNN's transposed kernel lets some pass)
        raise RuntimeError("dilation should be greater than zero")
    spatial = list(
        zip(
            input.shape[2:],
            weight_sizes[2:],
            stride,
            padding,
            dilation,
            output_padding,
            strict=True,
        )
    )
    if not transposed:
        padded = [size + 2 * p for size, _, _, p, _, _ in spatial]
        kernel = [d * (k - 1) + 1 for _, k, _, _, d, _ in spatial]
        if any(i < k for i, k in zip(padded, kernel, strict=True)):
            raise RuntimeError(
                f"Calculated padded input size per channel: {tuple(padded)}. Kernel size: "
                f"{tuple(kernel)}. Kernel size can't be greater than actual input size"
            )
        return [(i + 2 * p - d * (k - 1) - 1) // s + 1 for i, k, s, p, d, _ in spatial]
    if not onednn and any(o >= s and o >= d for _, _, s, _, d, o in spatial):
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
        )
    sizes = [(i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, k, s, p, d, o in spatial]
    if any(size < (0 if onednn else 1) for size in sizes):
        raise RuntimeError(
            f"Given input size per channel: {tuple(input.shape[2:])}. Calculated output size "
            f"per channel: {tuple(sizes)}. Output size is too small"
        )
    return sizes


def _cpu_uses_onednn(
    input: torch.Tensor,
    weight: torch.Tensor,
    stride: list[int],
    dilation: list[int],
    transposed: bool,
    output_padding: list[int],
    groups: int,
) -> bool:
    """Whether CPU `_convolution` picks the oneDNN kernel (ConvParams::use_mkldnn)."""
    if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        return False
    if input.shape[0] == 0 or input.shape[1] == 0:
        return False  # the "empty" backend
    if transposed and any(o >= s for o, s in zip(output_padding, stride, strict=True)):
        return False  # oneDNN's transposed kernel wants output_padding < stride
    if input.dtype == torch.bfloat16 and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return True
    if input.dtype == torch.float16 and torch.ops.mkldnn._is_mkldnn_fp16_supported():
        return True
    if input.dtype != torch.float32:
        return False
    sizes, kernel = list(input.shape), list(weight.shape)
    if input.dim() == 3:  # 1-d convolutions run as 2-d ones with a height of 1
        sizes, kernel = [*sizes[:2], 1, sizes[2]], [*kernel[:2], 1, kernel[2]]
    return (
        any(s != 1 for s in stride)
        or any(d != 1 for d in dilation)
        or sizes[0] >= 16
        or kernel[-1] != 1
        or kernel[-2] != 1
        or torch.get_num_threads() > 1
    ) and (
        groups > 1
        or (kernel[-1] > 3 and kernel[-2] > 3)
        or sizes[0] > 1
        or sizes[0] * sizes[1] * sizes[2] * sizes[3] > 20480
    )


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
    """`aten::_convolution` on meta: the CPU kernel's checks, then the output's shape."""
    sizes = _check_convolution(
        input, weight, bias, stride, padding, dilation, transposed, output_padding, groups
    )
    channels = weight.shape[1] * groups if transposed else weight.shape[0]
    output = input.new_empty((input.shape[0], channels, *sizes))
    # CPU kernels answer channels-last with channels-last; later views depend on it.
    if input.dim() == 4 and any(
        not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)
        for t in (input, weight)
    ):
        output = output.contiguous(memory_format=torch.channels_last)
    return output


def _check_batch_norm_dtypes(input: torch.Tensor, *parameters: torch.Tensor | None) -> None:
    """The CPU kernel's dtype rule: parameters in the input's dtype, or float32 parameters
    for a float16/bfloat16 input (mixed precision); anything else fails there."""
    dtypes = {p.dtype for p in parameters if p is not None}
    if not dtypes or dtypes == {input.dtype}:
        return
    if dtypes == {torch.float32}:
        if input.dtype in (torch.float16, torch.bfloat16):
            return
        raise RuntimeError(
            f"mixed dtype (CPU): all inputs must share same datatype (input {input.dtype}, "
            "parameters torch.float32)"
        )
    raise RuntimeError(
        "mixed dtype (CPU): expect parameter to have scalar type of Float (input "
        f"{input.dtype}, parameters {', '.join(sorted(str(d) for d in dtypes))})"
    )


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
    """`aten::native_batch_norm` on meta: the CPU kernel's dtype check, then the output,
    saved mean and saved invstd shapes."""
    if (running_mean is None) != (running_var is None):
        raise RuntimeError(
            "running_mean and running_var must either both be None or neither be None"
        )
    _check_batch_norm_dtypes(input, weight, bias, running_mean, running_var)
    saved = input.shape[1] if training else 0  # the CPU kernel saves nothing in eval mode
    return torch.empty_like(input), input.new_empty((saved,)), input.new_empty((saved,))


def _expandable(shape: Sequence[int], target: Sequence[int]) -> bool:
    """Whether `shape` broadcasts to `target` without changing it (`expand`, `add_`)."""
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(reversed(shape), reversed(target), strict=False))


def _linear_shapes(
    input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """`aten::linear` on meta: the CPU path's checks, then the output's shape.

    linear has no kernel of its own: its composite runs `t`, `addmm` or `matmul` and `add_`,
    each through torch's Python meta code (most of a transformer's analysis time), and
    none of those compares dtypes as the CPU kernels do. Registered on AutogradMeta, the
    key a meta tensor meets first below the tracer, which records `aten::linear` either
    way. The checks follow the composite's two paths (ATen's Linear.cpp, as torch 2.13
    takes them): `addmm` when a bias comes with a 2-d input, or with a contiguous input and
    a bias that is one row once its 1-sized dims are dropped; else `matmul`, then an
    in-place `add_` of the bias. tests/test_meta.py compares verdicts with CPU forwards.
    """
    if input.dim() == 0 or weight.dim() == 0:
        raise RuntimeError(
            "both arguments to linear need to be at least 1D, but they are "
            f"{input.dim()}D and {weight.dim()}D"
        )
    if weight.dim() > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {weight.dim()}D"
        )
    in_features, out_shape = weight.shape[-1], tuple(weight.shape[:-1])
    output_shape = (*input.shape[:-1], *out_shape)
    if input.shape[-1] != in_features:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied (input {list(input.shape)}, weight "
            f"{list(weight.shape)})"
        )
    fused = bias is not None and (
        input.dim() == 2
        or (input.is_contiguous() and sum(size != 1 for size in bias.shape) == 1)
        or (input.is_contiguous() and bias.dim() == 1)
    )
    if fused:
        assert bias is not None
        if weight.dim() != 2:
            raise RuntimeError(f"mat2 must be a matrix, got {weight.dim()}-D tensor")
        if len({input.dtype, weight.dtype, bias.dtype}) > 1:
            raise RuntimeError(
                "mat1, mat2 and bias must have the same dtype, but got "
                f"{input.dtype}, {weight.dtype} and {bias.dtype}"
            )
        rows = input.numel() // in_features if in_features else 0
        if not _expandable(bias.shape, (rows, weight.shape[0])):
            raise RuntimeError(
                f"The expanded size of the tensor: bias {list(bias.shape)} does not expand to "
                f"[{rows}, {weight.shape[0]}]"
            )
        return input.new_empty(output_shape)
    if weight.dtype != input.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {input.dtype} != {weight.dtype}"
        )
    output = input.new_empty(output_shape)
    if bias is not None:
        if not _expandable(bias.shape, output_shape):
            raise RuntimeError(
                f"output with shape {list(output_shape)} doesn't match the broadcast shape "
                f"of the bias {list(bias.shape)}"
            )
        promoted = torch.result_type(output, bias)
        if not torch.can_cast(promoted, output.dtype):
            raise RuntimeError(
                f"result type {promoted} can't be cast to the desired output type {output.dtype}"
            )
    return output


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
    global _reroute_users, _reroute_libraries
    with _REROUTE_LOCK:
        if _reroute_users == 0:
            library = torch.library.Library("aten", "IMPL", "Meta")
            library.impl("convolution", _convolution_as_on_cpu)
            library.impl("_convolution", _convolution_shapes)
            library.impl("native_batch_norm", _native_batch_norm_shapes)
            library.impl("_grouped_mm", _grouped_mm_shapes)
            register_elementwise_shapes(library)  # no torch._dynamo import on meta
            register_spatial_shapes(library)  # no sympy import on meta
            autograd = torch.library.Library("aten", "IMPL", "AutogradMeta")
            autograd.impl("linear", _linear_shapes)
            _reroute_libraries = (library, autograd)
        _reroute_users += 1
    try:
        yield
    finally:
        with _REROUTE_LOCK:
            _reroute_users -= 1
            if _reroute_users == 0:
                for library in _reroute_libraries:
                    library._destroy()
                _reroute_libraries = ()


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
        """Parameters, buffers and tensor attributes -> meta tensors; sharing is kept.

        The meta twins are seen by the calling (tracing) thread only: each module's
        `_parameters` and `_buffers` become a `_PerThread` view that shows every other
        thread the real tensors, so the model keeps serving them during the trace. Tensor
        attributes held directly on a module (`self.scale = torch.ones(3)`) cannot be
        viewed per thread: they are meta for every thread until `restore`.
        """
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

        tracing_thread = threading.get_ident()
        for module, attributes, parameters, buffers, _ in self._saved:
            for name, originals in (("_parameters", parameters), ("_buffers", buffers)):
                twins = {
                    key: None if tensor is None else meta_of(tensor)
                    for key, tensor in originals.items()
                }
                module.__dict__[name] = _PerThread(module.__dict__[name], twins, tracing_thread)
            for key, value in attributes.items():
                if isinstance(value, torch.Tensor):
                    module.__dict__[key] = meta_of(value)

    def restore(self) -> None:
        for module, attributes, parameters, buffers, modules in self._saved:
            restored: list[tuple[dict, dict]] = [(module._modules, modules)]  # type: ignore[type-arg]
            for name, saved in (("_parameters", parameters), ("_buffers", buffers)):
                view = module.__dict__.get(name)
                if isinstance(view, _PerThread):
                    # The trace wrote to the twins only; the real dict is put back as it
                    # is, with whatever other threads did to it meanwhile.
                    module.__dict__[name] = view.real
                else:
                    restored.append((module.__dict__[name], saved))
            for current, saved in restored:
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


class _PerThread(dict):  # type: ignore[type-arg]
    """A module's `_parameters` or `_buffers` during a meta trace: the meta twins for the
    tracing thread, the real dict for every other thread.

    nn.Module reaches these dicts only through Python methods (`__getattr__`: `in` and
    `[]`; `named_parameters`, `state_dict`, `_apply`: `items()`; `__setattr__`,
    `register_*`: `in`, `[]=`, `del`), each dispatched here to the caller's dict. The
    dict itself stays empty, so C code that reads it directly sees nothing rather than
    the wrong thread's tensors.
    """

    __slots__ = ("_thread", "_twins", "real")

    def __init__(self, real: dict, twins: dict, thread: int) -> None:  # type: ignore[type-arg]
        super().__init__()
        self.real = real
        self._twins = twins
        self._thread = thread

    def _mine(self) -> dict:  # type: ignore[type-arg]
        return self._twins if threading.get_ident() == self._thread else self.real

    def __getitem__(self, key: Any) -> Any:
        return self._mine()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._mine()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._mine()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._mine()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._mine())

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self._mine())

    def __len__(self) -> int:
        return len(self._mine())

    def __bool__(self) -> bool:
        return bool(self._mine())

    def __eq__(self, other: object) -> bool:
        return self._mine() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._mine())

    def __or__(self, other: Any) -> dict:  # type: ignore[type-arg]
        return self._mine() | other

    def __ior__(self, other: Any) -> _PerThread:
        self._mine().update(other)
        return self

    def __copy__(self) -> dict:  # type: ignore[type-arg]
        return dict(self._mine())

    def __reduce__(self) -> Any:  # pickle / deepcopy from any thread: a plain dict
        return (dict, (dict(self._mine()),))

    def copy(self) -> dict:  # type: ignore[type-arg]
        return dict(self._mine())

    def get(self, key: Any, default: Any = None) -> Any:
        return self._mine().get(key, default)

    def keys(self) -> Any:
        return self._mine().keys()

    def values(self) -> Any:
        return self._mine().values()

    def items(self) -> Any:
        return self._mine().items()

    def pop(self, key: Any, *default: Any) -> Any:
        return self._mine().pop(key, *default)

    def popitem(self) -> Any:
        return self._mine().popitem()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        return self._mine().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._mine().update(*args, **kwargs)

    def clear(self) -> None:
        self._mine().clear()
