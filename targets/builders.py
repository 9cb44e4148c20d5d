"""The two builders of an MMYOLO-format config: the installed OpenMMLab registry, or the zoo.

- `openmmlab`: what MMYOLO's get_flops does, with the packages installed: the config's
  `default_scope` (mmyolo) is initialised, its `custom_imports` imported, and `MODELS.build`
  of that scope's registry builds the model, so the user's own modules (registered there,
  or edited in place) are what is counted.
- `zoo`: `complexity.zoo`'s own re-implementation of MMYOLO's types; needs no OpenMMLab
  package. `custom_imports` are imported too, so a module registered with
  `@complexity.zoo.register_model` is found.
- `auto` (default): `openmmlab` when the `default_scope` package imports, else `zoo`.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.util
import io
import re
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from complexity.analyzer.version import tool_version

from .inputs import build_context
from .spec import DEFAULT_SHAPE, TargetError, TargetSpec, first_line

BUILDERS = ("auto", "openmmlab", "zoo")
DEFAULT_SCOPE = "mmyolo"  # what MMYOLO's get_flops assumes when a config sets none
ZOO_DECORATOR = "@complexity.zoo.register_model"


@dataclass(frozen=True)
class BuiltBy:
    """Which builder built a config's model, with the versions of what it used."""

    builder: str  # "openmmlab" or "zoo"
    package: str  # "mmyolo", "complexity.zoo"
    versions: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        main, *others = self.versions.items() if self.versions else [(self.package, "")]
        text = f"built by {self.package} {main[1]}".rstrip()
        if others:
            text += " (" + ", ".join(f"{name} {number}" for name, number in others) + ")"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"builder": self.builder, "package": self.package, "versions": dict(self.versions)}


@dataclass
class Built:
    model: Any
    inputs: Any
    notes: list[str]
    built_by: BuiltBy


def _version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _scope_package(cfg: Any) -> str | None:
    scope = cfg.get("default_scope")
    return scope if isinstance(scope, str) and scope.isidentifier() else None


def choose_builder(cfg: Any, requested: str) -> str:
    """`auto` -> `openmmlab` when the config's default_scope package imports, else `zoo`."""
    if requested != "auto":
        return requested
    scope = _scope_package(cfg)
    if scope is None or importlib.util.find_spec(scope) is None:
        return "zoo"
    try:
        importlib.import_module(scope)
    except Exception:  # installed but broken: the zoo still counts the config
        return "zoo"
    return "openmmlab"


@contextlib.contextmanager
def _on_sys_path(*folders: Path) -> Iterator[None]:
    added = [str(f) for f in folders if str(f) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for folder in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)


