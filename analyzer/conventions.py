"""Counting conventions: which operators count, with which formula, under which name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from . import handles_flops, handles_fvcore, handles_macs
from .registry import Handler, HandlerTable, OpRule, check_handlers, check_op_name, merge_rules


@dataclass(frozen=True)
class Convention:
    """A named set of handlers; `summary` is the sentence every output prints with it.

    Its tables are live: `rules` is read from them at each analysis. To count an op
    differently without touching a built-in convention, `extend` it.
    """

    name: str
    summary: str
    flops: HandlerTable = field(repr=False)
    activations: HandlerTable = field(repr=False)
    # Ops deliberately free under this convention (views, shape ops, ...): never reported
    # as unsupported, listed apart as "ignored".
    ignored: frozenset[str] = field(repr=False)
    # What one multiply-add counts as: the unit in which work it could not see is priced.
    flops_per_multiply_add: int = 1
    # What its numbers are called: "flops" (fvcore's flop is a multiply-add), or "MACs".
    unit: str = "flops"

    @property
    def rules(self) -> Mapping[str, OpRule]:
        """Op -> its label and handlers, from the tables as they are now."""
        return MappingProxyType(merge_rules(self.flops, self.activations))

    def extend(
        self,
        name: str | None = None,
        *,
        flops: Mapping[str, Handler] | None = None,
        activations: Mapping[str, Handler] | None = None,
        ignored: Iterable[str] = (),
        summary: str | None = None,
    ) -> Convention:
        """A new convention: this one with `flops` / `activations` handlers added or replacing
        its own (op name -> handler), and `ignored` ops made free. This one is unchanged.
        """
        for metric, handlers in (("flops", flops), ("activations", activations)):
            check_handlers(metric, handlers or {})
        if isinstance(ignored, str):
            raise TypeError(
                f"ignored= takes a collection of op names, e.g. ignored=[{ignored!r}], not "
                "one str (whose characters would each become a name)"
            )
        ignored = tuple(ignored)
        for op in ignored:
            check_op_name(op, "ignored=")
        flop_table, activation_table = self.flops.copy(), self.activations.copy()
        for table, handlers in ((flop_table, flops), (activation_table, activations)):
            for op, handler in (handlers or {}).items():
                table.override(op, handler)
        added = sorted({*(flops or {}), *(activations or {})})
        for op in set(ignored) - set(added):  # made free: a handler of ours would count it
            flop_table.remove(op)
            activation_table.remove(op)
        return Convention(
            name=name or self.name,
            summary=summary
            or (self.summary + (f"; own handlers for {', '.join(added)}" if added else "")),
            flops=flop_table,
            activations=activation_table,
            ignored=(self.ignored | frozenset(ignored)) - frozenset(added),
            flops_per_multiply_add=self.flops_per_multiply_add,
            unit=self.unit,
        )


FVCORE = Convention(
    name="fvcore",
    summary=(
        "fvcore: 1 multiply-add = 1 flop; counts conv, matmul, norm, upsample, "
        "adaptive_avg_pool2d, grid_sampler; activations = conv/matmul outputs"
    ),
    flops=handles_fvcore.FLOPS,
    activations=handles_fvcore.ACTIVATIONS,
    ignored=handles_fvcore.IGNORED,
)

FLOPS = Convention(
    name="flops",
    summary=(
        "flops: 1 multiply-add = 2 flops; matmul-family as torch.utils.flop_counter, other "
        "ops at the costs of docs/conventions.md; activations = conv/matmul/sdpa outputs"
    ),
    flops=handles_flops.FLOPS,
    activations=handles_flops.ACTIVATIONS,
    ignored=handles_flops.IGNORED,
    flops_per_multiply_add=2,
)

MACS = Convention(
    name="macs",
    summary=(
        "macs: 1 multiply-add = 1; counts conv, linear, matmul family, einsum and "
        "scaled_dot_product_attention (as q·kᵀ and p·v), everything else free (torchvision's "
        "GFLOPS); activations = conv/matmul/sdpa outputs"
    ),
    flops=handles_macs.FLOPS,
    activations=handles_macs.ACTIVATIONS,
    ignored=handles_macs.IGNORED,
    unit="MACs",
)

CONVENTIONS: Mapping[str, Convention] = MappingProxyType(
    {FVCORE.name: FVCORE, FLOPS.name: FLOPS, MACS.name: MACS}
)


def get_convention(name: str | Convention) -> Convention:
    """The convention called `name` (or `name` itself); a ValueError naming the known ones."""
    if isinstance(name, Convention):
        return name
    try:
        return CONVENTIONS[name]
    except KeyError:
        known = ", ".join(CONVENTIONS)
        raise ValueError(f"unknown convention {name!r}; use one of: {known}") from None
