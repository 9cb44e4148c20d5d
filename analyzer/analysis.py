"""`analyze`: one trace, one walk of its graph, every metric and the operator census."""

from __future__ import annotations

import contextlib
import functools
import gc
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from .backward import GradientFlow, Trainable, TrainStep, trainable_state, training_memory
from .conventions import CONVENTIONS, FLOPS, Convention, get_convention
from .formulas import MULTIPLY_ADD_OPS
from .memory import MemoryWalk, node_inputs, node_outputs
from .registry import CANNOT_COUNT, Args, Handler, count_with
from .report import (
    HANDLER_FAILED,
    NO_HANDLER,
    NOT_COUNTED_BY_CONVENTION,
    Report,
    UncountedOp,
    uncounted_rank,
)
from .roofline import KernelCosts
from .tracing import (
    WALKING,
    ModuleTree,
    Progress,
    describe_shapes,
    index_modules,
    trace,
)


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
        return [_resolve(item) for item in node_inputs(node)]
    return None


@functools.lru_cache(maxsize=4096)
def _argument_names(schema: str) -> tuple[str, ...]:
    """The argument names of an op schema (`aten::add.Tensor(Tensor self, ...)`), or ()."""
    try:
        return tuple(argument.name for argument in torch._C.parse_schema(schema).arguments)
    except RuntimeError:  # "(no schema)": prim ops, autograd Functions
        return ()


# The walk tells `progress` where it is every this many nodes.
_PROGRESS_EVERY = 500


class _Resolved:
    """The walk's current node as handler data, resolved once for every collector that
    reads it (counts, roofline flops, an uncounted op's price, the backward's) instead of
    once each: on a model of many small modules that resolving was a third of the walk.
    Each call hands out a fresh `Args` and list, so a handler that edits its arguments
    changes nobody else's."""

    def __init__(self) -> None:
        self._node: torch._C.Node | None = None
        self._named: list[tuple[str, Any]] | None = None
        self._outputs: list[Any] | None = None

    def _at(self, node: torch._C.Node) -> None:
        if node is not self._node:
            self._node, self._named, self._outputs = node, None, None

    def outputs(self, node: torch._C.Node) -> list[Any]:
        self._at(node)
        if self._outputs is None:
            self._outputs = [_resolve(value) for value in node_outputs(node)]
        return list(self._outputs)

    def named(self, node: torch._C.Node) -> Args:
        """The node's inputs by the names of its schema's arguments."""
        self._at(node)
        if self._named is None:
            names = _argument_names(node.schema())
            self._named = [
                (names[i] if i < len(names) else f"arg{i}", _resolve(value))
                for i, value in enumerate(node_inputs(node))
            ]
        return Args(self._named)


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
    rules: Mapping[str, Any], resolved: _Resolved, kind: str, node: torch._C.Node
) -> int:
    """The `flops` convention's count for one node (for the roofline), 0 if it has none."""
    return _price(rules, resolved, kind, node) or 0


def _price(
    rules: Mapping[str, Any], resolved: _Resolved, kind: str, node: torch._C.Node
) -> int | None:
    """What `rules` would count for one node; None when they have no rule or it cannot."""
    rule = rules.get(kind)
    if rule is None or rule.flops is None:
        return None
    try:
        return count_with(rule.flops, kind, "flops", resolved.named(node), resolved.outputs(node))
    except CANNOT_COUNT:
        return None


def _hidden(op: str, reason: str) -> bool:
    """Work of the kind the convention counts: multiply-adds, or an op it has no rule for
    (elementwise ops a convention leaves out by definition are not)."""
    return op in MULTIPLY_ADD_OPS or reason != NOT_COUNTED_BY_CONVENTION


def _add(total: int | None, value: int | None) -> int | None:
    return None if total is None or value is None else total + value


@dataclass
class _Missed:
    """What one uncounted (op, reason) would have cost, summed over its calls."""

    would_be_flops: int | None = 0
    cost: int | None = 0
    cost_convention: str | None = None