def import_custom_modules(cfg: Any, path: Path) -> list[str]:
    """Import the config's `custom_imports` with mmengine's helper, as mmengine does, from the
    working directory or the config's folder; notes for imports skipped by
    `allow_failed_imports=True`."""
    custom = cfg.get("custom_imports")
    if not custom:
        return []
    if not isinstance(custom, Mapping) or "imports" not in custom:
        raise TargetError(
            f"custom_imports in {path} must be dict(imports=[...]); "
            "write custom_imports = dict(imports=['my_package'], allow_failed_imports=False)"
        )
    from mmengine.utils import import_modules_from_strings

    allow = bool(custom.get("allow_failed_imports", False))
    with (
        _on_sys_path(Path.cwd(), path.resolve().parent),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", UserWarning)
        try:
            import_modules_from_strings(custom["imports"], allow_failed_imports=allow)
        except ImportError as error:
            cause = error.__context__ or error
            raise TargetError(
                f"custom_imports of {path}: {first_line(error)} ({type(cause).__name__}: "
                f"{first_line(cause)}); make it importable from the working directory or the "
                "config's folder, or set allow_failed_imports=True to skip it"
            ) from None
        except TypeError as error:
            raise TargetError(f"custom_imports of {path}: {first_line(error)}") from None
        except Exception as error:  # the user's module raised while importing
            raise TargetError(
                f"custom_imports of {path}: importing it failed: {type(error).__name__}: "
                f"{first_line(error)}"
            ) from None
    return [
        f"custom_imports: {warning.message} (allow_failed_imports=True)"
        for warning in caught
        if "failed to import" in str(warning.message)
    ]


def _type_paths(node: Any, key: str = "model") -> Iterator[tuple[str, str]]:
    """(config key, type name) of every `type` in a model config, outermost first."""
    if isinstance(node, Mapping):
        if isinstance(node.get("type"), str):
            yield key, node["type"]
        for name, child in node.items():
            yield from _type_paths(child, f"{key}.{name}")
    elif isinstance(node, (list, tuple)):
        for index, child in enumerate(node):
            yield from _type_paths(child, f"{key}.{index}")


def _where(model_cfg: Any, type_name: str) -> str:
    for key, name in _type_paths(model_cfg):
        if name == type_name or name.rsplit(".", 1)[-1] == type_name:
            return f"{key}.type"
    return "model"


def _registry_names(registry: Any) -> list[str]:
    names: list[str] = []
    while registry is not None:
        names.extend(registry.module_dict)
        registry = registry.parent
    return sorted(set(names))


_NOT_IN_REGISTRY = re.compile(r"[`'\"]?([\w.]+)[`'\"]? is not in the ([\w.]+)::(\w+) registry")


def _unknown_in_registry(error: BaseException, cfg: Any, registry: Any, scope: str) -> str | None:
    """One line for mmengine's "X is not in the mmyolo::model registry", or None."""
    match = _NOT_IN_REGISTRY.search(str(error))
    if match is None:
        return None
    type_name = match.group(1)
    short = type_name.rsplit(".", 1)[-1]
    from complexity.zoo.registry import MODELS as ZOO_MODELS

    if short in ZOO_MODELS:
        hint = "complexity.zoo has it: use --builder zoo"
    else:
        close = difflib.get_close_matches(short, _registry_names(registry), n=3, cutoff=0.6)
        close = [n for n in _registry_names(registry) if n.lower() == short.lower()] + close
        close = list(dict.fromkeys(close))[:3]
        hint = (
            "did you mean " + " or ".join(repr(n) for n in close) + "?"
            if close
            else "register it there (custom_imports of a package using the registry's "
            "register_module decorator)"
        )
    where = _where(cfg.get("model"), type_name)
    return f"unknown model type {type_name!r} at {where} in {scope}'s registry; {hint}"


def _elsewhere(type_name: str, cfg: Any) -> str | None:
    """Which installed OpenMMLab registry has a type the zoo does not (None: none does)."""
    scope = _scope_package(cfg) or DEFAULT_SCOPE
    if importlib.util.find_spec(scope) is None:
        return None
    from .mmcv_ops import compiled_ops_placeholder

    try:
        with compiled_ops_placeholder(), contextlib.redirect_stdout(io.StringIO()):
            registry = importlib.import_module(f"{scope}.registry").MODELS
            from mmengine.registry import init_default_scope

            init_default_scope(scope)
            found = registry.get(type_name)
    except Exception:
        return None
    if found is None:
        return None
    owner = getattr(found, "__module__", "").split(".")[0] or scope
    return owner


def build_with_zoo(cfg: Any, path: Path, spec: TargetSpec) -> Built:
    from complexity.zoo import (
        UnknownModelTypeError,
        build_model,
        deploy_note,
        example_inputs,
        switch_to_deploy,
    )

    from .mmcv_ops import compiled_ops_placeholder

    device, options = spec.device, spec.cfg_options
    notes: list[str] = []
    if cfg.get("custom_imports"):
        # A custom package may import mmyolo's models: they import without mmcv's ops too.
        with compiled_ops_placeholder():
            notes += import_custom_modules(cfg, path)
    try:
        with build_context(device):
            model = build_model(cfg.get("model"))
    except UnknownModelTypeError as error:
        owner = _elsewhere(error.type_name, cfg)
        if owner is None:
            raise TargetError(first_line(error)) from None
        raise TargetError(
            f"model type {error.type_name!r} at {error.key}.type is registered in "
            f"{_scope_package(cfg) or DEFAULT_SCOPE}'s registry (by {owner}), not in "
            f"complexity.zoo's; use --builder openmmlab (auto picks it), or register it in "
            f"the zoo with {ZOO_DECORATOR}"
        ) from None
    except (TypeError, ValueError, KeyError, AssertionError, RuntimeError) as error:
        # RuntimeError: torch refusing a layer size, e.g. from a --cfg-options value.
        raise TargetError(_cannot_build(path, options, error)) from None
    model.eval()
    if not spec.training_form:
        # MMYOLO's get_flops counts the deploy form: RepVGG-style blocks fused into one conv.
        # The fused convs are new modules: build them where the model was built (meta or not).
        with build_context(device):
            fused = deploy_note(switch_to_deploy(model))
        if fused:
            notes.append(fused)
    # Exactly what MMYOLO's get_flops feeds: one image through the data preprocessor.
    with build_context(device):
        inputs = example_inputs(model, spec.shape or DEFAULT_SHAPE)
    versions = {"complexity": tool_version()}
    return Built(model, inputs, notes, BuiltBy("zoo", "complexity.zoo", versions))


def _cannot_build(path: Path, options: Mapping[str, Any], error: BaseException) -> str:
    applied = " ".join(f"{key}={value!r}" for key, value in options.items())
    applied = f" with --cfg-options {applied}" if applied else ""
    return f"cannot build the model of {path}{applied}: {first_line(error)}"


def _import_scope(scope: str) -> Any:
    if importlib.util.find_spec(scope) is None:
        raise TargetError(
            f"--builder openmmlab needs {scope} (the config's default_scope), which is not "
            'installed; pip install -e ".[openmmlab]", or use --builder zoo'
        )
    try:
        return importlib.import_module(f"{scope}.registry")
    except Exception as error:
        raise TargetError(
            f"--builder openmmlab: importing {scope} failed: {type(error).__name__}: "
            f"{first_line(error)}; fix the install, or use --builder zoo"
        ) from None


def _deploy(model: Any, scope: str) -> dict[str, int]:
    """The scope's own `switch_to_deploy` (MMYOLO's: every RepVGGBlock), else every module's
    `switch_to_deploy()`; how many modules of each type switched."""
    try:
        switch = importlib.import_module(f"{scope}.utils").switch_to_deploy
    except (ImportError, AttributeError):
        from complexity.zoo import switch_to_deploy

        return switch_to_deploy(model)
    before = {
        id(module): type(module).__name__
        for module in model.modules()
        if getattr(module, "deploy", None) is False
    }
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Switch model to deploy ..."
        switch(model)
    after = {id(m) for m in model.modules() if getattr(m, "deploy", None) is True}
    return dict(Counter(name for key, name in before.items() if key in after))


def build_with_openmmlab(cfg: Any, path: Path, spec: TargetSpec) -> Built:
    import torch

    from complexity.zoo import deploy_note

    from .mmcv_ops import PLACEHOLDER_NOTE, compiled_ops_placeholder

    scope = _scope_package(cfg) or DEFAULT_SCOPE
    device, notes = spec.device, []
    with compiled_ops_placeholder() as placeholder:
        registry = _import_scope(scope).MODELS
        from mmengine.model import revert_sync_batchnorm
        from mmengine.registry import init_default_scope

        init_default_scope(scope)
        notes += import_custom_modules(cfg, path)
        try:
            with build_context(device):
                model = registry.build(cfg.get("model"))
        except Exception as error:  # mmengine re-raises a constructor's error as its type
            unknown = _unknown_in_registry(error, cfg, registry, scope)
            raise TargetError(unknown or _cannot_build(path, spec.cfg_options, error)) from None
        with build_context(device):
            model = revert_sync_batchnorm(model)
        # Where the data preprocessor casts its batch to (MMYOLO's get_flops: .cuda()).
        model.to(torch.device(device))
        model.eval()
        if not spec.training_form:
            with build_context(device):
                fused = deploy_note(_deploy(model, scope))
            if fused:
                notes.append(fused)
    if placeholder:
        notes.append(PLACEHOLDER_NOTE)
    height, width = spec.shape or DEFAULT_SHAPE
    # What MMYOLO's get_flops feeds: one image through the model's data preprocessor.
    with build_context(device), torch.no_grad():
        image = torch.rand(3, height, width)
        preprocessor = getattr(model, "data_preprocessor", None)
        if callable(preprocessor):
            inputs = preprocessor({"inputs": [image], "batch_samples": [None]})["inputs"]
        else:
            inputs = image.unsqueeze(0)
    versions = {
        name: number
        for name in (scope, "mmdet", "mmengine", "mmcv", "mmcv-lite")
        if (number := _version(name)) is not None
    }
    return Built(model, inputs, notes, BuiltBy("openmmlab", scope, versions))
