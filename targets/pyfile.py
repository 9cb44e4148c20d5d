"""A plain Python file that defines `model`, and an import spec `package.module:factory`."""

from __future__ import annotations

import contextlib
import importlib
import operator
import runpy
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .inputs import (
    build_context,
    default_inputs,
    keyword_inputs,
    loaded,
    refuse,
    split_inputs,
)
from .spec import DTYPES, Loaded, TargetError, TargetSpec, first_line


@contextlib.contextmanager
def _on_sys_path(folder: Path) -> Iterator[None]:
    # Let a model file import its neighbours, as `python file.py` would.
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


def _model_from(
    value: Any, where: str, device: str, arguments: Mapping[str, Any] | None = None
) -> Any:
    from torch import nn

    if arguments and isinstance(value, nn.Module):
        raise TargetError(
            f"--model-arg needs {where} to be a function or class that builds the model; "
            "it is a model already"
        )
    if not isinstance(value, nn.Module) and callable(value):
        try:
            with build_context(device):
                value = value(**(arguments or {}))
        except Exception as error:
            raise TargetError(f"calling {where} failed: {first_line(error)}") from None
    if not isinstance(value, nn.Module):
        raise TargetError(f"{where} is a {type(value).__name__}, not a torch.nn.Module")
    _reject_self_containing(value, where)  # eval() would recurse forever on it
    return value.eval()


def _reject_self_containing(model: Any, where: str) -> None:
    from complexity.analyzer import AnalysisError
    from complexity.analyzer.tracing import index_modules

    try:
        index_modules(model)
    except AnalysisError as error:
        raise TargetError(f"{where}: {error}") from None


def from_python_file(path: Path, spec: TargetSpec) -> Loaded:
    shape, request, device = spec.shape, spec.request, spec.device
    try:
        with _on_sys_path(path.resolve().parent):
            namespace = runpy.run_path(str(path), run_name="__complexity_model__")
    except SyntaxError as error:
        raise TargetError(f"cannot parse {path}: {error.msg} at line {error.lineno}") from None
    except Exception as error:
        raise TargetError(
            f"running {path} failed: {type(error).__name__}: {first_line(error)}"
        ) from None
    if "model" not in namespace:
        raise TargetError(
            f"{path} defines no `model`; define model = MyNet() (or a function returning one), "
            "or model = dict(type=...) for a zoo config"
        )
    if isinstance(namespace["model"], Mapping) and "type" in namespace["model"]:
        # `model = dict(type=...)` written in a way the quick check missed: mmengine reads
        # any such file as a config, so do we (with every option, --training-form included).
        from .openmmlab import MMYOLO_INPUTS, from_config

        refuse(request, MMYOLO_INPUTS)
        return from_config(path, spec)
    if spec.cfg_options:
        raise TargetError(
            f"--cfg-options applies to MMYOLO-style configs; {path} is a plain model file"
        )
    from .load import refuse_builder

    refuse_builder(spec, f"{path}, a plain model file")
    if spec.training_form:
        raise TargetError(
            f"--training-form applies to MMYOLO-style configs (it keeps RepVGG-style blocks "
            f"unfused); {path} is a plain model file, counted as it is: drop --training-form"
        )
    model = _model_from(namespace["model"], f"`model` in {path}", device, request.model_args)
    if "inputs" in namespace:
        if shape is not None:
            raise TargetError(
                f"--shape cannot resize the `inputs` that {path} defines; drop --shape"
            )
        refuse(request, f"{path} defines its own `inputs`", allowed=("--model-arg",))
        inputs = namespace["inputs"]
        if callable(inputs):
            try:
                with build_context(device):
                    inputs = inputs()
            except Exception as error:
                raise TargetError(
                    f"calling `inputs` in {path} failed: {type(error).__name__}: "
                    f"{first_line(error)}"
                ) from None
        inputs, kwargs = split_inputs(inputs, str(path))
        return loaded(model, inputs, kwargs=kwargs)
    else:
        batch_shape = _input_shape(namespace.get("input_shape"), path)
        dtype = str(namespace.get("input_dtype", "float32")).removeprefix("torch.")
        if dtype not in DTYPES:
            raise TargetError(f"`input_dtype` in {path} must be one of {', '.join(DTYPES)}")
        with build_context(device):
            inputs = default_inputs(str(path), shape, request, batch_shape, dtype)
            kwargs = keyword_inputs(request)
    return loaded(model, inputs, kwargs=kwargs)


def _input_shape(value: Any, path: Path) -> tuple[int, ...] | None:
    """A file's `input_shape`, checked: positive integers, batch included."""
    if value is None:
        return None
    try:  # operator.index: 32.9 (or 32.0) is no size, and int() would truncate it silently
        dims = tuple(operator.index(d) for d in value)
    except (TypeError, ValueError):
        dims = ()
    if not dims or any(d <= 0 for d in dims) or any(isinstance(d, bool) for d in value):
        raise TargetError(
            f"`input_shape` in {path} is {value!r}; write positive integers, batch included, "
            "e.g. input_shape = (1, 3, 224, 224)"
        )
    return dims


def from_import_spec(spec: TargetSpec) -> Loaded:
    """`package.module:factory`: imported with the working directory on sys.path."""
    module_name, _, attribute = spec.target.partition(":")
    if spec.training_form:
        raise TargetError(
            "--training-form applies to MMYOLO-style configs (it keeps RepVGG-style blocks "
            f"unfused); {spec.target} is counted as its factory builds it: drop --training-form"
        )
    try:
        with _on_sys_path(Path.cwd()):
            module = importlib.import_module(module_name)
    except Exception as error:
        raise TargetError(f"cannot import {module_name}: {first_line(error)}") from None
    if not hasattr(module, attribute):
        raise TargetError(
            f"{module_name} has no attribute {attribute!r}; check the spec {spec.target}"
        )
    model = _model_from(
        getattr(module, attribute), spec.target, spec.device, spec.request.model_args
    )
    with build_context(spec.device):
        inputs = default_inputs(spec.target, spec.shape, spec.request)
        return loaded(model, inputs, kwargs=keyword_inputs(spec.request))
