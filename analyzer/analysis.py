"""`analyze`: one trace, one walk of its graph, every metric and the operator census."""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .conventions import CONVENTIONS, FLOPS, Convention, get_convention
from .memory import MemoryWalk
from .registry import Args, Handler
from .report import HANDLER_FAILED, NO_HANDLER, NOT_COUNTED_BY_CONVENTION, Report, UncountedOp
from .tracing import ModuleTree, describe_shapes, index_modules, trace


def _reaching_output(graph: torch._C.Graph) -> set[torch._C.Node]:
    """Nodes whose results flow into a graph output (the rest is work nobody used)."""
    live: set[torch._C.Node] = set()
    pending = [value.node() for value in graph.outputs()]
    while pending:
        node = pending.pop()
        if node not in live:
            live.add(node)
            pending.extend(value.node() for value in node.inputs())
    return live


def _resolve(value: torch._C.Value) -> Any:
    """A graph value as handler data: shape tuple, constant, list of those, or None."""
    if value.isCompleteTensor():
        return tuple(value.type().sizes())
    node = value.node()
    kind = node.kind()
    if kind == "prim::Constant":
        return value.toIValue()
    if kind == "prim::ListConstruct":
        return [_resolve(item) for item in node.inputs()]
    return None


@functools.lru_cache(maxsize=4096)
def _argument_names(schema: str) -> tuple[str, ...]:
    """The argument names of an op schema (`aten::add.Tensor(Tensor self, ...)`), or ()."""
    try:
        return tuple(argument.name for argument in torch._C.parse_schema(schema).arguments)
    except RuntimeError:  # "(no schema)": prim ops, autograd Functions
        return ()


def _named(node: torch._C.Node) -> Args:
    """The node's inputs by the names of its schema's arguments."""
    names = _argument_names(node.schema())
    values = [_resolve(v) for v in node.inputs()]
    return Args(
        (names[i] if i < len(names) else f"arg{i}", value) for i, value in enumerate(values)
    )


@dataclass(frozen=True)
class _State:
    """What a model holds: own parameter counts and bytes per module, buffers' bytes."""

    own_params: list[int]
    own_param_bytes: list[int]
    parameter_shapes: dict[str, tuple[int, ...]]
    buffer_bytes: int


def _state(tree: ModuleTree) -> _State:
    """One walk of every parameter and buffer; a tensor reached twice (tied) counts once."""
    seen: set[int] = set()
    own_params = [0] * len(tree.modules)
    own_param_bytes = [0] * len(tree.modules)
    shapes: dict[str, tuple[int, ...]] = {}
    buffer_bytes = 0
    for position, (info, module) in enumerate(zip(tree.modules, tree.objects, strict=True)):
        for key, parameter in module._parameters.items():
            if parameter is None or id(parameter) in seen:
                continue
            seen.add(id(parameter))
            own_params[position] += parameter.numel()
            own_param_bytes[position] += parameter.numel() * parameter.element_size()
            shapes[f"{info.name}.{key}" if info.name else key] = tuple(parameter.shape)
        for buffer in module._buffers.values():
            if buffer is None or id(buffer) in seen:
                continue
            seen.add(id(buffer))
            buffer_bytes += buffer.numel() * buffer.element_size()
    return _State(own_params, own_param_bytes, shapes, buffer_bytes)


def _real_flops(
    rules: Mapping[str, Any], kind: str, node: torch._C.Node, outputs: list[torch._C.Value]
) -> int:
    """The `flops` convention's count for one node (for the roofline), 0 if it has none."""
    rule = rules.get(kind)
    if rule is None or rule.flops is None:
        return 0
    try:
        return rule.flops(_named(node), [_resolve(v) for v in outputs])
    except (TypeError, ValueError, IndexError, KeyError, NotImplementedError):
        return 0


def _inclusive(tree: ModuleTree, own: list[int]) -> tuple[int, ...]:
    totals = list(own)
    for position in range(len(totals) - 1, 0, -1):  # children come after their parents
        totals[tree.modules[position].parent] += totals[position]
    return tuple(totals)


