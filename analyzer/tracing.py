"""Module scopes and the one TorchScript trace an analysis makes.

Every module gets one canonical name: the first under which `named_modules` reaches it, as
fvcore does. A module reused or reachable under a second attribute name keeps that first
name; its other names are aliases. Forward pre/post hooks push and pop the module's index on
the tracer's scope stack so each graph node knows the module that ran it (an index, not the
name: names may contain the "/" that joins scopes); the hooks are removed in `finally`,
whatever the forward does.

A trace runs on the meta device by default (`meta.py`): shapes and dtypes, no weights, no
arithmetic. Traces are serialized by one lock: the tracer's scope stack, our hooks and the
global flags we switch (MHA fast path, the convolution reroute, the recursion limit) are
process-wide.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.utils._pytree as pytree
from torch import nn
from torch.jit import TracerWarning, _get_trace_graph

from .meta import ModelState, conv_meta_reroute, to_meta

# One trace at a time in this process: see the module docstring.
_TRACE_LOCK = threading.RLock()
# Set on the thread whose trace is running: analyze() from inside a traced forward.
_TRACING = threading.local()

# `analyze(progress=...)` hears (stage, done, total): modules whose forward has started
# while TRACING, graph nodes while WALKING.
Progress = Callable[[str, int, int], None]
TRACING = "tracing"
WALKING = "walking"
# The trace tells `progress` where it is every this many modules.
_PROGRESS_EVERY = 50

# Python frames a module call costs under the tracer beyond a plain forward (hooks,
# `_slow_forward`); the recursion limit is raised by this much per nesting level.
_EXTRA_FRAMES_PER_LEVEL = 3


class AnalysisError(RuntimeError):
    """The model could not be traced. `module` is where the forward failed, if known;
    `value_needed`: a meta trace failed for lack of tensor values (a real trace may work);
    `reason`: the short form, for the note that a real trace replaced the meta one."""

    def __init__(
        self,
        message: str,
        module: str | None = None,
        input_shapes: Any = None,
        *,
        value_needed: bool = False,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.module = module
        self.input_shapes = input_shapes
        self.value_needed = value_needed
        self.reason = message if reason is None else reason

    def restated(self, message: str) -> AnalysisError:
        """The same failure in other words (a hint added, the model named), with this one's
        fields: raise it `from` this one."""
        return AnalysisError(
            message,
            module=self.module,
            input_shapes=self.input_shapes,
            value_needed=self.value_needed,
            reason=self.reason,
        )


def short_name(name: str, limit: int = 60) -> str:
    """A module name cut in the middle for messages: `0.0.0.0…(180 chars)….0.conv`."""
    if len(name) <= limit:
        return name
    keep = (limit - 16) // 2
    return f"{name[:keep]}…({len(name)} chars)…{name[-keep:]}"


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

    @property
    def max_depth(self) -> int:
        return max(info.depth for info in self.modules)


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

    running: set[int] = set()  # the modules on the path from the root to the current one
    objects_names: list[str] = []

    def visit(module: nn.Module, name: str, parent: int, depth: int) -> int:
        position = len(infos)
        seen[id(module)] = position
        running.add(id(module))
        index[name] = position
        infos.append(None)
        objects.append(module)
        objects_names.append(name)
        children: list[tuple[str, int]] = []
        for key, child in module._modules.items():
            if child is None:
                continue
            child_name = f"{name}.{key}" if name else key
            if id(child) in running:
                raise _contains_itself(child_name, objects_names[seen[id(child)]])
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
        running.discard(id(module))
        return position

    visit(model, "", -1, 0)
    return ModuleTree(tuple(infos), tuple(objects), index)  # type: ignore[arg-type]


def _contains_itself(path: str, ancestor: str) -> AnalysisError:
    """A module reachable from itself (`model.loop = model`): torch's own `train()`,
    `state_dict()` and `repr` recurse forever on it, so no trace could run either."""
    what = f"submodule {short_name(ancestor)}" if ancestor else "the model"
    return AnalysisError(
        f"{short_name(path)} is {what} again: a module that contains itself cannot be "
        "traced (torch's train(), eval() and state_dict() recurse forever on it); keep that "
        f"reference out of the module tree, e.g. object.__setattr__(module, "
        f"{path.rsplit('.', 1)[-1]!r}, ...)",
        module=path,
    )


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
    traced_on: str  # "meta", or the real device: "cpu", "cuda:0"
    fallback_reason: str | None = None  # why a meta trace gave way to a real one
    # Graph outputs that carry the model's own output; the rest of the graph's nodes reach
    # no output (work kept only because a module returned it).
    output_count: int = 0
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _mha_fastpath_disabled() -> Iterator[None]:
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


@contextlib.contextmanager
def _recursion_room(levels: int) -> Iterator[None]:
    # The tracer costs a few frames per module level more than a plain forward; give them
    # back so a model traces as deep as it runs.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + _EXTRA_FRAMES_PER_LEVEL * levels + 50)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


class _Outputs(nn.Module):
    """Runs the model and returns its tensors plus every module's output tensors.

    The tracer drops work that reaches no graph output; a submodule's result stored on
    `self` or thrown away would count 0. Module outputs as extra graph outputs keep it.
    """

    def __init__(
        self,
        model: nn.Module,
        extras: list[torch.Tensor],
        keywords: tuple[str, ...] = (),
        constants: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.extras = extras
        # The tracer takes positional inputs only: keyword inputs travel at the end of the
        # positional ones and are handed back by name; values with no tensor are constants.
        self.keywords = keywords
        self.constants = constants or {}
        self.output: Any = None

    def forward(self, *args: Any) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        split = len(args) - len(self.keywords)
        named = dict(zip(self.keywords, args[split:], strict=True))
        self.output = self.model(*args[:split], **named, **self.constants)
        tensors = tuple(t for t in pytree.tree_leaves(self.output) if isinstance(t, torch.Tensor))
        return tensors, tuple(self.extras)


def real_device(model: nn.Module, args: tuple[Any, ...]) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers(), *_tensors(args)):
        return tensor.device
    return torch.device("cpu")


def _tensors(value: Any) -> list[torch.Tensor]:
    return [t for t in pytree.tree_leaves(value) if isinstance(t, torch.Tensor)]


def _device_label(device: torch.device) -> str:
    if device.type == "cuda" and device.index is None:
        return f"cuda:{torch.cuda.current_device()}"
    return str(device)


def is_on_meta(model: nn.Module) -> bool:
    """Whether the model has no values to compute with: a parameter or buffer on meta."""
    return any(t.is_meta for t in (*model.parameters(), *model.buffers()))


def _reject_scripted(tree: ModuleTree) -> None:
    for info, module in zip(tree.modules, tree.objects, strict=True):
        if isinstance(module, torch.jit.ScriptModule):
            where = f"submodule {short_name(info.name)}" if info.name else "the model"
            raise AnalysisError(
                f"{where} is a TorchScript module ({info.type}), which the tracer cannot "
                "enter; analyse the eager nn.Module it was scripted from",
                module=info.name,
            )


def trace(
    model: nn.Module,
    args: tuple[Any, ...],
    tree: ModuleTree,
    meta: bool | None = None,
    kwargs: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Trace:
    """Trace `model(*args, **kwargs)` once, under no_grad, every node scoped to its module.

    `meta=True` traces shapes only: parameters, buffers and inputs are swapped for meta
    tensors for the duration. `meta=False` traces the tensors as given. `meta=None` tries
    meta and falls back to a real trace when the forward needs values (`nonzero`,
    `.item()`, masks, value-dependent branches), recording why. A model that is already on
    meta is always traced on meta.

    no_grad keeps memory at that of an inference forward (no autograd graph). Under it,
    nn.MultiheadAttention and nn.TransformerEncoderLayer would take their fused fast path
    (aten::_native_multi_head_attention), hiding their linear and bmm ops, so that fast
    path is switched off for the duration of the trace: the graph is the one fvcore sees.

    The model is left as it was: hooks removed; parameters, buffers and attributes the
    forward re-assigned put back; values changed in place restored.
    """
    _reject_nested()
    _reject_scripted(tree)
    kwargs = kwargs or {}
    keywords = tuple(name for name, value in kwargs.items() if _tensors(value))
    constants = {name: value for name, value in kwargs.items() if name not in keywords}
    args = (*args, *(kwargs[name] for name in keywords))
    call = functools.partial(
        _trace_once, keywords=keywords, constants=constants, progress=progress
    )
    already_meta = is_on_meta(model) or any(t.is_meta for t in _tensors(args))
    if meta is False and already_meta:
        raise AnalysisError(
            "meta=False asks for a real trace, but the model or its inputs are on the meta "
            "device (no values); build them on cpu, or analyse with meta=True"
        )
    with _TRACE_LOCK:
        _TRACING.active = True
        try:
            if meta is False:
                return call(model, args, tree, on_meta=False)
            try:
                return _on_a_thread_of_its_own(
                    functools.partial(call, model, args, tree, on_meta=True)
                )
            except AnalysisError as error:
                # Only a lack of values is the meta path's fault; any other failure is the
                # model's, and a real forward would fail the same way.
                if meta is True or not error.value_needed:
                    raise
                if already_meta:
                    raise error.restated(
                        f"{error}; the model is on the meta device, so it has no values to "
                        "give: build it on cpu to analyse it"
                    ) from error
                reason = error.reason
            traced = call(model, args, tree, on_meta=False)
            return replace(traced, fallback_reason=reason)
        finally:
            _TRACING.active = False


def _on_a_thread_of_its_own(call: Callable[[], Trace]) -> Trace:
    """`call()` on a short-lived thread: its result, or what it raised.

    A meta trace can fail halfway through torch's tracer: an int-list argument holding a
    traced tensor (Swin's `view(b, h // window, window, ...)` with `window` a tensor) is
    stashed in a thread-local store before its value is read, and on meta reading it
    fails, so the stash keeps it. Every later trace on that thread then stops on an
    internal assert (`list_trace[idx] == nullptr`): the cpu retrace, and the user's own
    torch.jit.trace. A thread that ends takes its stash with it.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        _TRACING.active = True  # a nested analyze() from this forward is refused here too
        try:
            outcome["trace"] = call()
        except BaseException as error:  # handed to the caller, raised there
            outcome["error"] = error

    worker = threading.Thread(target=run, name="complexity-meta-trace", daemon=True)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["trace"]


def _reject_nested() -> None:
    """A trace started inside a traced forward: the tracer cannot nest (torch crashed on the
    retry), so refuse before touching it."""
    if getattr(_TRACING, "active", False) or torch._C._get_tracing_state() is not None:
        raise AnalysisError(
            "analyze() was called inside a forward that is being traced (by analyze() or "
            "torch.jit.trace), and traces cannot nest; call analyze() outside the model's "
            "forward"
        )


def _trace_once(
    model: nn.Module,
    args: tuple[Any, ...],
    tree: ModuleTree,
    on_meta: bool,
    keywords: tuple[str, ...] = (),
    constants: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Trace:
    called: set[int] = set()
    total = len(tree.objects)
    stack: list[tuple[int, tuple[Any, ...]]] = []  # the modules whose forward is running
    scoped: list[bool] = []  # per entry of `stack`: whether it pushed a tracer scope
    extras: list[torch.Tensor] = []

    # The hooks sit on the user's modules: a forward of the same model in another thread
    # meets them too, and must pass through untouched (not push onto our stack).
    tracing_thread = threading.get_ident()

    def push(position: int):
        scope = str(position)

        def hook(module: nn.Module, inputs: tuple[Any, ...]) -> None:
            if threading.get_ident() != tracing_thread:
                return
            if position not in called:
                called.add(position)
                if progress is not None and len(called) % _PROGRESS_EVERY == 0:
                    progress(TRACING, len(called), total)
            # The outermost call of the model gets no scope: a node outside every scope is
            # the root's already, and each scope costs the tracer a block to inline
            # afterwards (a root scope around them all made that superlinear).
            state = torch._C._get_tracing_state() if stack or position else None
            stack.append((position, inputs))
            scoped.append(bool(state))
            if state:
                state.push_scope(scope)

        return hook

    def pop(module: nn.Module, inputs: Any, outputs: Any) -> None:
        if threading.get_ident() != tracing_thread:
            return
        stack.pop()
        if scoped.pop():
            state = torch._C._get_tracing_state()
            if state:
                state.pop_scope()
        if isinstance(outputs, torch.Tensor):  # the common case, without pytree's walk
            extras.append(outputs)
        else:
            extras.extend(_tensors(outputs))

    device = "meta" if on_meta else _device_label(real_device(model, args))
    handles = []
    state = ModelState(tree.objects, keep_values=not on_meta)
    wrapper = _Outputs(model, extras, keywords, constants)
    try:
        with contextlib.ExitStack() as scope:
            if on_meta:
                scope.enter_context(conv_meta_reroute())
                scope.enter_context(torch.device("meta"))
                state.swap_to_meta()
                args = to_meta(args)
            for position, module in enumerate(tree.objects):
                handles.append(module.register_forward_pre_hook(push(position)))
                handles.append(module.register_forward_hook(pop))
            scope.enter_context(warnings.catch_warnings())
            scope.enter_context(torch.no_grad())
            scope.enter_context(_mha_fastpath_disabled())
            scope.enter_context(_recursion_room(tree.max_depth))
            warnings.filterwarnings("ignore", category=TracerWarning)
            graph, _ = _get_trace_graph(wrapper, args)
    except Exception as error:
        raise _forward_error(error, tree, stack, on_meta) from error
    finally:
        for handle in handles:
            handle.remove()
        state.restore()
    output_count = len(_tensors(wrapper.output))
    _keep_model_outputs(graph, output_count)
    notes = []
    if output_count == 0:
        notes.append(
            f"the model returned {type(wrapper.output).__name__}, no tensor: only work inside "
            "submodules (their outputs) is counted"
        )
    return Trace(graph, called, device, output_count=output_count, notes=notes)


def _keep_model_outputs(graph: torch._C.Graph, count: int) -> None:
    """Make the graph return the model's `count` output tensors only.

    The extra outputs did their job (their nodes are in the graph); without them, the
    nodes that feed no model output are exactly the work nobody used.
    """
    outputs = list(graph.outputs())
    if len(outputs) == 1 and outputs[0].node().kind() == "prim::TupleConstruct":
        packed = outputs[0].node()
        values = list(packed.inputs())
        graph.eraseOutput(0)
        packed.destroy()
        outputs = values
    else:
        for position in reversed(range(len(outputs))):
            graph.eraseOutput(position)
    for value in outputs[:count]:
        graph.registerOutput(value)


_UNREACHED_TENSOR = (
    "a tensor held where the swap to meta cannot reach it (not a parameter, buffer or tensor "
    "attribute)"
)
# What a meta tensor cannot give, recognised from torch's messages -> what to call it.
_VALUE_NEEDED = (
    ("torch.nonzero()", "torch.nonzero (also boolean-mask indexing, torch.where(cond))"),
    (
        "Tensor.item() cannot be called on meta",
        "Tensor.item() (also bool(), int(), float() of a tensor)",
    ),
    ("Cannot copy out of meta tensor", "reading tensor values (tolist, numpy, printing)"),
    (
        "with Meta tensors, but there was no fake impl or Meta kernel",
        "an operator with no meta kernel",
    ),
    ("data-dependent", "a data-dependent shape"),
    # A tensor kept where the swap to meta cannot reach (a custom container on the model)
    # meets meta tensors: the real tensors can trace it.
    ("is not on the expected device meta", _UNREACHED_TENSOR),
    ("is not on the expected device cpu", _UNREACHED_TENSOR),
    ("found at least two devices", _UNREACHED_TENSOR),
)


def _value_needed(error: BaseException) -> str | None:
    text = str(error)
    for marker, label in _VALUE_NEEDED:
        if marker in text:
            if label == "an operator with no meta kernel":
                return f"{text.split(':', 1)[0]} (no meta kernel)"
            return label
    return None


def _forward_error(
    error: Exception, tree: ModuleTree, stack: list[tuple[int, tuple[Any, ...]]], on_meta: bool
) -> AnalysisError:
    if isinstance(error, AnalysisError):
        return error
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, RecursionError):
        detail = "the model is nested too deeply for Python's recursion limit"
    needed = _value_needed(error) if on_meta else None
    if not stack:
        return AnalysisError(
            f"tracing the model failed: {type(error).__name__}: {detail}",
            value_needed=needed is not None,
            reason=f"{needed or detail} in the model itself",
        )
    position, inputs = stack[-1]
    info = tree.modules[position]
    shapes = describe_shapes(list(inputs))
    where = short_name(info.name) or "the model itself"
    reason = f"{needed or detail} in {where}"
    if needed == _UNREACHED_TENSOR:
        detail = f"{needed} stays on its device while the trace runs on meta"
    elif needed:
        detail = f"{needed} needs tensor values, which a meta trace does not have"
    return AnalysisError(
        f"forward failed in {where} ({info.type}) with input shapes {shapes}: "
        f"{type(error).__name__}: {detail}",
        module=info.name,
        input_shapes=shapes,
        value_needed=needed is not None,
        reason=reason,
    )
