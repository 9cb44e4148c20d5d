"""`load_target`: which kind of target a name is, checked, then built by that kind's module.

Four kinds: an MMYOLO-format config (openmmlab.py), a plain Python file that defines `model`
or an import spec `package.module:factory` (pyfile.py), and a Hugging Face `config.json`
(huggingface.py). Every problem is a `TargetError` with one line that names it and the fix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from .builders import BUILDERS
from .inputs import check_input_options, refuse
from .size_guard import check_module_count, module_limit
from .spec import BUILD_DEVICES, Loaded, TargetError, TargetSpec


def check_config_path(target: str) -> Path:
    """The file `target` names, refused unless it is a regular file we can read."""
    if not target.strip():
        raise TargetError(
            "no config given (an empty string); give a config or model .py file, "
            "or package.module:factory"
        )
    path = Path(target)
    if path.is_symlink() and not path.exists():
        try:
            path.stat()
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise TargetError(f"{target} is a symlink loop; fix or remove the link") from None
        raise TargetError(
            f"{target} is a symlink to {os.readlink(path)}, which does not exist; fix the link"
        )
    if not path.exists():
        raise TargetError(f"config file {target} does not exist; check the path")
    if path.is_dir() and (path / "config.json").is_file():
        path = path / "config.json"  # a downloaded Hugging Face model folder
    if path.is_dir():
        raise TargetError(f"{target} is a folder; give a config or model .py file")
    if not path.is_file():  # a FIFO would block forever, /dev/zero would never end
        raise TargetError(
            f"{target} is not a regular file (a device, FIFO or socket); "
            "give a config or model .py file"
        )
    return path


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def files_named(target: str) -> tuple[Path, ...]:
    """The local files `target` reads that are known before anything is built: the file
    itself (a folder's config.json) and, for an MMYOLO config, its `_base_` files, all the
    way up. Nothing for an import spec or a path that does not exist."""
    from .openmmlab import base_files_all_the_way

    path = Path(target)
    if path.is_dir() and (path / "config.json").is_file():
        path = path / "config.json"
    if not path.is_file():
        return ()
    files = [path.resolve()]
    if path.suffix == ".py":
        files += base_files_all_the_way(path)
    return tuple(dict.fromkeys(files))


def _imported_files(before: set[str], folder: Path) -> list[Path]:
    """Files of the modules imported since `before` that live under `folder` (a model
    file's neighbours, a spec's package): the target read them too."""
    found = []
    inside = os.path.join(folder, "")  # the folder, with its trailing separator
    # Each module's folder resolved once, and plain strings: `auto` imports ~3,000 OpenMMLab
    # modules from a few hundred folders, and resolving every file as a Path cost 0.3 s.
    folders: dict[str, str] = {}
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None)
        if not file:
            continue
        with contextlib.suppress(OSError, ValueError):
            if os.path.islink(file):
                path = os.path.realpath(file)
            else:
                parent, base = os.path.split(file)
                if parent not in folders:
                    folders[parent] = os.path.realpath(parent)
                path = os.path.join(folders[parent], base)
            if path.startswith(inside):
                found.append(Path(path))
    return sorted(found)


def load_target(spec: TargetSpec, progress: Callable[[int], None] | None = None) -> Loaded:
    """Build the model and inputs `spec` names, on `spec.device`; `files_read` says which
    local files that read. Past `spec.max_modules` modules a TargetError
    (`progress(count)` every 1,000 modules built)."""
    before = set(sys.modules)
    with module_limit(spec.target, spec.max_modules, progress):
        loaded = _load_target(spec)
    check_module_count(spec.target, loaded.model, spec.max_modules)
    path = Path(spec.target)
    folder = path.resolve().parent if path.exists() else Path.cwd().resolve()
    files = (*files_named(spec.target), *_imported_files(before, folder))
    return dataclasses.replace(loaded, files_read=tuple(dict.fromkeys(files)))


def check_target(spec: TargetSpec) -> str:
    """What kind of target `spec` names ("spec", "json", "mmyolo" or "python"), refusing the
    options that kind cannot take. Reads files but imports nothing heavy (no torch): the
    command line checks every target this way before any model is built."""
    from .openmmlab import MMYOLO_INPUTS, is_mmyolo_config

    if spec.device not in BUILD_DEVICES:
        raise TargetError(
            f"cannot build on device {spec.device!r}; use one of: {', '.join(BUILD_DEVICES)}"
        )
    if spec.builder not in BUILDERS:
        raise TargetError(f"unknown --builder {spec.builder!r}; use one of: {', '.join(BUILDERS)}")
    target, request = spec.target, spec.request
    check_input_options(spec.shape, request)
    path = Path(target)
    looks_like_spec = ":" in target and not target.endswith(".py")
    if looks_like_spec and not path.exists() and not path.is_symlink():
        if spec.cfg_options:
            raise TargetError("--cfg-options applies to config files, not to an import spec")
        refuse_builder(spec, "an import spec")
        return "spec"
    if not path.exists() and _DOTTED.fullmatch(target) and not target.endswith(".py"):
        module, _, factory = target.rpartition(".")
        raise TargetError(
            f"{target} is not a file; to build a model from an import, name the factory after "
            f"a colon: {module}:{factory}"
        )
    path = check_config_path(target)
    if path.suffix == ".json":
        if spec.cfg_options:
            raise TargetError(
                "--cfg-options applies to MMYOLO-style configs; set config.json fields "
                "with --model-arg KEY=VALUE"
            )
        refuse_builder(spec, f"{path}, a Hugging Face config")
        return "json"
    source = path.read_text(encoding="utf-8", errors="replace")
    if not source.strip():
        raise TargetError(f"config file {target} is empty; it must define `model`")
    if is_mmyolo_config(path, source):
        refuse(request, MMYOLO_INPUTS)
        return "mmyolo"
    return "python"


def refuse_builder(spec: TargetSpec, what: str) -> None:
    """--builder chooses how an MMYOLO-style config is built; other targets build themselves."""
    if spec.builder != "auto":
        raise TargetError(
            f"--builder {spec.builder} applies to MMYOLO-style configs, not to {what}; drop it"
        )


def _load_target(spec: TargetSpec) -> Loaded:
    from .huggingface import from_hf_config
    from .openmmlab import from_config
    from .pyfile import from_import_spec, from_python_file

    kind = check_target(spec)
    if kind == "spec":
        return from_import_spec(spec)
    path = check_config_path(spec.target)
    if kind == "json":
        return from_hf_config(path, spec)
    if kind == "mmyolo":
        return from_config(path, spec)
    return from_python_file(path, spec)
