"""Checking `--cfg-options key=value` against the loaded config before it is merged.

mmengine's `Config.merge_from_dict` (the reference) accepts any key: a misspelt one is
silently added and changes nothing. Here an option must name something that can take
effect:

- every dotted part but the last must exist (a dict key, or a list index in range);
- the last part must exist too, except inside a dict that has a `type`: that dict is a
  constructor's arguments, and overriding an argument the config leaves at its default is
  legitimate (`model.backbone.frozen_stages=1`). If the type is a zoo model, the name must
  be one of its constructor's arguments;
- a top-level variable that the config already substituted into `model`
  (`widen_factor = 0.5` used as `model.backbone.widen_factor`) changes nothing once the
  file is read, so the option is refused with the keys that would have the intended effect;
- the value must have the kind of the value it replaces (a number for a number, a list for
  a list, ...), and sizes (`widen_factor`, `deepen_factor`, `num_classes`, `*channels`)
  must be positive.

Each problem is one TargetError line naming the key, the value and the fix.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterator, Mapping
from typing import Any

from .spec import TargetError

MISSING = object()


def _is_size_key(name: str) -> bool:
    return name in ("widen_factor", "deepen_factor", "num_classes") or name.endswith("channels")


def _is_count_key(name: str) -> bool:
    return name == "num_classes" or name.endswith("channels")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _dotted_keys(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, child in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            yield from _dotted_keys(child, path)
    elif isinstance(node, (list, tuple)):
        for index, child in enumerate(node):
            if isinstance(child, (Mapping, list, tuple)):
                yield from _dotted_keys(child, f"{prefix}.{index}")


def _close_keys(key: str, config: Mapping[str, Any], extra: list[str] | None = None) -> str:
    paths = list(_dotted_keys(config)) + (extra or [])
    leaf = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(key, paths, n=3, cutoff=0.75)
    close += [p for p in paths if p.rsplit(".", 1)[-1] == leaf and p != key]
    close += [p for p in difflib.get_close_matches(leaf, paths, n=3, cutoff=0.8)]
    unique = list(dict.fromkeys(close))[:3]
    return "close matches: " + ", ".join(unique) if unique else "no close match"


def _constructor_arguments(type_name: Any) -> list[str] | None:
    """Argument names of the zoo model `type_name`, or None if unknown or it takes **kwargs."""
    from complexity.zoo.registry import MODELS, _strip_scope

    cls = type_name if isinstance(type_name, type) else MODELS.get(_strip_scope(str(type_name)))
    if cls is None:
        return None
    parameters = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters]


def _wrong_kind(existing: Any, value: Any, name: str) -> str | None:
    """What `value` should be to replace `existing`, or None if it is acceptable."""
    if existing is None or existing is MISSING or value is None:
        return None  # None switches a part off (init_cfg=None, act_cfg=None), as in mmengine
    if isinstance(existing, bool):
        return None if isinstance(value, bool) else "True or False"
    if isinstance(existing, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "a whole number" if _is_count_key(name) else "a number"
        if _is_count_key(name) and not float(value).is_integer():
            return "a whole number"
        return None
    if isinstance(existing, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(existing, (list, tuple)):
        return None if isinstance(value, (list, tuple)) else "a list such as [1,2]"
    if isinstance(existing, Mapping):
        return "not a single value: it is a dict; override its keys one by one"
    return None


def _example(key: str, existing: Any) -> str:
    if isinstance(existing, (bool, int, float, str, list, tuple)):
        return f" (the config has {key}={_shown(existing)})"
    return ""


def _substituted_uses(name: str, value: Any, model: Any, prefix: str = "model") -> list[str]:
    """Keys under `model` called `name` that hold `value`: where a base variable went."""
    uses = []
    if isinstance(model, Mapping):
        for key, child in model.items():
            path = f"{prefix}.{key}"
            if key == name and child == value:
                uses.append(path)
            uses += _substituted_uses(name, value, child, path)
    elif isinstance(model, (list, tuple)):
        for index, child in enumerate(model):
            uses += _substituted_uses(name, value, child, f"{prefix}.{index}")
    return uses


def check_cfg_options(config: Mapping[str, Any], options: Mapping[str, Any]) -> None:
    """Raise TargetError for the first option that would not take the intended effect."""
    for key, value in options.items():
        _check_one(config, key, value)


def _check_one(config: Mapping[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node: Any = config
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            absent = ".".join(parts[: depth + 1])
            raise TargetError(
                f"--cfg-options {key}: the config has no {absent}; {_close_keys(key, config)}"
            )
    leaf = parts[-1]
    if isinstance(node, (list, tuple)):
        if not (leaf.isdigit() and int(leaf) < len(node)):
            raise TargetError(
                f"--cfg-options {key}: {'.'.join(parts[:-1])} is a list of {len(node)} items; "
                f"give an index from 0 to {len(node) - 1}"
            )
        existing = node[int(leaf)]
    elif isinstance(node, Mapping):
        existing = node.get(leaf, MISSING)
    else:
        raise TargetError(
            f"--cfg-options {key}: {'.'.join(parts[:-1])} is {_shown(node)}, not a dict; "
            f"{_close_keys(key, config)}"
        )

    if existing is MISSING:
        if "type" not in node:
            raise TargetError(
                f"--cfg-options {key}: the config has no {key}; {_close_keys(key, config)}"
            )
        arguments = _constructor_arguments(node["type"])
        if arguments is not None and leaf not in arguments:
            prefix = ".".join(parts[:-1])
            extra = [f"{prefix}.{name}" for name in arguments]
            raise TargetError(
                f"--cfg-options {key}: {node['type']} takes no argument {leaf!r}; "
                f"{_close_keys(key, config, extra)}"
            )

    if len(parts) == 1 and not isinstance(existing, Mapping) and existing is not MISSING:
        uses = _substituted_uses(leaf, existing, config.get("model"))
        if uses:
            settings = " ".join(f"{use}={_shown(value)}" for use in uses)
            raise TargetError(
                f"--cfg-options {key}: {key} is a variable the config has already written "
                f"into the model; override where it is used instead: {settings}"
            )

    wanted = _wrong_kind(existing, value, leaf)
    if wanted is not None:
        raise TargetError(
            f"--cfg-options {key}={_shown(value)}: give {wanted}{_example(key, existing)}"
        )
    if (
        _is_size_key(leaf)
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value <= 0
    ):
        raise TargetError(
            f"--cfg-options {key}={_shown(value)}: {leaf} must be positive{_example(key, existing)}"
        )
