"""Two reports side by side: totals and modules matched by name, with b − a and b / a."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .report import ALL_METRICS, Report

# Module order and depth come from the reports; a module is matched by its canonical name.
BOTH, ONLY_A, ONLY_B = "both", "a", "b"


@dataclass(frozen=True)
class Change:
    """One metric in A and in B; `None` where the module is absent from that side."""

    a: int | None
    b: int | None

    @property
    def delta(self) -> int | None:
        """b − a, or None when the module is missing on one side."""
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def ratio(self) -> float | None:
        """b / a, or None when undefined (a side missing, or a is zero)."""
        return None if self.a is None or self.b is None or self.a == 0 else self.b / self.a

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "delta": self.delta, "ratio": self.ratio}


@dataclass(frozen=True)
class ModuleChange:
    name: str  # canonical name; "" is the whole model
    depth: int
    present: str  # BOTH, ONLY_A or ONLY_B
    type_a: str | None
    type_b: str | None
    metrics: dict[str, Change]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "depth": self.depth,
            "in": self.present,
            "type_a": self.type_a,
            "type_b": self.type_b,
            **{metric: change.to_dict() for metric, change in self.metrics.items()},
        }


@dataclass(frozen=True)
class ReportDiff:
    """`compare_reports(a, b)`: the totals and every module, matched by name."""

    totals: dict[str, Change]
    modules: tuple[ModuleChange, ...]

    def shown(self, depth: int) -> list[ModuleChange]:
        """Modules at most `depth` levels below the model, leaving out all-zero ones."""
        return [
            module
            for module in self.modules
            if module.depth <= depth
            and (
                module.depth == 0
                or any(v for change in module.metrics.values() for v in (change.a, change.b))
            )
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"totals": {metric: {a, b, delta, ratio}}, "modules": [...]} ."""
        return {
            "totals": {metric: change.to_dict() for metric, change in self.totals.items()},
            "modules": [module.to_dict() for module in self.modules],
        }


def _merged_order(a: list[str], b: list[str]) -> list[str]:
    """A's names in A's order, each B-only name placed after the B name that precedes it."""
    order = list(a)
    placed = set(a)
    position = {name: i for i, name in enumerate(order)}
    previous = None
    for name in b:
        if name not in placed:
            at = position[previous] + 1 if previous is not None else len(order)
            order.insert(at, name)
            placed.add(name)
            position = {n: i for i, n in enumerate(order)}
        previous = name
    return order


def compare_reports(a: Report, b: Report) -> ReportDiff:
    """Match the modules of two reports by canonical name; each metric as A, B, b − a, b / a.

    Both reports should follow one convention; comparing across conventions is refused,
    since the difference would be the convention's, not the models'.
    """
    if a.convention != b.convention:
        raise ValueError(
            f"the reports follow different conventions ({a.convention} and {b.convention})"
        )
    infos_a = {info.name: info for info in a.modules}
    infos_b = {info.name: info for info in b.modules}
    # Both reports carry the memory and train-step metrics only when both collected them.
    metrics = [m for m in ALL_METRICS if m in a.inclusive and m in b.inclusive]
    values_a = {metric: a.by_module(metric) for metric in metrics}
    values_b = {metric: b.by_module(metric) for metric in metrics}
    modules = []
    for name in _merged_order(list(infos_a), list(infos_b)):
        info_a, info_b = infos_a.get(name), infos_b.get(name)
        present = BOTH if info_a and info_b else ONLY_A if info_a else ONLY_B
        modules.append(
            ModuleChange(
                name=name,
                depth=(info_a or info_b).depth,  # type: ignore[union-attr]
                present=present,
                type_a=info_a.type if info_a else None,
                type_b=info_b.type if info_b else None,
                metrics={
                    metric: Change(
                        values_a[metric][name] if info_a else None,
                        values_b[metric][name] if info_b else None,
                    )
                    for metric in metrics
                },
            )
        )
    totals = {metric: Change(a.total(metric), b.total(metric)) for metric in metrics}
    return ReportDiff(totals=totals, modules=tuple(modules))
