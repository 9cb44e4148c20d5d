"""Handler tables: operator name -> small pure function, registered with a decorator.

A handler is data in, numbers out: it receives the node's inputs by the argument names of
the op's schema (`args["weight"]`, `args["transposed"]`) and its outputs in order, each
resolved to data (a tensor becomes its shape as a tuple of ints, a constant its Python
value, a list construct a list of those, anything else None), and returns one integer.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class Args(dict[str, Any]):
    """A node's inputs by schema argument name, in schema order (`arg0`... without a schema).

    `first(n)` gives the leading operands where overloads name them differently
    (`mm(self, mat2)`, `matmul(self, other)`), as torch's flop formulas take them by position.
    """

    def first(self, count: int = 1) -> list[Any]:
        values = list(self.values())[:count]
        if len(values) < count:
            raise IndexError(f"expected {count} inputs, the node has {len(values)}")
        return values


Handler = Callable[[Args, Sequence[Any]], int]

# What a handler raises when it cannot count a node (a shape it does not know, an
# unexpected signature): the node is reported uncounted ("handler failed"). Anything else
# a handler raises is a bug in it, and stops the analysis naming the op and the handler.
CANNOT_COUNT = (TypeError, ValueError, IndexError, KeyError, NotImplementedError)


def handler_name(handler: Handler) -> str:
    module = getattr(handler, "__module__", None)
    name = getattr(handler, "__qualname__", None) or repr(handler)
    return f"{module}.{name}" if module else name


def count_with(handler: Handler, op: str, metric: str, args: Args, outputs: Sequence[Any]) -> int:
    """`handler(args, outputs)`, checked: a non-negative int, or an error naming the op
    and the handler (a negative, fractional, NaN or boolean count, or a tensor, would
    otherwise become a wrong total or invalid JSON)."""
    from .tracing import AnalysisError  # tracing imports no handler table: no cycle

    where = f"the {metric} handler {handler_name(handler)} for {op}"
    try:
        value = handler(args, outputs)
    except CANNOT_COUNT:
        raise
    except Exception as error:
        raise AnalysisError(f"{where} raised {type(error).__name__}: {error}") from error
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0:
        return int(value)  # a numpy integer
    shown = f"a {type(value).__name__}" if hasattr(value, "shape") else repr(value)
    raise AnalysisError(
        f"{where} returned {shown[:80]}; a handler returns the count of one call as a "
        "non-negative int"
    )


def check_handlers(metric: str, handlers: Mapping[str, Any]) -> None:
    """Op names and handlers given to `Convention.extend`, checked before any analysis."""
    if not isinstance(handlers, Mapping):
        raise TypeError(
            f"{metric}= takes a mapping of op name -> handler, e.g. "
            f"{{'aten::cumsum': fn}}, not a {type(handlers).__name__}"
        )
    for op, handler in handlers.items():
        check_op_name(op, metric)
        if not callable(handler):
            raise TypeError(
                f"the {metric} handler for {op!r} is {handler!r}, not a function "
                f"(args, outputs) -> int; to count nothing for an op, pass it in ignored="
            )


def check_op_name(op: Any, where: str) -> None:
    if not isinstance(op, str) or "::" not in op:
        raise ValueError(
            f"{where}: {op!r} is not an operator name as the graph spells it, e.g. "
            "'aten::linear' or 'prim::PythonOp.MyFunction'"
        )


def simple_op_name(op: str) -> str:
    """`aten::batch_norm` -> `batch_norm`, the label fvcore uses in `by_operator`."""
    return op.split("::", 1)[-1]


@dataclass(frozen=True)
class OpRule:
    """How one operator is counted: its label in `by_operator` and one handler a metric."""

    label: str
    flops: Handler | None
    activations: Handler | None


class HandlerTable:
    """Op name -> (label, handler) for one metric of one convention."""

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self._entries: dict[str, tuple[str, Handler]] = {}

    def register(self, *ops: str, label: str | None = None) -> Callable[[Handler], Handler]:
        """Decorator: count `ops` with the decorated function, labelled `label` or the op."""

        def decorate(handler: Handler) -> Handler:
            for op in ops:
                self.add(op, handler, label)
            return handler

        return decorate

    def add(self, op: str, handler: Handler, label: str | None = None) -> None:
        """Count `op` with `handler`; an op already in this table raises ValueError."""
        if op in self._entries:
            raise ValueError(
                f"{op} already has a {self.metric} handler "
                f"({self._entries[op][1].__name__}); to replace it for your analyses, use "
                "analyze(..., handlers=...) or Convention.extend(...)"
            )
        self._entries[op] = (label or simple_op_name(op), handler)

    def copy(self) -> HandlerTable:
        """An independent table with the same entries (to extend without touching this one)."""
        table = HandlerTable(self.metric)
        table._entries = dict(self._entries)
        return table

    def override(self, op: str, handler: Handler, label: str | None = None) -> None:
        """Count `op` with `handler`, replacing its handler if any; an existing label stays."""
        existing = self._entries.get(op)
        self._entries[op] = (label or (existing[0] if existing else simple_op_name(op)), handler)

    def remove(self, op: str) -> None:
        """Stop counting `op` in this table (a copy's: see `Convention.extend`)."""
        self._entries.pop(op, None)

    def __contains__(self, op: str) -> bool:
        return op in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, op: str) -> tuple[str, Handler] | None:
        return self._entries.get(op)


def merge_rules(flops: HandlerTable, activations: HandlerTable) -> dict[str, OpRule]:
    """One dict lookup per graph node: both metrics' handlers under one key."""
    rules: dict[str, OpRule] = {}
    for op in set(flops) | set(activations):
        flop_entry, act_entry = flops.get(op), activations.get(op)
        label = (flop_entry or act_entry)[0]  # type: ignore[index]
        rules[op] = OpRule(
            label=label,
            flops=flop_entry[1] if flop_entry else None,
            activations=act_entry[1] if act_entry else None,
        )
    return rules
