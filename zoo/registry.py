"""Registry and config-driven builder for the zoo.

MMYOLO configs describe a model as nested dicts with a ``type`` key. ``build_model`` turns such a
dict into one of our own ``nn.Module`` classes. It keeps track of where in the config it is
(``model.backbone``, ``model.bbox_head.head_module``, ...) so that a typo in a deeply nested
``type`` is reported with its location instead of a bare ``KeyError``.
"""

from __future__ import annotations

import difflib
import inspect
import sys
import textwrap
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar, overload

from torch import nn

# A model config as written in MMYOLO configs: a mapping with `type` and keyword arguments.
Cfg = Mapping[str, Any]

__all__ = [
    "MODELS",
    "SCOPE_PREFIXES",
    "UnknownModelTypeError",
    "build_child",
    "build_model",
    "describe_known_types",
    "family_of",
    "known_types",
    "known_types_by_family",
    "register_model",
]

ModuleT = TypeVar("ModuleT", bound=type[nn.Module])

#: name -> class. A plain dict on purpose: there is one registry and no scoping to manage.
MODELS: dict[str, type[nn.Module]] = {}

#: OpenMMLab registry scopes that may prefix a type (``mmdet.CSPLayer``); they all map to ours.
SCOPE_PREFIXES: tuple[str, ...] = ("mmyolo.", "mmdet.")

# Config key path of the dict currently being built. A ContextVar (rather than an extra
# constructor argument) keeps the MMYOLO constructor signatures unchanged while parents build
# their children through ``build_child``.
_CURRENT_KEY: ContextVar[str] = ContextVar("complexity_zoo_key", default="model")


class UnknownModelTypeError(KeyError, ValueError):
    """A config names a ``type`` that is not registered in the zoo.

    Subclasses both ``KeyError`` (it is a failed registry lookup) and ``ValueError`` (the config
    value is wrong), so either ``except`` clause catches it.
    """

    def __init__(self, type_name: str, key: str, known: list[str]) -> None:
        self.type_name = type_name
        self.key = key
        self.suggestions = _close_matches(_strip_scope(type_name), known)
        if self.suggestions:
            hint = "did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        else:
            hint = "no close match"
        message = (
            f"unknown model type {type_name!r} at {key}.type; {hint} "
            f"(`complexity zoo` lists the {len(known)} known types by family)"
        )
        super().__init__(message)

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message and wrap it in quotes.
        return str(self.args[0])


def _strip_scope(type_name: str) -> str:
    for prefix in SCOPE_PREFIXES:
        if type_name.startswith(prefix):
            return type_name[len(prefix) :]
    return type_name


def _close_matches(name: str, known: list[str]) -> list[str]:
    # A case-insensitive hit ('cspnext' -> 'CSPNeXt') is the most likely intent, so it goes first.
    exact_ci = [k for k in known if k.lower() == name.lower()]
    fuzzy = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return list(dict.fromkeys(exact_ci + fuzzy))[:3]


def known_types() -> list[str]:
    """Sorted names of every registered model type."""
    return sorted(MODELS)


def family_of(cls: type[nn.Module]) -> str:
    """The family a registered class belongs to: the ``FAMILY`` string of the module that
    defines it (each zoo module sets one), else that module's name."""
    module = sys.modules.get(cls.__module__)
    family = getattr(module, "FAMILY", None)
    return family if isinstance(family, str) else cls.__module__


def known_types_by_family() -> dict[str, list[str]]:
    """Registered type names grouped by family: model families first (RTMDet, YOLOv5, ...),
    then the shared groups (lower-case headings such as "shared bricks"); names sorted."""
    groups: dict[str, list[str]] = {}
    for name, cls in MODELS.items():
        groups.setdefault(family_of(cls), []).append(name)
    order = sorted(groups, key=lambda family: (family[:1].islower(), family.lower()))
    return {family: sorted(groups[family]) for family in order}


def describe_known_types(width: int = 80) -> list[str]:
    """``complexity zoo``'s listing: a heading per family, its types wrapped below it."""
    lines: list[str] = []
    for family, names in known_types_by_family().items():
        lines.append(f"{family} ({len(names)})")
        lines.extend(
            textwrap.wrap(", ".join(names), width, initial_indent="  ", subsequent_indent="  ")
        )
    lines.append(f"{len(MODELS)} types; configs name one as type='Name' (mmyolo./mmdet. optional)")
    return lines


@overload
def register_model(cls_or_name: ModuleT, *, name: str | None = None) -> ModuleT: ...
@overload
def register_model(
    cls_or_name: str | None = None, *, name: str | None = None
) -> Callable[[ModuleT], ModuleT]: ...
def register_model(
    cls_or_name: ModuleT | str | None = None, *, name: str | None = None
) -> ModuleT | Callable[[ModuleT], ModuleT]:
    """Register an ``nn.Module`` class under its own name or an explicit one.

    Usable as ``@register_model``, ``@register_model("Name")`` or ``@register_model(name=...)``.
    """

    def _register(cls: ModuleT, reg_name: str | None) -> ModuleT:
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"register_model expects an nn.Module subclass, got {cls!r}")
        reg_name = reg_name or cls.__name__
        if reg_name in MODELS and MODELS[reg_name] is not cls:
            raise KeyError(f"model type {reg_name!r} is already registered to {MODELS[reg_name]}")
        MODELS[reg_name] = cls
        return cls

    if isinstance(cls_or_name, type):
        return _register(cls_or_name, name)
    explicit = cls_or_name if isinstance(cls_or_name, str) else name
    return lambda cls: _register(cls, explicit)


def build_model(cfg: Mapping[str, Any] | nn.Module, key: str | None = None) -> nn.Module:
    """Build a registered module from a dict (or mmengine ``ConfigDict``) with a ``type`` key.

    ``key`` is the config path of ``cfg`` (``'model'`` for the top level); it only feeds error
    messages. An already-built ``nn.Module`` is returned unchanged, as mmengine does.
    """
    if key is None:
        key = _CURRENT_KEY.get()
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, Mapping):
        raise TypeError(f"{key}: expected a dict with a 'type' key, got {type(cfg).__name__}")
    kwargs = dict(cfg)  # shallow copy: never mutate the caller's config
    if "type" not in kwargs:
        raise KeyError(f"{key}: config has no 'type' key (keys: {', '.join(map(str, kwargs))})")
    type_ref = kwargs.pop("type")
    if isinstance(type_ref, type) and issubclass(type_ref, nn.Module):
        cls, type_name = type_ref, type_ref.__name__
    else:
        type_name = str(type_ref)
        cls = MODELS.get(_strip_scope(type_name))
        if cls is None:
            raise UnknownModelTypeError(type_name, key, known_types())
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as err:
        # Report bad keys against the config path, not against our constructor.
        raise TypeError(f"{key}: cannot build {type_name}: {err}") from None
    token = _CURRENT_KEY.set(key)
    try:
        return cls(**kwargs)
    finally:
        _CURRENT_KEY.reset(token)


def build_child(cfg: Mapping[str, Any] | nn.Module, name: str) -> nn.Module:
    """Build a nested submodule config, extending the current key path with ``name``."""
    return build_model(cfg, key=f"{_CURRENT_KEY.get()}.{name}")
