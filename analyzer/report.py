"""The result of an analysis: a plain data object, no printing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .backward import TrainingMemory, TrainStep
from .memory import MemoryProfile
from .tracing import ModuleInfo

METRICS = ("flops", "activations", "params", "param_bytes", "activation_bytes")
# With a train step only: the backward (loss = sum of the outputs), forward + backward.
TRAIN_METRICS = (
    "backward_flops",
    "train_flops",
    "saved_activation_bytes",
    "grad_bytes",
    "optimizer_bytes",
)
ALL_METRICS = METRICS + TRAIN_METRICS
# Metrics that are not produced by operators (no `by_operator` for them).
STATE_METRICS = ("params", "param_bytes")

# Why an operator that ran was not counted.
NOT_COUNTED_BY_CONVENTION = "not counted by this convention"
NO_HANDLER = "no handler"
HANDLER_FAILED = "handler failed"


@dataclass(frozen=True)
class UncountedOp:
    """An operator that ran but contributed nothing: name, calls, where, and why."""

    op: str
    count: int
    modules: Mapping[str, int]  # canonical module name that ran it -> calls there
    reason: str
    # What its calls would cost under the `flops` convention (None: no rule can price them);
    # the uncounted section is ranked by it.
    would_be_flops: int | None = None
    # Work of the kind this convention counts (multiply-adds, or an op it has no rule for),
    # so its total is short by `cost` (None: unknown), in the numbers of `cost_convention`,
    # the convention with this one's unit that prices it (else `flops`). Ops a convention
    # leaves out by definition (elementwise ops under fvcore) are not hidden.
    hidden: bool = False
    cost: int | None = None
    cost_convention: str | None = None


def uncounted_rank(entry: UncountedOp) -> tuple[int, int, int, str]:
    """Hidden work first, most `would_be_flops` first; then the ops the convention leaves
    out by definition, most calls first (so a convention's own omissions keep call order)."""
    if entry.hidden:
        return (0, -(entry.would_be_flops or 0), -entry.count, entry.op)
    return (1, 0, -entry.count, entry.op)


@dataclass(frozen=True)
class Report:
    """Parameters, flops and activations of one model on one input, per module and operator.

    Module keys are canonical names ("" is the whole model); every module's numbers include
    its descendants'. A module reused, or reachable under two names, is credited under its
    first name; parameters shared by two modules are counted once, under the first.
    """

    convention: str
    convention_summary: str
    input_shapes: Any
    modules: tuple[ModuleInfo, ...]
    aliases: Mapping[str, int] = field(repr=False)  # any module name -> index in `modules`
    parameter_shapes: Mapping[str, tuple[int, ...]] = field(repr=False)
    uncounted: tuple[UncountedOp, ...]  # in `uncounted_rank` order
    ignored_ops: Mapping[str, int]  # op -> calls, free by the convention (views, shapes...)
    operator_calls: Mapping[str, int]  # counted operator label -> calls
    called: frozenset[int] = field(repr=False)
    # metric -> per module index, the module's own (exclusive) counts by operator label
    self_by_operator: Mapping[str, tuple[Mapping[str, int], ...]] = field(repr=False)
    # metric -> per module index, inclusive totals
    inclusive: Mapping[str, tuple[int, ...]] = field(repr=False)
    # Liveness of the forward's tensors (peak activation memory) and per-kernel costs.
    memory: MemoryProfile | None = field(default=None, repr=False)
    buffer_bytes: int = 0  # all buffers (BN statistics...), shared ones once: not activations
    # "meta" (shapes only, no weights) or the real device that ran: "cpu", "cuda:0"
    traced_on: str = "cpu"
    fallback_reason: str | None = None  # why a meta trace gave way to a real one
    # Module -> counted operator calls whose results reached no model output (a result
    # stored on `self` or dropped): counted, and named here because a plain trace drops them.
    unreached: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # e.g. the model returned no tensor
    train_step: TrainStep | None = None  # what the backward metrics price, if asked
    trainable_params: int | None = None  # parameters that get a gradient (train step only)
    # Ops whose results need a gradient but that have no backward rule (train step only).
    uncounted_backward: tuple[UncountedOp, ...] = ()
    train_memory: TrainingMemory | None = None  # one step's memory (train step only)
    # What the `flops` metric's numbers are: "flops", or "MACs" under the macs convention.
    unit: str = "flops"
    flops_per_multiply_add: int = 1  # 1 under fvcore and macs, 2 under flops

    @property
    def unit_label(self) -> str:
        """`Flops` or `MACs`: the word printed beside the numbers (`Model MACs: ...`)."""
        return "Flops" if self.unit == "flops" else self.unit

    @property
    def provenance(self) -> str:
        """One line: what was traced, and why on real tensors when meta was given up."""
        if self.traced_on == "meta":
            return "traced on meta: shapes and dtypes only, no weights allocated"
        line = f"traced on {self.traced_on}: real tensors"
        if self.fallback_reason:
            line += f" (the meta trace needed values: {self.fallback_reason})"
        return line

    def footer_lines(self, limit: int = 3) -> list[str]:
        """What every rendering states under the numbers: how it was traced, and caveats."""
        lines = [self.provenance]
        if self.unreached:
            shown = [f"{name or 'the model itself'} ×{n}" for name, n in self.unreached.items()]
            more = f", +{len(shown) - limit} more" if len(shown) > limit else ""
            lines.append(
                "counted, though their results reach no output: "
                f"{sum(self.unreached.values())} operator calls in {', '.join(shown[:limit])}{more}"
            )
        lines.extend(f"note: {note}" for note in self.notes)
        return lines

    def _check(self, metric: str) -> str:
        if metric not in ALL_METRICS:
            raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(ALL_METRICS)}")
        if metric not in self.inclusive:
            needs = "train_step=True" if metric in TRAIN_METRICS else "memory=True"
            raise ValueError(f"{metric} was not collected: analyze(..., {needs}) counts it")
        return metric

    def _position(self, module: str) -> int:
        try:
            return self.aliases[module]
        except KeyError:
            raise KeyError(f"no module named {module!r} in the analysed model") from None

    def canonical_name(self, module: str) -> str:
        return self.modules[self._position(module)].name

    def total(self, metric: str, module: str = "") -> int:
        """The metric for `module` (default: the whole model), descendants included."""
        return self.inclusive[self._check(metric)][self._position(module)]

    def totals(self) -> dict[str, int]:
        """The whole model's figures, as JSON's `totals` holds them: every metric and memory
        (the activation bytes and peak only when the analysis collected memory)."""
        totals = {metric: self.total(metric) for metric in ALL_METRICS if metric in self.inclusive}
        if self.memory is not None:
            totals["peak_activation_bytes"] = self.peak_activation_bytes
        totals["buffer_bytes"] = self.buffer_bytes
        return totals

    def by_module(self, metric: str) -> dict[str, int]:
        """Canonical module name -> the metric, descendants included, in module order."""
        values = self.inclusive[self._check(metric)]
        return {info.name: values[i] for i, info in enumerate(self.modules)}

    def by_operator(self, metric: str, module: str = "") -> dict[str, int]:
        """Operator label -> the metric inside `module` (default: the whole model)."""
        if self._check(metric) in STATE_METRICS:
            raise ValueError("parameters are not produced by operators; use by_module")
        root = self._position(module)
        own = self.self_by_operator[metric]
        totals: dict[str, int] = {}
        for position in self._subtree(root):
            for label, value in own[position].items():
                totals[label] = totals.get(label, 0) + value
        return totals

    def by_module_and_operator(self, metric: str) -> dict[str, dict[str, int]]:
        """Canonical module name -> operator label -> the metric, descendants included."""
        if self._check(metric) in STATE_METRICS:
            raise ValueError("parameters are not produced by operators; use by_module")
        own = self.self_by_operator[metric]
        result: list[dict[str, int]] = [dict(counts) for counts in own]
        for position in range(len(self.modules) - 1, 0, -1):
            parent = result[self.modules[position].parent]
            for label, value in result[position].items():
                parent[label] = parent.get(label, 0) + value
        return {info.name: result[i] for i, info in enumerate(self.modules)}

    def _subtree(self, root: int) -> list[int]:
        # Indices are in pre-order, so a subtree is the run of deeper entries after its root.
        end = root + 1
        depth = self.modules[root].depth
        while end < len(self.modules) and self.modules[end].depth > depth:
            end += 1
        return list(range(root, end))

    @property
    def peak_activation_bytes(self) -> int:
        """Most bytes of activations live at once in an inference forward (docs/memory.md)."""
        return self.memory.peak_bytes if self.memory else 0

    @property
    def peak_activation_at(self) -> tuple[str, str]:
        """(op, canonical module name) running when the activation peak is reached."""
        if self.memory is None:
            return "", ""
        return self.memory.peak_node, self.modules[self.memory.peak_position].name

    def peak_by_module(self) -> dict[str, int]:
        """Canonical module name -> peak activation bytes while it (or a descendant) runs."""
        peaks = self.memory.module_peaks if self.memory else (0,) * len(self.modules)
        return {info.name: peaks[i] for i, info in enumerate(self.modules)}

    @property
    def hidden_work(self) -> int:
        """Priced work of the convention's own kind that went uncounted (`UncountedOp.cost`)."""
        return sum(e.cost or 0 for e in self.uncounted if e.hidden)

    @property
    def uncounted_share(self) -> float | None:
        """`hidden_work` as a share of the counted total; None when nothing was counted but
        some work was missed (no share to give)."""
        counted, missed = self.total("flops"), self.hidden_work
        if not counted:
            return None if missed else 0.0
        return missed / counted

    @property
    def unsupported_ops(self) -> dict[str, int]:
        """Op -> calls, for every op that ran uncounted (fvcore's `unsupported_ops()`)."""
        return {entry.op: entry.count for entry in self.uncounted}

    @property
    def reached(self) -> frozenset[int]:
        """Indices of modules whose forward ran, or that contain one that ran.

        A container (ModuleList, ModuleDict) or a module whose `.forward` was called directly
        counts as reached when one of its descendants was called, as in fvcore.
        """
        reached = set(self.called)
        for position in sorted(self.called):
            parent = self.modules[position].parent
            while parent >= 0 and parent not in reached:
                reached.add(parent)
                parent = self.modules[parent].parent
        return frozenset(reached)

    @property
    def uncalled_modules(self) -> frozenset[str]:
        """Modules never run during the trace: neither they nor any descendant was called."""
        reached = self.reached
        return frozenset(info.name for i, info in enumerate(self.modules) if i not in reached)

    def to_dict(self, version: str | None = None) -> dict[str, Any]:
        """Everything, as JSON-ready plain data (schema: docs/json.md)."""
        if self.memory is None:
            raise ValueError("the JSON report carries memory: analyze(..., memory=True)")
        flops_by_op = self.by_module_and_operator("flops")
        reached = self.reached
        peaks = self.peak_by_module()
        peak_op, peak_module = self.peak_activation_at
        return {
            "schema": 1,
            "tool": {"name": "complexity", "version": version},
            "convention": {
                "name": self.convention,
                "summary": self.convention_summary,
                "unit": self.unit,
            },
            "input_shapes": self.input_shapes,
            "traced_on": {"device": self.traced_on, "fallback_reason": self.fallback_reason},
            "totals": self.totals(),
            "peak_activation": {
                "bytes": self.peak_activation_bytes,
                "op": peak_op,
                "module": peak_module,
                "input_bytes": self.memory.input_bytes if self.memory else 0,
                "output_bytes": self.memory.output_bytes if self.memory else 0,
            },
            "modules": [
                {
                    "name": info.name,
                    "type": info.type,
                    "depth": info.depth,
                    "called": i in reached,
                    "params": self.inclusive["params"][i],
                    "flops": self.inclusive["flops"][i],
                    "activations": self.inclusive["activations"][i],
                    "flops_by_operator": flops_by_op[info.name],
                    "param_bytes": self.inclusive["param_bytes"][i],
                    "activation_bytes": self.inclusive["activation_bytes"][i],
                    "peak_activation_bytes": peaks[info.name],
                    **{
                        metric: self.inclusive[metric][i]
                        for metric in TRAIN_METRICS
                        if metric in self.inclusive
                    },
                }
                for i, info in enumerate(self.modules)
            ],
            "hidden_work": self.hidden_work,
            "uncounted_share": self.uncounted_share,
            "uncounted_ops": [
                {
                    "op": e.op,
                    "count": e.count,
                    "reason": e.reason,
                    "modules": dict(e.modules),
                    "would_be_flops": e.would_be_flops,
                    "hidden": e.hidden,
                    "cost": e.cost,
                    "cost_convention": e.cost_convention,
                }
                for e in self.uncounted
            ],
            "ignored_ops": dict(self.ignored_ops),
            "operator_calls": dict(self.operator_calls),
            "unreached_output": dict(self.unreached),
            "notes": list(self.notes),
            **({"train_step": self.train_step_dict()} if self.train_step else {}),
        }

    def train_step_dict(self) -> dict[str, Any]:
        """The train step's settings and what its backward left out (JSON `train_step`)."""
        step = self.train_step
        assert step is not None
        total_params = self.total("params")
        trainable = self.trainable_params or 0
        return {
            "loss": "sum of the outputs",
            "freeze": list(step.freeze),
            "optimizer": step.optimizer,
            "amp": step.amp,
            "trainable_params": trainable,
            "frozen_params": total_params - trainable,
            "backward_to_forward": (
                self.total("backward_flops") / self.total("flops") if self.total("flops") else None
            ),
            "memory": self.train_memory.to_dict() if self.train_memory else None,
            "uncounted_backward_ops": [
                {"op": e.op, "count": e.count, "reason": e.reason, "modules": dict(e.modules)}
                for e in self.uncounted_backward
            ],
        }