def analyze(
    model: nn.Module,
    inputs: Any,
    *,
    convention: str | Convention = "fvcore",
    handlers: Mapping[str, Handler] | None = None,
    meta: bool | None = None,
    kwargs: Mapping[str, Any] | None = None,
    cache_inputs: Collection[int] = (),
) -> Report:
    """Count parameters, flops and activations of `model(*inputs, **kwargs)` per module and
    operator.

    `inputs` is a tensor or a tuple of positional inputs (tensors, or lists, tuples and
    dicts of tensors); any other value is passed as the single positional input. `kwargs`
    are keyword inputs (`attention_mask=...`); values holding no tensor (`use_cache=False`)
    are passed as they are. Give `inputs=()` for a keywords-only call. The model
    is traced once, in whatever train/eval mode it is in, and is left unchanged.
    `convention` is a name in CONVENTIONS or a Convention (e.g. one made with `extend`);
    `handlers` (op -> flops handler) add to or replace its flop handlers for this analysis.

    `meta=None` (default) traces on the meta device (shapes only, no arithmetic) and falls
    back to the tensors as given when the forward needs values; `meta=True` insists on
    meta, `meta=False` traces the real tensors. `Report.traced_on` says which ran.

    `cache_inputs`: positions in `inputs` of a KV cache's tensors (a decode step): their
    bytes are the cache's, not activations, and appending to them writes only the new part.
    """
    rules_of = get_convention(convention)
    if handlers:
        rules_of = rules_of.extend(flops=handlers)
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    tree = index_modules(model)
    traced = trace(model, args, tree, meta=meta, kwargs=dict(kwargs or {}))
    reaching_output = _reaching_output(traced.graph)
    unreached: Counter[int] = Counter()

    rules = rules_of.rules
    ignored = rules_of.ignored
    count = len(tree.modules)
    own_flops: list[Counter[str]] = [Counter() for _ in range(count)]
    own_acts: list[Counter[str]] = [Counter() for _ in range(count)]
    uncounted: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    ignored_calls: Counter[str] = Counter()
    operator_calls: Counter[str] = Counter()
    scope_position: dict[str, int] = {}

    @functools.cache
    def reason_uncounted(kind: str) -> str:
        # Counted by another convention, or an op with no arithmetic at all (free under
        # `flops`, which counts every op that computes: views, shape and data movement):
        # leaving it out is this convention's choice, not a missing handler.
        counted_elsewhere = any(
            kind in c.flops or kind in c.activations for c in CONVENTIONS.values()
        )
        no_arithmetic = kind in CONVENTIONS["flops"].ignored
        return NOT_COUNTED_BY_CONVENTION if counted_elsewhere or no_arithmetic else NO_HANDLER

    def position_of(node: torch._C.Node) -> int:
        scope = node.scopeName()
        position = scope_position.get(scope)
        if position is None:
            # Scopes are module indices joined by "/"; the innermost ran the node.
            innermost = scope.rsplit("/", 1)[-1]
            position = int(innermost) if innermost.isdigit() else 0
            scope_position[scope] = position
        return position

    state_inputs = len(torch.jit._unique_state_dict(model, keep_vars=True))
    parents = [info.parent for info in tree.modules]
    # Roofline flops are real flops: the flops convention's, with any handlers added to it.
    real_rules = rules if rules_of.name == FLOPS.name else FLOPS.rules
    real_flops = functools.partial(_real_flops, real_rules)
    memory = MemoryWalk(
        traced.graph, state_inputs, parents, traced.called, real_flops, cache_inputs
    )
    for node in memory.nodes(position_of):
        kind = node.kind()
        if kind == "prim::PythonOp":  # an autograd.Function: name it as fvcore does
            kind = f"{kind}.{node.pyname()}"
        rule = rules.get(kind)
        if rule is None:
            if kind in ignored:
                ignored_calls[kind] += 1
            elif not kind.startswith("prim::") or kind.startswith(
                ("prim::PythonOp", "prim::CallFunction")
            ):
                uncounted[(kind, reason_uncounted(kind))][position_of(node)] += 1
            continue  # prim:: nodes are graph plumbing (constants, list construction)
        position = position_of(node)
        operator_calls[rule.label] += 1
        if node not in reaching_output:
            unreached[position] += 1
        outs = [_resolve(v) for v in node.outputs()]
        try:
            ins = _named(node)
            if rule.flops is not None:
                own_flops[position][rule.label] += rule.flops(ins, outs)
            if rule.activations is not None:
                own_acts[position][rule.label] += rule.activations(ins, outs)
        except (TypeError, ValueError, IndexError, KeyError, NotImplementedError):
            # Unknown shapes (e.g. a dynamic size) or an unexpected signature: say so.
            uncounted[(kind, HANDLER_FAILED)][position] += 1

    state = _state(tree)
    profile = memory.finish()
    names = [info.name for info in tree.modules]
    return Report(
        convention=rules_of.name,
        convention_summary=rules_of.summary,
        input_shapes=describe_shapes(list(args))
        if not kwargs
        else {"args": describe_shapes(list(args)), "kwargs": describe_shapes(dict(kwargs))},
        modules=tree.modules,
        aliases=tree.index,
        parameter_shapes=state.parameter_shapes,
        uncounted=tuple(
            UncountedOp(
                op=op,
                count=sum(where.values()),
                modules={names[p]: n for p, n in sorted(where.items())},
                reason=reason,
            )
            for (op, reason), where in sorted(uncounted.items())
        ),
        ignored_ops=dict(sorted(ignored_calls.items())),
        operator_calls=dict(operator_calls),
        called=frozenset(traced.called),
        traced_on=traced.traced_on,
        fallback_reason=traced.fallback_reason,
        unreached={names[p]: n for p, n in sorted(unreached.items())},
        notes=tuple(traced.notes),
        self_by_operator={
            "flops": tuple(dict(c) for c in own_flops),
            "activations": tuple(dict(c) for c in own_acts),
            "activation_bytes": profile.activation_bytes,
        },
        inclusive={
            "flops": _inclusive(tree, [sum(c.values()) for c in own_flops]),
            "activations": _inclusive(tree, [sum(c.values()) for c in own_acts]),
            "params": _inclusive(tree, state.own_params),
            "param_bytes": _inclusive(tree, state.own_param_bytes),
            "activation_bytes": _inclusive(
                tree, [sum(c.values()) for c in profile.activation_bytes]
            ),
        },
        memory=profile,
        buffer_bytes=state.buffer_bytes,
    )
