"""Shape-only Meta kernels for the common elementwise ops and `cat`, for meta traces.

torch's Meta kernels for these ops are Python references behind a type-promotion wrapper
that `torch._disable_dynamo` decorates: the first call in a process imports `torch._dynamo`
(and the promotion code imports sympy), about 1.3 s on a 2-core machine, to produce a
tensor whose shape and dtype are all a trace needs. The plain case has a plain answer:
every tensor operand contiguous and of one floating dtype, every other operand a Python
number, gives the broadcast shape, that dtype (bool for comparisons), contiguous. Anything
else (mixed dtypes, integers, strided views, errors to report) goes to torch's own kernel,
so results and messages stay torch's.

`register_elementwise_shapes(library)` adds them to a Meta `torch.library.Library` that the
caller destroys after the trace (`meta.conv_meta_reroute`): nothing stays registered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

_NUMBER = (bool, int, float)


def _plain_dtype(tensors: Sequence[Any], others: Sequence[Any]) -> torch.dtype | None:
    """The one floating dtype of contiguous `tensors` with Python-number `others`, else None."""
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        return None
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) != 1 or not all(t.is_contiguous() for t in tensors):
        return None
    if not all(value is None or isinstance(value, _NUMBER) for value in others):
        return None
    (dtype,) = dtypes
    return dtype if dtype.is_floating_point else None


def _broadcast(*shapes: Sequence[int]) -> list[int] | None:
    """numpy's broadcast of `shapes`, or None when they do not broadcast (torch says why).

    torch.broadcast_shapes would import torch.fx's symbolic shapes (and sympy) for this.
    """
    rank = max((len(shape) for shape in shapes), default=0)
    result = [1] * rank
    for shape in shapes:
        for i, size in enumerate(shape, start=rank - len(shape)):
            if result[i] == 1:
                result[i] = size
            elif size not in (1, result[i]):
                return None
    return result


def _empty(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    return torch.empty(tuple(shape), dtype=dtype, device="meta")


def _binary(torch_kernel: Callable[..., Any], result_bool: bool) -> Callable[..., Any]:
    def kernel(self: Any, other: Any, *args: Any, **kwargs: Any) -> Any:
        tensors = [v for v in (self, other) if isinstance(v, torch.Tensor)]
        scalars = [v for v in (self, other, *args, *kwargs.values()) if not isinstance(v, str)]
        dtype = _plain_dtype(tensors, [v for v in scalars if not isinstance(v, torch.Tensor)])
        shape = _broadcast(*(t.shape for t in tensors)) if dtype is not None else None
        if dtype is None or shape is None:
            return torch_kernel(self, other, *args, **kwargs)
        return _empty(shape, torch.bool if result_bool else dtype)

    return kernel


def _unary(torch_kernel: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(self: Any, *args: Any, **kwargs: Any) -> Any:
        options = [v for v in (*args, *kwargs.values()) if not isinstance(v, str)]  # gelu's mode
        dtype = _plain_dtype([self], options)
        if dtype is None:
            return torch_kernel(self, *args, **kwargs)
        return _empty(self.shape, dtype)

    return kernel


def _unary_in_place(torch_kernel: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(self: Any, *args: Any, **kwargs: Any) -> Any:
        options = [v for v in (*args, *kwargs.values()) if not isinstance(v, str)]
        if _plain_dtype([self], options) is None:
            return torch_kernel(self, *args, **kwargs)
        return self  # same shape and dtype, and meta has no values to write

    return kernel


def _where(torch_kernel: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(condition: Any, self: Any, other: Any) -> Any:
        dtype = _plain_dtype([self, other], [])
        plain_condition = isinstance(condition, torch.Tensor) and condition.dtype == torch.bool
        shape = (
            _broadcast(condition.shape, self.shape, other.shape)
            if dtype is not None and plain_condition
            else None
        )
        if (
            shape is None
            or dtype is None
            or not isinstance(condition, torch.Tensor)
            or condition.dtype != torch.bool
            or not condition.is_contiguous()
        ):
            return torch_kernel(condition, self, other)
        return _empty(shape, dtype)

    return kernel


def _cat(torch_kernel: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(tensors: Sequence[Any], dim: int = 0) -> Any:
        dtype = _plain_dtype(list(tensors), [])
        ranks = {t.dim() for t in tensors} if dtype is not None else set()
        if len(ranks) != 1 or 0 in ranks or not -min(ranks) <= dim < min(ranks):
            return torch_kernel(tensors, dim)
        axis = dim % ranks.pop()
        first = tensors[0].shape
        if any(t.shape[:axis] != first[:axis] or t.shape[axis + 1 :] != first[axis + 1 :]
               for t in tensors):  # fmt: skip
            return torch_kernel(tensors, dim)  # torch names the mismatch
        size = sum(t.shape[axis] for t in tensors)
        assert dtype is not None
        return _empty((*first[:axis], size, *first[axis + 1 :]), dtype)

    return kernel


def _stack(torch_kernel: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(tensors: Sequence[Any], dim: int = 0) -> Any:
        dtype = _plain_dtype(list(tensors), [])
        shapes = {tuple(t.shape) for t in tensors} if dtype is not None else set()
        if len(shapes) != 1:
            return torch_kernel(tensors, dim)
        (shape,) = shapes
        if not -len(shape) - 1 <= dim <= len(shape):
            return torch_kernel(tensors, dim)
        axis = dim % (len(shape) + 1)
        assert dtype is not None
        return _empty((*shape[:axis], len(tensors), *shape[axis:]), dtype)

    return kernel


def _empty_like(torch_kernel: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(self: Any, **options: Any) -> Any:
        dtype = options.pop("dtype", None)
        memory_format = options.pop("memory_format", None)
        plain_format = memory_format in (None, torch.preserve_format, torch.contiguous_format)
        if any(v is not None for v in options.values()) or not plain_format:
            return torch_kernel(self, dtype=dtype, memory_format=memory_format, **options)
        if not self.is_contiguous():
            return torch_kernel(self, dtype=dtype, memory_format=memory_format, **options)
        return _empty(self.shape, dtype or self.dtype)

    return kernel


def _reduction(torch_kernel: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(self: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
        plain = _plain_dtype([self], []) if dtype is None else None
        dims = [dim] if isinstance(dim, int) else list(dim or ())
        rank = self.dim() if plain is not None else 0
        if rank == 0 or not all(-rank <= d < rank for d in dims) or len(set(dims)) != len(dims):
            return torch_kernel(self, dim, keepdim, dtype=dtype)
        reduced = {d % rank for d in dims} if dims else set(range(rank))  # [] or None: all
        shape = [
            1 if i in reduced else n
            for i, n in enumerate(self.shape)
            if keepdim or i not in reduced
        ]
        assert plain is not None
        return _empty(shape, plain)

    return kernel


_BINARY = ("add.Tensor", "sub.Tensor", "mul.Tensor", "div.Tensor", "div.Tensor_mode",
           "maximum.default", "minimum.default", "pow.Tensor_Tensor", "pow.Tensor_Scalar",
           "add.Scalar", "sub.Scalar", "mul.Scalar", "div.Scalar")  # fmt: skip
_COMPARISONS = tuple(f"{op}.{kind}" for op in ("eq", "ne", "lt", "le", "gt", "ge")
                     for kind in ("Tensor", "Scalar"))  # fmt: skip
_UNARY = ("sigmoid.default", "exp.default", "neg.default", "sqrt.default", "rsqrt.default",
          "tanh.default", "log.default", "abs.default", "reciprocal.default", "erf.default",
          "sin.default", "cos.default", "clamp.default", "clamp_min.default",
          "clamp_max.default", "hardsigmoid.default", "hardswish.default", "silu.default",
          "gelu.default", "relu.default", "leaky_relu.default", "elu.default",
          "softplus.default", "mish.default", "hardtanh.default", "relu6.default")  # fmt: skip
_UNARY_IN_PLACE = tuple(name.replace(".", "_.", 1) for name in _UNARY)


def torch_meta_kernel(op: torch._ops.OpOverload) -> Callable[..., Any] | None:
    """The Python Meta kernel torch registered for `op` (the precedence of its activate_meta)."""
    from torch._decomp import global_decomposition_table

    for table in ("meta", "post_autograd", "pre_autograd"):
        kernel = global_decomposition_table[table].get(op)
        if kernel is not None:
            return kernel
    return None


def register_elementwise_shapes(library: torch.library.Library) -> None:
    """Register the shape-only kernels on `library` (a Meta IMPL library of `aten`).

    Only for ops whose Meta kernel is torch's Python one: those are what the shortcut
    replaces, and each falls back to it.
    """
    makers: list[tuple[Sequence[str], Callable[..., Callable[..., Any]]]] = [
        (_BINARY, lambda k: _binary(k, result_bool=False)),
        (_COMPARISONS, lambda k: _binary(k, result_bool=True)),
        (_UNARY, _unary),
        (_UNARY_IN_PLACE, _unary_in_place),
        (("where.self",), _where),
        (("cat.default",), _cat),
        (("stack.default",), _stack),
        (("empty_like.default",), _empty_like),
        (("mean.dim", "sum.dim_IntList"), _reduction),
    ]
    for names, make in makers:
        for name in names:
            packet, _, overload = name.partition(".")
            op = getattr(getattr(torch.ops.aten, packet, None), overload, None)
            torch_kernel = torch_meta_kernel(op) if op is not None else None
            # As torch's activate_meta: composite ops decompose into the ones below them.
            if torch_kernel is not None and not torch._C._dispatch_has_kernel_for_dispatch_key(
                op.name(), "CompositeImplicitAutograd"
            ):
                library.impl(op, make(torch_kernel))