class _UncountedPrices:
    """What each uncounted op would cost: under `flops` (for the ranking) and, when it is
    hidden work, in the convention's own unit, priced by a convention that shares that unit
    (fvcore's attention by `macs`), else by `flops` (docs/conventions.md)."""

    def __init__(
        self, convention: Convention, real_rules: Mapping[str, Any], resolved: _Resolved
    ) -> None:
        self._real_rules = real_rules
        self._resolved = resolved
        self._sources = [
            (c.name, c.rules)
            for c in CONVENTIONS.values()
            if c.name not in (convention.name, FLOPS.name)
            and c.flops_per_multiply_add == convention.flops_per_multiply_add
        ] + [(FLOPS.name, real_rules)]
        self.missed: dict[tuple[str, str], _Missed] = defaultdict(_Missed)

    def add(self, kind: str, reason: str, node: torch._C.Node) -> None:
        entry = self.missed[(kind, reason)]
        free = kind in FLOPS.ignored  # no arithmetic: 0 under `flops`, not unknown
        would_be = 0 if free else _price(self._real_rules, self._resolved, kind, node)
        entry.would_be_flops = _add(entry.would_be_flops, would_be)
        if not _hidden(kind, reason):
            return  # left out by the convention's own definition: not hidden work
        for name, source in self._sources:
            if kind in source and entry.cost_convention in (None, name):
                entry.cost = _add(entry.cost, _price(source, self._resolved, kind, node))
                entry.cost_convention = name
                return
        entry.cost = None

    def entry(self, op: str, reason: str, count: int, modules: dict[str, int]) -> UncountedOp:
        missed = self.missed[(op, reason)]
        hidden = _hidden(op, reason)
        return UncountedOp(
            op=op,
            count=count,
            modules=modules,
            reason=reason,
            would_be_flops=missed.would_be_flops,
            hidden=hidden,
            cost=missed.cost if hidden else None,
            cost_convention=missed.cost_convention if hidden else None,
        )


class Collector(Protocol):
    """One concern of the analysis, fed by the single walk of the graph, node by node."""

    def visit(self, index: int, node: torch._C.Node, kind: str, position: int) -> None:
        """Node number `index` (`kind` = node.kind()), run by the module at `position`."""


class _OperatorCounts:
    """The convention's flops and activations per module and operator, and the census of
    operators: counted calls, ignored ones, uncounted ones (why, where), unreached ones."""

    def __init__(
        self,
        convention: Convention,
        module_count: int,
        graph: torch._C.Graph,
        prices: _UncountedPrices,
        resolved: _Resolved,
    ) -> None:
        self._rules = convention.rules
        self.prices = prices
        self._resolved = resolved
        self._ignored = convention.ignored
        self._reaching_output = _reaching_output(graph)
        self.own_flops: list[Counter[str]] = [Counter() for _ in range(module_count)]
        self.own_acts: list[Counter[str]] = [Counter() for _ in range(module_count)]
        self.uncounted: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
        self.ignored_calls: Counter[str] = Counter()
        self.operator_calls: Counter[str] = Counter()
        self.unreached: Counter[int] = Counter()
        self._reasons: dict[str, str] = {}  # per analysis: the tables are live

    def _reason_uncounted(self, kind: str) -> str:
        reason = self._reasons.get(kind)
        if reason is None:
            # Counted by another convention, or an op with no arithmetic at all (free under
            # `flops`, which counts every op that computes: views, shape and data movement):
            # leaving it out is this convention's choice, not a missing handler.
            counted_elsewhere = any(
                kind in c.flops or kind in c.activations for c in CONVENTIONS.values()
            )
            no_arithmetic = kind in CONVENTIONS["flops"].ignored
            reason = NOT_COUNTED_BY_CONVENTION if counted_elsewhere or no_arithmetic else NO_HANDLER
            self._reasons[kind] = reason
        return reason

    def visit(self, index: int, node: torch._C.Node, kind: str, position: int) -> None:
        if kind == "prim::PythonOp":  # an autograd.Function: name it as fvcore does
            kind = f"{kind}.{node.pyname()}"
        rule = self._rules.get(kind)
        if rule is None:
            if kind in self._ignored:
                self.ignored_calls[kind] += 1
            elif not kind.startswith("prim::") or kind.startswith(
                ("prim::PythonOp", "prim::CallFunction")
            ):
                reason = self._reason_uncounted(kind)
                self.uncounted[(kind, reason)][position] += 1
                self.prices.add(kind, reason, node)
            return  # prim:: nodes are graph plumbing (constants, list construction)
        self.operator_calls[rule.label] += 1
        if node not in self._reaching_output:
            self.unreached[position] += 1
        outs = self._resolved.outputs(node)
        try:
            ins = self._resolved.named(node)
            if rule.flops is not None:
                self.own_flops[position][rule.label] += count_with(
                    rule.flops, kind, "flops", ins, outs
                )
            if rule.activations is not None:
                self.own_acts[position][rule.label] += count_with(
                    rule.activations, kind, "activations", ins, outs
                )
        except CANNOT_COUNT:
            # Unknown shapes (e.g. a dynamic size) or an unexpected signature: say so.
            self.uncounted[(kind, HANDLER_FAILED)][position] += 1
            self.prices.add(kind, HANDLER_FAILED, node)


