"""What the backward of one training step costs, per module, from the forward's graph.

A collector of the analysis's single walk (`analysis.py`). Which values need a gradient
follows from the graph and the model's parameters, not from autograd (the trace runs under
no_grad, on meta): a parameter with `requires_grad` that no `freeze` pattern names needs
one; the model's inputs, buffers and constants do not; an op's floating-point outputs need
one when one of its tensor inputs does (`detach` and integer or boolean results stop it).
The loss is the sum of the model's outputs, so an op runs its backward only when one of
its outputs needing a gradient leads to an output: a reverse pass over what the walk
recorded finds those.

Each op's backward is priced in the convention's unit, from the shapes, by the rules of
docs/conventions.md ("Backward"):
- matmul family (`formulas.MATMUL_OPS`): one product per operand that needs a gradient,
  each of the forward product's size (dA = G·Bᵀ, dB = Aᵀ·G; a convolution's grad_input is
  a transposed convolution and its grad_weight a convolution of input and grad_output, each
  the forward's multiply-adds; bias gradients are sums, free as the forward's bias adds);
  attention: dV = Pᵀ·G and dP = G·Vᵀ (the p·v product's size each), dQ = dS·K and
  dK = dSᵀ·Q (the q·kᵀ product's size each), each when its input needs it;
- any other op the convention counts: its forward count again, once;
- an op the convention leaves free: free;
- any other op whose result needs a gradient: uncounted in the backward, reported (name,
  calls, where), never 0.
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .formulas import MATMUL_OPS, numel
from .registry import Args, OpRule, count_with

Node = torch._C.Node
Value = torch._C.Value

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
NO_BACKWARD_RULE = "no backward rule"
BACKWARD_HANDLER_FAILED = "handler failed"

# Ops whose outputs carry no gradient whatever their inputs (beyond integer/bool results).
NOT_DIFFERENTIABLE = frozenset(
    "aten::" + op
    for op in (
        "detach detach_ size numel dim Int Float ScalarImplicit argmax argmin "
        "zeros_like ones_like empty_like full_like new_zeros new_ones new_empty new_full "
        "bernoulli_ rand_like randn_like"
    ).split()
)

# Operands whose gradient is one product of the forward's size, by op (schema names; the
# positions of `args.first`). A convolution's `bias`, addmm's `self` are sums: free.
PRODUCT_OPERANDS: Mapping[str, tuple[str | int, ...]] = {
    "aten::_convolution": ("input", "weight"),
    "aten::convolution": ("input", "weight"),
    "aten::_convolution_mode": ("input", "weight"),
    "aten::linear": ("input", "weight"),
    "aten::mm": (0, 1),
    "aten::bmm": (0, 1),
    "aten::matmul": (0, 1),
    "aten::mv": (0, 1),
    "aten::dot": (0, 1),
    "aten::_grouped_mm": (0, 1),
    "aten::addmm": (1, 2),
    "aten::baddbmm": (1, 2),
}


class FreezeError(ValueError):
    """A --freeze pattern that names no parameter."""


@dataclass(frozen=True)
class TrainStep:
    """One training step to price beside the forward.

    `freeze`: module-name prefixes or globs (`backbone`, `backbone.stage*`, `*.norm`) whose
    parameters get no gradient, as `requires_grad_(False)` would; a pattern that names no
    parameter is an error. `optimizer` (`sgd`, `momentum`, `adam`, `adamw`) and `amp` (fp32
    master weights beside half-precision ones) size the optimizer state.
    """

    freeze: tuple[str, ...] = ()
    optimizer: str = "adamw"
    amp: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; use one of: {', '.join(OPTIMIZERS)}"
            )


def frozen_by(name: str, patterns: Iterable[str]) -> str | None:
    """The first pattern freezing parameter `name` (`backbone.conv.weight`), or None.

    A pattern names a module by prefix on dotted boundaries (`backbone` freezes
    `backbone.conv.weight`, not `backbones.x`) or by glob on the module or parameter name.
    """
    module = name.rpartition(".")[0]
    for pattern in patterns:
        pattern = pattern.strip(".")
        if (
            name == pattern
            or name.startswith(pattern + ".")
            or fnmatch.fnmatchcase(module, pattern)
            or fnmatch.fnmatchcase(name, pattern)
        ):
            return pattern
    return None


@dataclass(frozen=True)
class Trainable:
    """Per state input of the trace (`_unique_state_dict` order): needs a gradient; and the
    parameter counts (shared ones once) that do and that do not."""

    flags: tuple[bool, ...]
    params: int
    frozen: int
    bytes: int = 0  # of the trainable parameters, in their dtype


def trainable_state(model: nn.Module, freeze: Sequence[str]) -> Trainable:
    """Which parameters train: `requires_grad` and named by no `freeze` pattern."""
    state = torch.jit._unique_state_dict(model, keep_vars=True)
    used = set()
    flags = []
    params = frozen = trainable_bytes = 0
    for name, tensor in state.items():
        is_parameter = isinstance(tensor, nn.Parameter)
        pattern = frozen_by(name, freeze) if is_parameter else None
        if pattern is not None:
            used.add(pattern)
        trainable = is_parameter and tensor.requires_grad and pattern is None
        flags.append(trainable)
        if is_parameter:
            if trainable:
                params += tensor.numel()
                trainable_bytes += tensor.numel() * tensor.element_size()
            else:
                frozen += tensor.numel()
    unused = [p for p in freeze if p.strip(".") not in used]
    if unused:
        example = next((n for n, t in state.items() if isinstance(t, nn.Parameter)), "")
        raise FreezeError(
            f"--freeze {unused[0]!r} names no parameter; give a module name prefix or glob, "
            f"e.g. {example.rpartition('.')[0] or example!r}"
        )
    return Trainable(tuple(flags), params, frozen, trainable_bytes)


def _carries_gradient(value: Value) -> bool:
    """Whether a value can hold a gradient: a floating tensor, or a list/tuple of tensors."""
    kind = value.type()
    if isinstance(kind, torch._C.TensorType):
        dtype = kind.dtype()
        return dtype is None or dtype.is_floating_point or dtype.is_complex
    if isinstance(kind, torch._C.ListType):
        return isinstance(kind.getElementType(), torch._C.TensorType)
    if isinstance(kind, torch._C.TupleType):
        return any(isinstance(item, torch._C.TensorType) for item in kind.elements())
    if isinstance(kind, torch._C.OptionalType):
        return isinstance(kind.getElementType(), torch._C.TensorType)
    return False


# What autograd saves for the backward, after torch's tools/autograd/derivatives.yaml:
# an op's result (relu, sigmoid, softmax...) or its input (silu, gelu, the norms...).
SAVES_RESULT = frozenset(
    "aten::" + op
    for op in (
        "relu relu_ sigmoid sigmoid_ tanh tanh_ softmax _softmax log_softmax _log_softmax "
        "exp exp_ sqrt rsqrt elu elu_"
    ).split()
)
SAVES_INPUT = frozenset(
    "aten::" + op
    for op in (
        "silu silu_ gelu gelu_ leaky_relu leaky_relu_ hardswish hardswish_ hardsigmoid "
        "hardsigmoid_ mish mish_ softplus pow log log1p sin cos abs erf clamp clamp_ "
        "hardtanh hardtanh_ relu6 relu6_ batch_norm layer_norm group_norm instance_norm "
        "rms_norm upsample_bilinear2d grid_sampler embedding"
    ).split()
)
SAVES_OTHER = frozenset({"aten::mul", "aten::mul_", "aten::div", "aten::div_"})
MAX_POOLS = frozenset(f"aten::max_pool{d}d" for d in (1, 2, 3))
DROPOUTS = frozenset({"aten::dropout", "aten::dropout_", "aten::feature_dropout"})


@dataclass
class _Step:
    """One op of the forward whose results need a gradient, as the walk saw it."""

    outputs: list[Value]
    needing: list[Value]  # its inputs that need a gradient
    position: int
    label: str
    kind: str
    cost: int | None  # None: uncounted, `reason` says why
    reason: str = ""
    saved: list[Value] = field(default_factory=list)  # tensors autograd keeps for it
    saved_extra: int = 0  # bytes it saves that the forward graph has no value for


@dataclass(frozen=True)
class BackwardCost:
    """The backward's count per module (own, by operator label) and what it left out."""

    own: tuple[dict[str, int], ...]
    uncounted: tuple[tuple[str, str, dict[int, int]], ...]  # (op, reason, position -> calls)
    trainable_params: int
    frozen_params: int
    saved_bytes: tuple[int, ...] = ()  # per module: activation bytes saved for the backward
    live_at_backward: int = 0  # saved bytes and the outputs, each storage once


