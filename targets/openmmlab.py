"""An MMYOLO-format config (OpenMMLab's `Config`, `_base_` inheritance) as a target.

The model is built by the installed OpenMMLab registry or by `complexity.zoo` (builders.py),
switched to its deploy form as MMYOLO's get_flops does (unless `training_form`), and fed one
image through its data preprocessor.
"""

from __future__ import annotations

import ast
import contextlib
from pathlib import Path
from typing import Any

from .inputs import all_finite
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


def read_config(path: Path, options: dict[str, Any]) -> Any:
    """The config with `options` merged, its `model` checked; custom_imports not yet run."""
    from mmengine.config import Config

    from .cfg_options import check_cfg_options

    check_base_cycle(path)
    try:
        # The builder imports custom_imports itself (with the placeholder for mmcv's ops).
        cfg = Config.fromfile(str(path), import_custom_modules=False)
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
    return cfg


def from_config(path: Path, spec: TargetSpec) -> Loaded:
    """Build the config's model with the builder `spec.builder` picks (builders.py)."""
    from .builders import build_with_openmmlab, build_with_zoo, choose_builder

    cfg = read_config(path, dict(spec.cfg_options))
    builder = choose_builder(cfg, spec.builder)
    build = build_with_openmmlab if builder == "openmmlab" else build_with_zoo
    built = build(cfg, path, spec)
    height, width = spec.shape or DEFAULT_SHAPE
    padded = built.inputs.shape[-2:]
    notes = built.notes
    if tuple(padded) != (height, width):
        notes.append(f"Use size divisor set input shape from {(height, width)} to {padded}")
    return Loaded(built.model, built.inputs, str(padded), notes, built_by=built.built_by)
