"""`complexity zoo` without importing torch: the zoo's registrations read from its source.

Every zoo module sets `FAMILY` and decorates its classes with `@register_model` (or
`@register_model("Name")` / `@register_model(name="Name")`); reading that with `ast` gives
the listing in a blink, where importing the zoo would import torch. A test holds it equal to
`complexity.zoo.describe_known_types()`, the registry's own listing.
"""

from __future__ import annotations

import ast
import importlib.util
import textwrap
from pathlib import Path


def _registered_name(decorator: ast.expr, class_name: str) -> str | None:
    if isinstance(decorator, ast.Name) and decorator.id == "register_model":
        return class_name
    if (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Name)
        and decorator.func.id == "register_model"
    ):
        given = [a.value for a in decorator.args if isinstance(a, ast.Constant)]
        given += [k.value.value for k in decorator.keywords
                  if k.arg == "name" and isinstance(k.value, ast.Constant)]  # fmt: skip
        return str(given[0]) if given else class_name
    return None


def known_types_by_family() -> dict[str, list[str]]:
    """As `complexity.zoo.known_types_by_family`: families first, shared groups last."""
    spec = importlib.util.find_spec("complexity.zoo")
    assert spec is not None and spec.submodule_search_locations
    groups: dict[str, list[str]] = {}
    for folder in spec.submodule_search_locations:
        for path in sorted(Path(folder).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            family = f"complexity.zoo.{path.stem}"
            names: list[str] = []
            for node in tree.body:
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "FAMILY" for t in node.targets
                ):
                    if isinstance(node.value, ast.Constant):
                        family = str(node.value.value)
                elif isinstance(node, ast.ClassDef):
                    for decorator in node.decorator_list:
                        name = _registered_name(decorator, node.name)
                        if name:
                            names.append(name)
            if names:
                groups.setdefault(family, []).extend(names)
    order = sorted(groups, key=lambda family: (family[:1].islower(), family.lower()))
    return {family: sorted(groups[family]) for family in order}


def describe_known_types(width: int = 80) -> list[str]:
    """The listing `complexity zoo` prints: a heading per family, its types wrapped below."""
    lines: list[str] = []
    groups = known_types_by_family()
    for family, names in groups.items():
        lines.append(f"{family} ({len(names)})")
        lines.extend(
            textwrap.wrap(", ".join(names), width, initial_indent="  ", subsequent_indent="  ")
        )
    total = sum(len(names) for names in groups.values())
    lines.append(f"{total} types; configs name one as type='Name' (mmyolo./mmdet. optional)")
    return lines
