"""Counting conventions: which operators count, with which formula, under which name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from . import handles_flops, handles_fvcore, handles_macs
from .registry import HandlerTable, OpRule, merge_rules


@dataclass(frozen=True)
class Convention:
    """A named set of handlers; `summary` is the sentence every output prints with it."""

    name: str
    summary: str
    flops: HandlerTable = field(repr=False)
    activations: HandlerTable = field(repr=False)
    # Ops deliberately free under this convention (views, shape ops, ...): never reported
    # as unsupported, listed apart as "ignored".
    ignored: frozenset[str] = field(repr=False)
    rules: Mapping[str, OpRule] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rules = MappingProxyType(merge_rules(self.flops, self.activations))
        object.__setattr__(self, "rules", rules)


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
)

CONVENTIONS: Mapping[str, Convention] = MappingProxyType(
    {FVCORE.name: FVCORE, FLOPS.name: FLOPS, MACS.name: MACS}
)


def get_convention(name: str) -> Convention:
    """The convention called `name`; a ValueError naming the known ones otherwise."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        known = ", ".join(CONVENTIONS)
        raise ValueError(f"unknown convention {name!r}; use one of: {known}") from None
