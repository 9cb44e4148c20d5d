"""Handler tables: operator name -> small pure function, registered with a decorator.

A handler is data in, numbers out: it receives the node's inputs by the argument names of
the op's schema (`args["weight"]`, `args["transposed"]`) and its outputs in order, each
resolved to data (a tensor becomes its shape as a tuple of ints, a constant its Python
value, a list construct a list of those, anything else None), and returns one integer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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