@dataclass
class GradientFlow:
    """The collector: which values need a gradient, and the price of each op's backward."""

    graph: torch._C.Graph
    trainable: Sequence[bool]  # per state input of the graph
    rules: Mapping[str, OpRule]
    ignored: frozenset[str]
    module_count: int
    resolve: Callable[[Value], Any]
    named: Callable[[Node], Args]
    # (storage, bytes) of a value's activation storages (the memory walk's), to count a
    # storage saved twice or through views once; None: each value is its own storage.
    storages: Callable[[Value], list[tuple[int, int]]] | None = None
    _needs: set[Value] = field(default_factory=set)
    _steps: list[_Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        inputs = list(self.graph.inputs())
        first_state = len(inputs) - len(self.trainable)
        for value, trainable in zip(inputs[first_state:], self.trainable, strict=True):
            if trainable:
                self._needs.add(value)

    def visit(self, index: int, node: Node, kind: str, position: int) -> None:
        needs = self._needs
        needing = [node.inputsAt(i) for i in range(node.inputsSize()) if node.inputsAt(i) in needs]
        if not needing or kind in NOT_DIFFERENTIABLE:
            return
        outputs = [
            value
            for value in (node.outputsAt(i) for i in range(node.outputsSize()))
            if _carries_gradient(value)
        ]
        if not outputs:
            return
        needs.update(outputs)
        if kind.startswith("prim::") and not kind.startswith(("prim::PythonOp", "prim::Call")):
            self._steps.append(_Step(outputs, needing, position, "", kind, 0))
            return  # plumbing: lists, tuples, their items
        if kind == "prim::PythonOp":
            kind = f"{kind}.{node.pyname()}"
        rule = self.rules.get(kind)
        label = rule.label if rule is not None else kind.split("::", 1)[-1]
        step = _Step(outputs, needing, position, label, kind, None)
        if rule is None or rule.flops is None:
            if kind in self.ignored:  # free in the forward, free in the backward
                step.cost, step.label = 0, ""
            else:
                step.reason = NO_BACKWARD_RULE
        else:
            try:
                step.cost = self._price(kind, node, rule, set(needing))
            except (TypeError, ValueError, IndexError, KeyError, NotImplementedError):
                step.reason = BACKWARD_HANDLER_FAILED
        # Saved bytes are a lower bound: an odd signature saves none here.
        with contextlib.suppress(TypeError, ValueError, IndexError, KeyError):
            step.saved, step.saved_extra = self._saved(kind, node, set(needing))
        self._steps.append(step)

    def _saved(self, kind: str, node: Node, needing: set[Value]) -> tuple[list[Value], int]:
        """The values (and bytes outside the graph) autograd saves for this op's backward."""
        values = [node.inputsAt(i) for i in range(node.inputsSize())]
        outputs = [node.outputsAt(i) for i in range(node.outputsSize())]
        if kind in PRODUCT_OPERANDS:
            args = self.named(node)
            by_name = dict(zip(args, values, strict=False))
            a, b = (
                values[key] if isinstance(key, int) else by_name[key]
                for key in PRODUCT_OPERANDS[kind]
            )
            # dA needs B, dB needs A: each operand is kept for the other's gradient.
            return [v for v, other in ((a, b), (b, a)) if other in needing], 0
        if kind == "aten::scaled_dot_product_attention":
            # q, k, v, the output and the log-sum-exp of each query row (float32).
            out = self.resolve(outputs[0])
            return [*values[:3], outputs[0]], 4 * numel(out[:-1])
        if kind == "aten::einsum":
            tensors = values[0].node()
            return [tensors.inputsAt(i) for i in range(tensors.inputsSize())], 0
        if kind in SAVES_RESULT:
            return [outputs[0]], 0
        if kind in SAVES_INPUT:
            if kind.endswith("_"):  # in place: autograd keeps a copy of the input it overwrites
                return [], _bytes(values[0])
            return [values[1] if kind == "aten::embedding" else values[0]], 0
        if kind in SAVES_OTHER:
            a, b = values[0], values[1]
            return [v for v, other in ((a, b), (b, a)) if other in needing], 0
        if kind in MAX_POOLS:  # the input, and the argmax of each window (int64)
            return [values[0]], 8 * numel(self.resolve(outputs[0]))
        if kind in DROPOUTS:  # the mask, one byte an element, when it drops anything
            p, train = self.resolve(values[1]), self.resolve(values[2])
            return [], numel(self.resolve(outputs[0])) if train and p else 0
        return [], 0  # adds, views, shape ops, pooling by average: nothing (or unknown)

    def _price(self, kind: str, node: Node, rule: OpRule, needing: set[Value]) -> int:
        args = self.named(node)
        outputs = [self.resolve(node.outputsAt(i)) for i in range(node.outputsSize())]
        forward = count_with(rule.flops, kind, "flops", args, outputs)  # type: ignore[arg-type]
        if kind not in MATMUL_OPS:
            return forward
        values = [node.inputsAt(i) for i in range(node.inputsSize())]
        by_name = dict(zip(args, values, strict=False))
        if kind in PRODUCT_OPERANDS:
            operands = [
                values[key] if isinstance(key, int) else by_name[key]
                for key in PRODUCT_OPERANDS[kind]
            ]
            return forward * sum(operand in needing for operand in operands)
        if kind == "aten::einsum":
            tensors = by_name["tensors"].node()
            items = [tensors.inputsAt(i) for i in range(tensors.inputsSize())]
            return forward * sum(item in self._needs for item in items)
        if kind == "aten::scaled_dot_product_attention":
            query, key, value = (by_name[name] for name in ("query", "key", "value"))
            return _attention_backward(
                forward,
                args["query"],
                args["key"],
                args["value"],
                outputs[0],
                needs_query=query in needing,
                needs_key=key in needing,
                needs_value=value in needing,
            )
        raise NotImplementedError(kind)

    def finish(self, trainable_params: int, frozen_params: int) -> BackwardCost:
        """The reverse pass: ops whose results needing a gradient lead to an output."""
        receives = {value for value in self.graph.outputs() if value in self._needs}
        own: list[Counter[str]] = [Counter() for _ in range(self.module_count)]
        saved = [0] * self.module_count
        kept: set[Any] = set()
        uncounted: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
        for step in reversed(self._steps):
            if not any(value in receives for value in step.outputs):
                continue
            receives.update(step.needing)
            saved[step.position] += step.saved_extra
            for value in step.saved:
                pieces = self.storages(value) if self.storages else [(value, _bytes(value))]
                for storage, size in pieces:
                    if storage not in kept:
                        kept.add(storage)
                        saved[step.position] += size
            if step.cost is None:
                uncounted[(step.kind, step.reason)][step.position] += 1
            elif step.label:
                own[step.position][step.label] += step.cost
        return BackwardCost(
            own=tuple(dict(c) for c in own),
            uncounted=tuple(
                (op, reason, dict(sorted(where.items())))
                for (op, reason), where in sorted(uncounted.items())
            ),
            trainable_params=trainable_params,
            frozen_params=frozen_params,
            saved_bytes=tuple(saved),
            live_at_backward=sum(saved)
            + sum(
                size
                for value in self.graph.outputs()
                for storage, size in (self.storages(value) if self.storages else [])
                if storage not in kept and not kept.add(storage)  # type: ignore[func-returns-value]
            ),
        )


@dataclass(frozen=True)
class TrainingMemory:
    """The memory of one training step, in bytes (docs/memory.md, "Training step").

    `peak_estimate` = parameters + buffers + optimizer state (and fp32 master weights)
    + the largest of: what autograd saved + the outputs, when the backward starts; the
    forward's own peak of live activations (an inference forward's, which a training
    forward holds too); the gradients, when the backward ends. Kernels' scratch space, the
    backward's transient gradients of activations, the saved tensors still live beside a
    forward's transients, and the allocator's caching come on top.
    """

    param_bytes: int
    buffer_bytes: int
    grad_bytes: int  # trainable parameters only, in their dtype
    optimizer_state_bytes: int
    master_weight_bytes: int  # --amp: an fp32 copy of each trainable parameter
    saved_activation_bytes: int
    live_at_backward_bytes: int  # saved activations and the outputs, shared storage once
    forward_peak_bytes: int = 0  # the inference forward's peak of live activations

    @property
    def peak_estimate(self) -> int:
        resident = self.param_bytes + self.buffer_bytes + self.optimizer_state_bytes
        resident += self.master_weight_bytes
        transient = max(self.live_at_backward_bytes, self.forward_peak_bytes, self.grad_bytes)
        return resident + transient

    def to_dict(self) -> dict[str, int]:
        return {
            "param_bytes": self.param_bytes,
            "buffer_bytes": self.buffer_bytes,
            "grad_bytes": self.grad_bytes,
            "optimizer_state_bytes": self.optimizer_state_bytes,
            "master_weight_bytes": self.master_weight_bytes,
            "saved_activation_bytes": self.saved_activation_bytes,
            "live_at_backward_bytes": self.live_at_backward_bytes,
            "forward_peak_bytes": self.forward_peak_bytes,
            "peak_bytes_estimate": self.peak_estimate,
        }


# Optimizer state per trainable parameter element, in tensors of the parameter's size:
# SGD none, SGD with momentum one buffer, Adam and AdamW two moments.
STATE_TENSORS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}