def _training_notes(tree: ModuleTree) -> list[str]:
    """Say so when modules ran in train mode: BatchNorm and dropout then count their
    training form (batch statistics, masks), which an inference forward does not do."""
    training = [info.name for info, module in zip(tree.modules, tree.objects, strict=True)
                if module.training]  # fmt: skip
    if not training:
        return []
    which = "the model is" if "" in training else f"{len(training)} modules are"
    return [
        f"{which} in train mode: batch norm and dropout are counted in their training form; "
        "call model.eval() first for inference numbers"
    ]


def _inclusive(tree: ModuleTree, own: list[int]) -> tuple[int, ...]:
    totals = list(own)
    for position in range(len(totals) - 1, 0, -1):  # children come after their parents
        totals[tree.modules[position].parent] += totals[position]
    return tuple(totals)


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the analysis, back as it was after.

    The trace and the walk make hundreds of thousands of small objects that all live until
    the report is built; each full collection rescans every one of them (and the model)
    and frees nothing: 13% of a 5,000-layer analysis (benchmarks/bench_many_layers.py).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@_collection_paused()
def analyze(
    model: nn.Module,
    inputs: Any,
    *,
    convention: str | Convention = "fvcore",
    handlers: Mapping[str, Handler] | None = None,
    meta: bool | None = None,
    kwargs: Mapping[str, Any] | None = None,
    memory: bool = True,
    train_step: TrainStep | bool = False,
    cache_inputs: Collection[int] = (),
    progress: Progress | None = None,
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

    `train_step=True` (or a `TrainStep`: frozen parameters, optimizer) adds the backward of
    one training step (loss = sum of the outputs): `backward_flops` and `train_flops` per
    module, and the ops without a backward rule in `Report.uncounted_backward`.

    `memory=False` (ignored with a train step, whose memory needs it) skips the liveness walk and the kernels' costs: the report then has no
    `activation_bytes`, peak or roofline input (`Report.memory` is None), and is faster.

    `cache_inputs`: positions in `inputs` of a KV cache's tensors (a decode step): their
    bytes are the cache's, not activations, and appending to them writes only the new part.

    `progress(stage, done, total)` hears how long work goes, for a progress display: stage
    TRACING counts the modules whose forward has started of all modules, then WALKING the
    graph's nodes walked of all nodes; it is called every few modules and nodes.
    """
    rules_of = get_convention(convention)
    if handlers:
        rules_of = rules_of.extend(flops=handlers)
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    tree = index_modules(model)
    traced = trace(model, args, tree, meta=meta, kwargs=dict(kwargs or {}), progress=progress)
    graph = traced.graph

    # Roofline flops and uncounted ops' prices are real flops: the flops convention's,
    # with any handlers added.
    real_rules = rules_of.rules if rules_of.name == FLOPS.name else FLOPS.rules
    resolved = _Resolved()
    counts = _OperatorCounts(
        rules_of,
        len(tree.modules),
        graph,
        _UncountedPrices(rules_of, real_rules, resolved),
        resolved,
    )
    collectors: list[Collector] = [counts]
    liveness: MemoryWalk | None = None
    costs: KernelCosts | None = None
    step = TrainStep() if train_step is True else train_step or None
    memory = memory or step is not None  # a step's saved activations are storages
    if memory:
        state_inputs = len(torch.jit._unique_state_dict(model, keep_vars=True))
        parents = [info.parent for info in tree.modules]
        liveness = MemoryWalk(graph, state_inputs, parents, traced.called, cache_inputs)
        costs = KernelCosts(liveness, functools.partial(_real_flops, real_rules, resolved))
        collectors += [liveness, costs]  # costs read what liveness saw of the same node
    gradients: GradientFlow | None = None
    trainable: Trainable | None = None
    if step is not None:
        trainable = trainable_state(model, step.freeze)
        gradients = GradientFlow(
            graph,
            trainable.flags,
            rules_of.rules,
            rules_of.ignored,
            len(tree.modules),
            _resolve,
            resolved.named,
            liveness.activation_storages if liveness is not None else None,
        )
        collectors.append(gradients)

    scope_position: dict[str, int] = {}
    nodes = list(graph.nodes())
    for index, node in enumerate(nodes):
        if progress is not None and index % _PROGRESS_EVERY == 0:
            progress(WALKING, index, len(nodes))
        scope = node.scopeName()
        position = scope_position.get(scope)
        if position is None:
            # Scopes are module indices joined by "/"; the innermost ran the node.
            innermost = scope.rsplit("/", 1)[-1]
            position = int(innermost) if innermost.isdigit() else 0
            scope_position[scope] = position
        kind = node.kind()
        for collector in collectors:
            collector.visit(index, node, kind, position)

    state = _state(tree)
    names = [info.name for info in tree.modules]
    self_by_operator: dict[str, tuple[Mapping[str, int], ...]] = {
        "flops": tuple(dict(c) for c in counts.own_flops),
        "activations": tuple(dict(c) for c in counts.own_acts),
    }
    inclusive = {
        "flops": _inclusive(tree, [sum(c.values()) for c in counts.own_flops]),
        "activations": _inclusive(tree, [sum(c.values()) for c in counts.own_acts]),
        "params": _inclusive(tree, state.own_params),
        "param_bytes": _inclusive(tree, state.own_param_bytes),
    }
    profile = None
    if liveness is not None and costs is not None:
        profile = liveness.finish(costs.ops)
        self_by_operator["activation_bytes"] = profile.activation_bytes
        inclusive["activation_bytes"] = _inclusive(
            tree, [sum(c.values()) for c in profile.activation_bytes]
        )
    uncounted_backward: tuple[UncountedOp, ...] = ()
    train_memory = None
    if gradients is not None and trainable is not None:
        backward = gradients.finish(trainable.params, trainable.frozen)
        own_backward = [sum(c.values()) for c in backward.own]
        self_by_operator["backward_flops"] = backward.own
        self_by_operator["train_flops"] = tuple(
            dict(Counter(f) + Counter(b))
            for f, b in zip(self_by_operator["flops"], backward.own, strict=True)
        )
        inclusive["backward_flops"] = _inclusive(tree, own_backward)
        inclusive["train_flops"] = tuple(
            f + b for f, b in zip(inclusive["flops"], inclusive["backward_flops"], strict=True)
        )
        train_memory = training_memory(
            step,
            trainable,
            backward,
            sum(state.own_param_bytes),
            state.buffer_bytes,
            profile.peak_bytes if profile is not None else 0,
        )
        inclusive["saved_activation_bytes"] = _inclusive(tree, list(backward.saved_bytes))
        uncounted_backward = tuple(
            UncountedOp(
                op=op,
                count=sum(where.values()),
                modules={names[p]: n for p, n in where.items()},
                reason=reason,
            )
            for op, reason, where in backward.uncounted
        )
    return Report(
        convention=rules_of.name,
        convention_summary=rules_of.summary,
        unit=rules_of.unit,
        flops_per_multiply_add=rules_of.flops_per_multiply_add,
        input_shapes=describe_shapes(list(args))
        if not kwargs
        else {"args": describe_shapes(list(args)), "kwargs": describe_shapes(dict(kwargs))},
        modules=tree.modules,
        aliases=tree.index,
        parameter_shapes=state.parameter_shapes,
        uncounted=tuple(
            sorted(
                (
                    counts.prices.entry(
                        op,
                        reason,
                        sum(where.values()),
                        {names[p]: n for p, n in sorted(where.items())},
                    )
                    for (op, reason), where in counts.uncounted.items()
                ),
                key=uncounted_rank,
            )
        ),
        ignored_ops=dict(sorted(counts.ignored_calls.items())),
        operator_calls=dict(counts.operator_calls),
        called=frozenset(traced.called),
        traced_on=traced.traced_on,
        fallback_reason=traced.fallback_reason,
        unreached={names[p]: n for p, n in sorted(counts.unreached.items())},
        notes=(*traced.notes, *_training_notes(tree)),
        self_by_operator=self_by_operator,
        inclusive=inclusive,
        memory=profile,
        buffer_bytes=state.buffer_bytes,
        train_step=step,
        trainable_params=trainable.params if trainable else None,
        uncounted_backward=uncounted_backward,
        train_memory=train_memory,
    )
