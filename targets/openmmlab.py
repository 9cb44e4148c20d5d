"""An MMYOLO-format config (OpenMMLab's `Config`, `_base_` inheritance) as a target.

The model is built from `complexity.zoo`, switched to its deploy form as MMYOLO's get_flops
does (unless `training_form`), and fed one image through its data preprocessor.
"""

from __future__ import annotations

import ast
import contextlib
from pathlib import Path
from typing import Any

from .inputs import all_finite, build_context
from .spec import DEFAULT_SHAPE, Loaded, TargetError, TargetSpec, first_line

MMYOLO_INPUTS = "an MMYOLO config takes an image size: use --shape (and --cfg-options)"


def parse_cfg_options(items: list[str] | None) -> dict[str, Any]:
    """`a.b=1 x.y=[1,2]` -> {'a.b': 1, 'x.y': [1, 2]}, parsed as mmengine's DictAction does."""
    if not items:
        return {}
    from mmengine.config import DictAction

    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise TargetError(
                f"--cfg-options item {item!r} is not key=value; write e.g. "
                "--cfg-options model.backbone.widen_factor=0.5"
            )
        options[key] = DictAction._parse_iterable(value)
        if not all_finite(options[key]):
            raise TargetError(
                f"--cfg-options {key}={value if len(value) <= 60 else value[:57] + '...'} "
                "is not a finite number; give a value the model can be built with"
            )
    return options


def is_mmyolo_config(path: Path, source: str) -> bool:
    """An MMYOLO config sets `_base_` or assigns `model = dict(...)` at top level."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise TargetError(
            f"cannot parse {path}: {error.msg} at line {error.lineno}; fix the Python syntax"
        ) from None
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id == "_base_":
                return True
            if isinstance(target, ast.Name) and target.id == "model" and _is_dict_literal(value):
                return True
    return False


def _is_dict_literal(value: ast.expr) -> bool:
    """`dict(...)`, or `{'type': ...}`: how configs spell the model."""
    if isinstance(value, ast.Call):
        return isinstance(value.func, ast.Name) and value.func.id == "dict"
    return isinstance(value, ast.Dict) and any(
        isinstance(k, ast.Constant) and k.value == "type" for k in value.keys
    )


def _base_files(path: Path) -> list[Path]:
    """The local files a config's `_base_` names (literal strings; `pkg::` bases skipped)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError):
        return []  # mmengine reports these itself, naming the file
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_base_" for t in statement.targets
        ):
            with contextlib.suppress(ValueError):
                value = ast.literal_eval(statement.value)
                names = [value] if isinstance(value, str) else list(value)
                return [
                    (path.parent / name).resolve()
                    for name in names
                    if isinstance(name, str) and "::" not in name
                ]
    return []


def base_files_all_the_way(path: Path) -> list[Path]:
    """Every local `_base_` file `path` inherits from, directly or through another (the
    literal names mmengine will read; a cycle is reported by `check_base_cycle`)."""
    found: dict[Path, None] = {}
    pending = [path.resolve()]
    while pending:
        for base in _base_files(pending.pop()):
            if base not in found and base.is_file():
                found[base] = None
                pending.append(base)
    return list(found)


def check_base_cycle(path: Path) -> None:
    """Refuse `_base_` inheritance that comes back to a file: mmengine would recurse ~20 s."""
    visiting: list[Path] = []
    done: set[Path] = set()

    def visit(current: Path) -> None:
        if current in visiting:
            cycle = [*visiting[visiting.index(current) :], current]
            shown = " -> ".join(_shown(p) for p in cycle)
            raise TargetError(
                f"config {path}: `_base_` files include each other ({shown}); "
                "remove one of these `_base_` entries"
            )
        if current in done or not current.is_file():
            return
        visiting.append(current)
        for base in _base_files(current):
            visit(base)
        visiting.pop()
        done.add(current)

    visit(path.resolve())


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def from_config(path: Path, spec: TargetSpec) -> Loaded:
    from mmengine.config import Config

    from complexity.zoo import (
        UnknownModelTypeError,
        build_model,
        deploy_note,
        example_inputs,
        switch_to_deploy,
    )

    from .cfg_options import check_cfg_options

    options, device = dict(spec.cfg_options), spec.device
    check_base_cycle(path)
    try:
        cfg = Config.fromfile(str(path))
    except Exception as error:  # mmengine raises many types for a broken config
        raise TargetError(f"cannot load config {path}: {first_line(error)}") from None
    if options:
        check_cfg_options(cfg.to_dict(), options)
        try:
            cfg.merge_from_dict(options)
        except Exception as error:
            raise TargetError(f"--cfg-options could not be applied: {first_line(error)}") from None
    model_cfg = cfg.get("model")
    if model_cfg is None:
        raise TargetError(f"config {path} defines no `model`; add model = dict(type=..., ...)")
    if not hasattr(model_cfg, "get") or "type" not in model_cfg:
        raise TargetError(f"`model` in {path} has no `type`; write model = dict(type=..., ...)")
    try:
        with build_context(device):
            model = build_model(model_cfg)
    except UnknownModelTypeError as error:
        raise TargetError(first_line(error)) from None
    except (TypeError, ValueError, KeyError, AssertionError, RuntimeError) as error:
        # RuntimeError: torch refusing a layer size, e.g. from a --cfg-options value.
        applied = " ".join(f"{key}={value!r}" for key, value in options.items())
        applied = f" with --cfg-options {applied}" if applied else ""
        raise TargetError(
            f"cannot build the model of {path}{applied}: {first_line(error)}"
        ) from None
    model.eval()
    notes = []
    if not spec.training_form:
        # MMYOLO's get_flops counts the deploy form: RepVGG-style blocks fused into one conv.
        # The fused convs are new modules: build them where the model was built (meta or not).
        with build_context(device):
            fused = deploy_note(switch_to_deploy(model))
        if fused:
            notes.append(fused)
    height, width = spec.shape or DEFAULT_SHAPE
    # Exactly what MMYOLO's get_flops feeds: one image through the data preprocessor.
    with build_context(device):
        inputs = example_inputs(model, (height, width))
    padded = inputs.shape[-2:]
    if tuple(padded) != (height, width):
        notes.append(f"Use size divisor set input shape from {(height, width)} to {padded}")
    return Loaded(model, inputs, str(padded), notes)