def optimizer_bytes(step: TrainStep, trainable_params: int, trainable_bytes: int) -> int:
    """Optimizer state of some trainable parameters, and under --amp their fp32 master copy."""
    tensors = STATE_TENSORS[step.optimizer]
    if step.amp:
        return (tensors + 1) * 4 * trainable_params
    return tensors * trainable_bytes


def own_trainable(
    modules: Sequence[tuple[str, nn.Module]], freeze: Sequence[str]
) -> tuple[list[int], list[int]]:
    """Per module (`(name, module)` in tree order): the elements and bytes of its own
    trainable parameters (`requires_grad`, named by no `freeze` pattern), shared ones once."""
    seen: set[int] = set()
    params, sizes = [0] * len(modules), [0] * len(modules)
    for position, (name, module) in enumerate(modules):
        for key, parameter in module._parameters.items():
            if parameter is None or id(parameter) in seen:
                continue
            seen.add(id(parameter))
            full = f"{name}.{key}" if name else key
            if parameter.requires_grad and frozen_by(full, freeze) is None:
                params[position] += parameter.numel()
                sizes[position] += parameter.numel() * parameter.element_size()
    return params, sizes


def training_memory(
    step: TrainStep,
    trainable: Trainable,
    cost: BackwardCost,
    param_bytes: int,
    buffer_bytes: int,
    forward_peak_bytes: int = 0,
) -> TrainingMemory:
    """Parameters, gradients, optimizer state and saved activations of one step."""
    tensors = STATE_TENSORS[step.optimizer]
    # Under --amp the optimizer keeps its state and a master copy of the weights in fp32.
    state = tensors * (4 * trainable.params if step.amp else trainable.bytes)
    master = 4 * trainable.params if step.amp else 0
    return TrainingMemory(
        param_bytes=param_bytes,
        buffer_bytes=buffer_bytes,
        grad_bytes=trainable.bytes,
        optimizer_state_bytes=state,
        master_weight_bytes=master,
        saved_activation_bytes=sum(cost.saved_bytes),
        live_at_backward_bytes=cost.live_at_backward,
        forward_peak_bytes=forward_peak_bytes,
    )


def _bytes(value: Value) -> int:
    kind = value.type()
    if not value.isCompleteTensor():
        return 0
    return numel(kind.sizes()) * kind.dtype().itemsize


def _attention_backward(
    forward: int,
    query: Sequence[int],
    key: Sequence[int],
    value: Sequence[int],
    output: Sequence[int],
    *,
    needs_query: bool,
    needs_key: bool,
    needs_value: bool,
) -> int:
    """dV = Pᵀ·G, dP = G·Vᵀ (p·v sized), dQ = dS·K, dK = dSᵀ·Q (q·kᵀ sized), as needed.

    `forward` is the convention's count of q·kᵀ + p·v, so its unit carries over.
    """
    rows = numel(output[:-1])  # batch * query heads * L
    scores = rows * key[-2] * query[-1]  # q·kᵀ multiply-adds
    weighted = rows * key[-2] * value[-1]  # p·v multiply-adds
    unit = forward // (scores + weighted) if scores + weighted else 0
    macs = weighted * needs_value + weighted * (needs_query or needs_key)
    macs += scores * needs_query + scores * needs_key
    return unit * macs
