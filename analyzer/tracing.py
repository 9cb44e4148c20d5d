"""Module scopes and the one TorchScript trace an analysis makes.

Every module gets one canonical name: the first under which `named_modules` reaches it, as
fvcore does. A module reused or reachable under a second attribute name keeps that first
name; its other names are aliases. Forward pre/post hooks push and pop that name on the
tracer's scope stack so each graph node knows the module that ran it; the hooks are removed
in `finally`, whatever the forward does.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.jit import TracerWarning, _get_trace_graph


class AnalysisError(RuntimeError):
    """The model could not be traced. `module` is where the forward failed, if known."""

    def __init__(self, message: str, module: str | None = None, input_shapes: Any = None):
        super().__init__(message)
        self.module = module
        self.input_shapes = input_shapes


@dataclass(frozen=True)
class ModuleInfo:
    """One module of the tree, as renderers need it (no reference to the module itself)."""

    name: str  # canonical dotted name, "" for the root
    type: str  # class name, e.g. "Conv2d"
    parent: int  # index of the parent in `ModuleTree.modules`, -1 for the root
    depth: int  # 0 for the root
    extra_repr: str
    # Attribute name -> module index, in registration order; an alias child points to the
    # index of its canonical entry, as `str(model)` would print it again.
    children: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ModuleTree:
    modules: tuple[ModuleInfo, ...]
    objects: tuple[nn.Module, ...]
    index: dict[str, int]  # every name, canonical or alias -> index of the canonical entry


def index_modules(model: nn.Module) -> ModuleTree:
    """Number modules in `named_modules` order; parents always come before children."""
    infos: list[ModuleInfo | None] = []
    objects: list[nn.Module] = []
    index: dict[str, int] = {}
    seen: dict[int, int] = {}

    def add_alias(module: nn.Module, path: str) -> None:
        index.setdefault(path, seen[id(module)])
        for key, child in module._modules.items():
            if child is not None:
                add_alias(child, f"{path}.{key}")

    def visit(module: nn.Module, name: str, parent: int, depth: int) -> int:
        position = len(infos)
        seen[id(module)] = position
        index[name] = position
        infos.append(None)
        objects.append(module)
        children: list[tuple[str, int]] = []
        for key, child in module._modules.items():
            if child is None:
                continue
            child_name = f"{name}.{key}" if name else key
            if id(child) in seen:
                add_alias(child, child_name)
                children.append((key, seen[id(child)]))
            else:
                children.append((key, visit(child, child_name, position, depth + 1)))
        infos[position] = ModuleInfo(
            name=name,
            type=type(module).__name__,
            parent=parent,
            depth=depth,
            extra_repr=module.extra_repr(),
            children=tuple(children),
        )
        return position

    visit(model, "", -1, 0)
    return ModuleTree(tuple(infos), tuple(objects), index)  # type: ignore[arg-type]


def describe_shapes(value: Any) -> Any:
    """Tensor -> its shape as a list; containers keep their structure; others -> type name."""
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (list, tuple)):
        return [describe_shapes(v) for v in value]
    if isinstance(value, dict):
        return {str(k): describe_shapes(v) for k, v in value.items()}
    return type(value).__name__


@dataclass
class Trace:
    graph: torch._C.Graph
    called: set[int]  # indices of modules whose forward ran


def _buffers_snapshot(model: nn.Module) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for buffer in model.buffers():
        yield buffer, buffer.detach().clone()


@contextlib.contextmanager
def _mha_fastpath_disabled() -> Iterator[None]:
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def trace(model: nn.Module, args: tuple[Any, ...], tree: ModuleTree) -> Trace:
    """Trace `model(*args)` once, under no_grad, with every node scoped to its module.

    no_grad keeps memory at that of an inference forward (no autograd graph). Under it,
    nn.MultiheadAttention and nn.TransformerEncoderLayer would take their fused fast path
    (aten::_native_multi_head_attention), hiding their linear and bmm ops, so that fast
    path is switched off for the duration of the trace: the graph is the one fvcore sees.

    The model is left as it was: hooks removed, buffers (BN running stats of a model in
    training mode, counters) restored.
    """
    called: set[int] = set()
    stack: list[tuple[int, tuple[Any, ...]]] = []  # the modules whose forward is running
    returned: list[str] = []

    def push(position: int, name: str):
        def hook(module: nn.Module, inputs: tuple[Any, ...]) -> None:
            called.add(position)
            stack.append((position, inputs))
            state = torch._C._get_tracing_state()
            if state:
                state.push_scope(name)

        return hook

    def pop(module: nn.Module, inputs: Any, outputs: Any) -> None:
        stack.pop()
        if not stack:  # the model's own forward returned: what it returned, for errors
            returned.append(type(outputs).__name__)
        state = torch._C._get_tracing_state()
        if state:
            state.pop_scope()

    handles = []
    saved = list(_buffers_snapshot(model))
    try:
        for position, module in enumerate(tree.objects):
            name = tree.modules[position].name
            handles.append(module.register_forward_pre_hook(push(position, name)))
            handles.append(module.register_forward_hook(pop))
        with warnings.catch_warnings(), torch.no_grad(), _mha_fastpath_disabled():
            warnings.filterwarnings("ignore", category=TracerWarning)
            graph, _ = _get_trace_graph(model, args)
    except Exception as error:
        raise _forward_error(error, tree, stack, returned) from error
    finally:
        for handle in handles:
            handle.remove()
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)
    return Trace(graph=graph, called=called)


def _forward_error(
    error: Exception,
    tree: ModuleTree,
    stack: list[tuple[int, tuple[Any, ...]]],
    returned: list[str],
) -> AnalysisError:
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if not stack and returned:  # the forward ran to its end: the trace refused its output
        return AnalysisError(
            f"the model's forward returned a value of type {returned[-1]}, which a trace "
            "cannot follow; make it return tensors, or tuples, lists or dicts of tensors"
        )
    if not stack:
        return AnalysisError(f"tracing the model failed: {type(error).__name__}: {detail}")
    position, inputs = stack[-1]
    info = tree.modules[position]
    shapes = describe_shapes(list(inputs))
    where = info.name or "the model itself"
    return AnalysisError(
        f"forward failed in {where} ({info.type}) with input shapes {shapes}: "
        f"{type(error).__name__}: {detail}",
        module=info.name,
        input_shapes=shapes,
    )
