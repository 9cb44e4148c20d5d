"""Turning what the user names into a model and its inputs.

Four kinds of target: an MMYOLO-format config (built from `complexity.zoo`), a plain Python
file that defines `model`, an import spec `package.module:factory`, and a Hugging Face
`config.json` (built on the meta device by transformers). Every problem is a `UsageError`
with one line that names it and the fix.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import errno
import importlib
import os
import re
import runpy
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SHAPE = (640, 640)  # MMYOLO configs: what MMYOLO's get_flops feeds
DEFAULT_IMAGE = (224, 224)  # plain files and import specs: the ImageNet size
DEFAULT_SEQ_LEN = 512  # config.json models; BERT-style encoders allow no more
DTYPES = (
    "float32 float float16 half bfloat16 float64 double int64 long int32 int int16 int8 uint8 bool"
).split()


class UsageError(Exception):
    """Bad input from the user: a one-line message, exit code 2."""


# The device models and inputs are built on: "meta" (no weights allocated, the default
# of the CLI), "cpu" or "cuda". Set by `building_on`, read where models are built.
_BUILD_DEVICE: contextvars.ContextVar[str] = contextvars.ContextVar("build_device", default="cpu")


@contextlib.contextmanager
def building_on(device: str) -> Iterator[None]:
    """Build configs, factories and inputs on `device` inside this block."""
    token = _BUILD_DEVICE.set(device)
    try:
        yield
    finally:
        _BUILD_DEVICE.reset(token)


def _build_context() -> contextlib.AbstractContextManager[Any]:
    # Factory functions (parameters, torch.rand, ...) then allocate on that device.
    import torch

    device = _BUILD_DEVICE.get()
    return contextlib.nullcontext() if device == "cpu" else torch.device(device)


@dataclass
class Loaded:
    model: Any  # nn.Module, in eval mode
    inputs: Any  # what `analyze` feeds to model(*inputs)
    input_label: str  # for the summary block's `Input shape:` line
    notes: list[str] = field(default_factory=list)
    # (batch, sequence length) when the first input is token ids: flops per token
    tokens: tuple[int, int] | None = None
    default_seq_len: bool = False  # the sequence length is DEFAULT_SEQ_LEN, not given


@dataclass(frozen=True)
class TensorSpec:
    """One `--input SHAPE[:DTYPE]`."""

    shape: tuple[int, ...]
    dtype: str = "float32"


@dataclass(frozen=True)
class InputRequest:
    """The command line's input and factory options (`--shape` and `--cfg-options` apart)."""

    inputs: tuple[TensorSpec, ...] = ()
    seq_len: int | None = None
    batch: int | None = None
    model_args: Mapping[str, Any] = field(default_factory=dict)


def parse_input(value: str) -> TensorSpec:
    """`1x4096:int64` -> TensorSpec((1, 4096), "int64"); the dtype defaults to float32."""
    text, _, dtype = value.partition(":")
    dtype = dtype.strip() or "float32"
    try:
        shape = tuple(int(part) for part in text.replace(",", "x").split("x"))
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise UsageError(
            f"--input {value} is not SHAPE[:DTYPE]; write e.g. --input 1x3x224x224 "
            "or --input 1x4096:int64"
        )
    if dtype not in DTYPES:
        raise UsageError(
            f"--input {value}: unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}"
        )
    return TensorSpec(shape, dtype)


def parse_model_args(items: list[str] | None) -> dict[str, Any]:
    """`num_classes=10 name=tiny` -> {'num_classes': 10, 'name': 'tiny'}: Python literals,
    or the text itself when it is not one."""
    arguments: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(
                f"--model-arg {item!r} is not KEY=VALUE; write e.g. --model-arg num_classes=10"
            )
        try:
            arguments[key] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            arguments[key] = text.strip()
    return arguments


def check_input_options(shape: tuple[int, int] | None, request: InputRequest) -> None:
    """Refuse options that would contradict each other, before anything is built."""
    if request.inputs:
        given = [
            name
            for name, value in (
                ("--shape", shape),
                ("--seq-len", request.seq_len),
                ("--batch", request.batch),
            )
            if value is not None
        ]
        if given:
            raise UsageError(
                f"--input gives whole shapes, so {' and '.join(given)} cannot apply too; "
                "write the size into --input, or drop --input"
            )
    if shape is not None and request.seq_len is not None:
        raise UsageError(
            "--shape sets an image size and --seq-len a token count; give the one your model takes"
        )
    for name, value in (("--seq-len", request.seq_len), ("--batch", request.batch)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} {value} is not a positive integer")


def _tensor(shape: tuple[int, ...], dtype_name: str, device: str | None = None) -> Any:
    """Random floats, zeros for integers (a valid token id), True for bools.

    `device=None` is torch's current default device (a `with torch.device(...)` applies).
    """
    import torch

    dtype = getattr(torch, dtype_name)
    if dtype.is_floating_point:
        return torch.rand(shape, dtype=dtype, device=device)
    if dtype == torch.bool:
        return torch.ones(shape, dtype=dtype, device=device)
    return torch.zeros(shape, dtype=dtype, device=device)


def _token_ids(batch: int, seq_len: int, device: str | None = None) -> Any:
    return _tensor((batch, seq_len), "int64", device)


def _tokens_of(inputs: Any) -> tuple[int, int] | None:
    """(batch, sequence length) when the first input is a 2-d integer tensor (token ids)."""
    import torch

    first = inputs[0] if isinstance(inputs, tuple) and inputs else inputs
    if (
        isinstance(first, torch.Tensor)
        and first.dim() == 2
        and not (first.is_floating_point() or first.is_complex() or first.dtype == torch.bool)
    ):
        return (first.shape[0], first.shape[1])
    return None


_SHAPE = re.compile(r"\s*(\d+)\s*(?:[x, ]\s*(\d+)\s*)?")


def parse_shape(values: list[str] | None) -> tuple[int, int] | None:
    """`640` -> (640, 640); `640 480`, `640x480`, `640,480` -> (640, 480)."""
    if not values:
        return None
    if len(values) > 1:
        raise UsageError(
            f"--shape is given {len(values)} times ({' and '.join(values)}); give it once: "
            "--shape 640 or --shape 640 480"
        )
    match = _SHAPE.fullmatch(values[0])
    numbers = [int(n) for n in match.groups() if n is not None] if match else []
    if not numbers or any(n <= 0 for n in numbers):
        raise UsageError(
            f"--shape {values[0]} is not one or two positive integers; write e.g. "
            "--shape 640 or --shape 640 480"
        )
    return (numbers[0], numbers[-1])


def parse_cfg_options(items: list[str] | None) -> dict[str, Any]:
    """`a.b=1 x.y=[1,2]` -> {'a.b': 1, 'x.y': [1, 2]}, parsed as mmengine's DictAction does."""
    if not items:
        return {}
    from mmengine.config import DictAction

    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(
                f"--cfg-options item {item!r} is not key=value; write e.g. "
                "--cfg-options model.backbone.widen_factor=0.5"
            )
        options[key] = DictAction._parse_iterable(value)
    return options


@contextlib.contextmanager
def _on_sys_path(folder: Path) -> Iterator[None]:
    # Let a model file import its neighbours, as `python file.py` would.
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def is_mmyolo_config(path: Path, source: str) -> bool:
    """An MMYOLO config sets `_base_` or assigns `model = dict(...)` at top level."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise UsageError(
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


def check_config_path(target: str) -> Path:
    """The file `target` names, refused unless it is a regular file we can read."""
    if not target.strip():
        raise UsageError(
            "no config given (an empty string); give a config or model .py file, "
            "or package.module:factory"
        )
    path = Path(target)
    if path.is_symlink() and not path.exists():
        try:
            path.stat()
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise UsageError(f"{target} is a symlink loop; fix or remove the link") from None
        raise UsageError(
            f"{target} is a symlink to {os.readlink(path)}, which does not exist; fix the link"
        )
    if not path.exists():
        raise UsageError(f"config file {target} does not exist; check the path")
    if path.is_dir() and (path / "config.json").is_file():
        path = path / "config.json"  # a downloaded Hugging Face model folder
    if path.is_dir():
        raise UsageError(f"{target} is a folder; give a config or model .py file")
    if not path.is_file():  # a FIFO would block forever, /dev/zero would never end
        raise UsageError(
            f"{target} is not a regular file (a device, FIFO or socket); "
            "give a config or model .py file"
        )
    return path


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


def check_base_cycle(path: Path) -> None:
    """Refuse `_base_` inheritance that comes back to a file: mmengine would recurse ~20 s."""
    visiting: list[Path] = []
    done: set[Path] = set()

    def visit(current: Path) -> None:
        if current in visiting:
            cycle = [*visiting[visiting.index(current) :], current]
            shown = " -> ".join(_shown(p) for p in cycle)
            raise UsageError(
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


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def check_target(
    target: str,
    shape: tuple[int, int] | None,
    cfg_options: Mapping[str, Any],
    request: InputRequest | None = None,
) -> str:
    """What kind of target `target` is ("spec", "json", "mmyolo" or "python"), refusing the
    options it cannot take. Reads files but imports nothing heavy: the command line runs it
    for every target before any model is built."""
    request = request or InputRequest()
    check_input_options(shape, request)
    path = Path(target)
    looks_like_spec = ":" in target and not target.endswith(".py")
    if looks_like_spec and not path.exists() and not path.is_symlink():
        if cfg_options:
            raise UsageError("--cfg-options applies to config files, not to an import spec")
        return "spec"
    if not path.exists() and _DOTTED.fullmatch(target) and not target.endswith(".py"):
        module, _, factory = target.rpartition(".")
        raise UsageError(
            f"{target} is not a file; to build a model from an import, name the factory after "
            f"a colon: {module}:{factory}"
        )
    path = check_config_path(target)
    if path.suffix == ".json":
        if cfg_options:
            raise UsageError(
                "--cfg-options applies to MMYOLO-style configs; set config.json fields "
                "with --model-arg KEY=VALUE"
            )
        return "json"
    source = path.read_text(encoding="utf-8", errors="replace")
    if not source.strip():
        raise UsageError(f"config file {target} is empty; it must define `model`")
    if is_mmyolo_config(path, source):
        _refuse(request, MMYOLO_INPUTS)
        return "mmyolo"
    return "python"


def load(
    target: str,
    shape: tuple[int, int] | None,
    cfg_options: dict[str, Any],
    request: InputRequest | None = None,
    *,
    training_form: bool = False,
) -> Loaded:
    """Build what `target` names. A config's model is switched to its deploy form, as MMYOLO's
    get_flops does, unless `training_form`."""
    request = request or InputRequest()
    kind = check_target(target, shape, cfg_options, request)
    if kind == "spec":
        return _from_import_spec(target, shape, request)
    path = check_config_path(target)
    if kind == "json":
        return _from_hf_config(path, shape, request)
    if kind == "mmyolo":
        return _from_config(path, shape, cfg_options, training_form=training_form)
    return _from_python_file(path, shape, request, cfg_options)


MMYOLO_INPUTS = "an MMYOLO config takes an image size: use --shape (and --cfg-options)"


def _refuse(request: InputRequest, why: str, allowed: tuple[str, ...] = ()) -> None:
    """One line naming the first given option that this kind of target cannot take."""
    for name, given in (
        ("--input", bool(request.inputs)),
        ("--seq-len", request.seq_len is not None),
        ("--batch", request.batch is not None),
        ("--model-arg", bool(request.model_args)),
    ):
        if given and name not in allowed:
            raise UsageError(f"{name} does not apply here: {why}")


def _from_config(
    path: Path,
    shape: tuple[int, int] | None,
    options: dict[str, Any],
    *,
    training_form: bool = False,
) -> Loaded:
    from mmengine.config import Config

    from complexity.zoo import (
        UnknownModelTypeError,
        build_model,
        deploy_note,
        example_inputs,
        switch_to_deploy,
    )

    from .cfg_options import check_cfg_options

    check_base_cycle(path)
    try:
        cfg = Config.fromfile(str(path))
    except Exception as error:  # mmengine raises many types for a broken config
        raise UsageError(f"cannot load config {path}: {_first_line(error)}") from None
    if options:
        check_cfg_options(cfg.to_dict(), options)
        try:
            cfg.merge_from_dict(options)
        except Exception as error:
            raise UsageError(f"--cfg-options could not be applied: {_first_line(error)}") from None
    model_cfg = cfg.get("model")
    if model_cfg is None:
        raise UsageError(f"config {path} defines no `model`; add model = dict(type=..., ...)")
    if not hasattr(model_cfg, "get") or "type" not in model_cfg:
        raise UsageError(f"`model` in {path} has no `type`; write model = dict(type=..., ...)")
    try:
        with _build_context():
            model = build_model(model_cfg)
    except UnknownModelTypeError as error:
        raise UsageError(_first_line(error)) from None
    except (TypeError, ValueError, KeyError, AssertionError, RuntimeError) as error:
        # RuntimeError: torch refusing a layer size, e.g. from a --cfg-options value.
        applied = " ".join(f"{key}={value!r}" for key, value in options.items())
        applied = f" with --cfg-options {applied}" if applied else ""
        raise UsageError(
            f"cannot build the model of {path}{applied}: {_first_line(error)}"
        ) from None
    model.eval()
    notes = []
    if not training_form:
        # MMYOLO's get_flops counts the deploy form: RepVGG-style blocks fused into one conv.
        # The fused convs are new modules: build them where the model was built (meta or not).
        with _build_context():
            fused = deploy_note(switch_to_deploy(model))
        if fused:
            notes.append(fused)
    height, width = shape or DEFAULT_SHAPE
    # Exactly what MMYOLO's get_flops feeds: one image through the data preprocessor.
    with _build_context():
        inputs = example_inputs(model, (height, width))
    padded = inputs.shape[-2:]
    if tuple(padded) != (height, width):
        notes.append(f"Use size divisor set input shape from {(height, width)} to {padded}")
    return Loaded(model, inputs, str(padded), notes)


def _model_from(value: Any, where: str, arguments: Mapping[str, Any] | None = None) -> Any:
    from torch import nn

    if arguments and isinstance(value, nn.Module):
        raise UsageError(
            f"--model-arg needs {where} to be a function or class that builds the model; "
            "it is a model already"
        )
    if not isinstance(value, nn.Module) and callable(value):
        try:
            with _build_context():
                value = value(**(arguments or {}))
        except Exception as error:
            raise UsageError(f"calling {where} failed: {_first_line(error)}") from None
    if not isinstance(value, nn.Module):
        raise UsageError(f"{where} is a {type(value).__name__}, not a torch.nn.Module")
    return value.eval()


def _default_inputs(
    where: str,
    shape: tuple[int, int] | None,
    request: InputRequest,
    batch_shape: tuple[int, ...] | None = None,
    dtype: str = "float32",
) -> Any:
    """The inputs of a model file or import spec from the command line and its defaults.

    `batch_shape`/`dtype` are the file's `input_shape`/`input_dtype`, if it defines them.
    """
    if request.inputs:
        tensors = tuple(_tensor(spec.shape, spec.dtype) for spec in request.inputs)
        return tensors[0] if len(tensors) == 1 else tensors
    if request.seq_len is not None:
        if batch_shape is not None and len(batch_shape) != 2:
            raise UsageError(
                f"--seq-len makes (batch, N) token ids, but `input_shape` in {where} is "
                f"{batch_shape}; give the inputs with --input SHAPE[:DTYPE]"
            )
        batch = request.batch or (batch_shape[0] if batch_shape else 1)
        return _token_ids(batch, request.seq_len)
    if batch_shape is None:
        batch_shape = (1, 3, *(shape or DEFAULT_IMAGE))
    elif shape is not None:
        if len(batch_shape) != 4:
            raise UsageError(
                f"--shape sets an image's height and width, but `input_shape` in {where} is "
                f"{batch_shape}, not (N, C, H, W); use --seq-len N or --input SHAPE[:DTYPE]"
            )
        batch_shape = (*batch_shape[:-2], *shape)
    if request.batch is not None:
        batch_shape = (request.batch, *batch_shape[1:])
    return _tensor(tuple(batch_shape), dtype)


def _label(inputs: Any) -> str:
    import torch

    from complexity.analyzer import describe_shapes

    if isinstance(inputs, torch.Tensor):
        dtype = str(inputs.dtype).removeprefix("torch.")
        return str(inputs.shape) + ("" if dtype == "float32" else f" {dtype}")
    return str(describe_shapes(inputs))


def _loaded(model: Any, inputs: Any, notes: list[str] | None = None) -> Loaded:
    return Loaded(model, inputs, _label(inputs), notes or [], tokens=_tokens_of(inputs))


def _from_python_file(
    path: Path, shape: tuple[int, int] | None, request: InputRequest, cfg_options: dict[str, Any]
) -> Loaded:
    try:
        with _on_sys_path(path.resolve().parent):
            namespace = runpy.run_path(str(path), run_name="__complexity_model__")
    except SyntaxError as error:
        raise UsageError(f"cannot parse {path}: {error.msg} at line {error.lineno}") from None
    except Exception as error:
        raise UsageError(
            f"running {path} failed: {type(error).__name__}: {_first_line(error)}"
        ) from None
    if "model" not in namespace:
        raise UsageError(
            f"{path} defines no `model`; define model = MyNet() (or a function returning one), "
            "or model = dict(type=...) for a zoo config"
        )
    if isinstance(namespace["model"], Mapping) and "type" in namespace["model"]:
        # `model = dict(type=...)` written in a way the quick check missed: mmengine reads
        # any such file as a config, so do we.
        _refuse(request, MMYOLO_INPUTS)
        return _from_config(path, shape, cfg_options)
    if cfg_options:
        raise UsageError(
            f"--cfg-options applies to MMYOLO-style configs; {path} is a plain model file"
        )
    model = _model_from(namespace["model"], f"`model` in {path}", request.model_args)
    if "inputs" in namespace:
        if shape is not None:
            raise UsageError(
                f"--shape cannot resize the `inputs` that {path} defines; drop --shape"
            )
        _refuse(request, f"{path} defines its own `inputs`", allowed=("--model-arg",))
        inputs = namespace["inputs"]
        if callable(inputs):
            try:
                with _build_context():
                    inputs = inputs()
            except Exception as error:
                raise UsageError(
                    f"calling `inputs` in {path} failed: {type(error).__name__}: "
                    f"{_first_line(error)}"
                ) from None
    else:
        batch_shape = _input_shape(namespace.get("input_shape"), path)
        dtype = str(namespace.get("input_dtype", "float32")).removeprefix("torch.")
        if dtype not in DTYPES:
            raise UsageError(f"`input_dtype` in {path} must be one of {', '.join(DTYPES)}")
        with _build_context():
            inputs = _default_inputs(str(path), shape, request, batch_shape, dtype)
    return _loaded(model, inputs)


def _input_shape(value: Any, path: Path) -> tuple[int, ...] | None:
    """A file's `input_shape`, checked: positive integers, batch included."""
    if value is None:
        return None
    try:
        dims = tuple(int(d) for d in value)
    except (TypeError, ValueError):
        dims = ()
    if not dims or any(d <= 0 for d in dims):
        raise UsageError(
            f"`input_shape` in {path} is {value!r}; write positive integers, batch included, "
            "e.g. input_shape = (1, 3, 224, 224)"
        )
    return dims


def _from_import_spec(spec: str, shape: tuple[int, int] | None, request: InputRequest) -> Loaded:
    module_name, _, attribute = spec.partition(":")
    try:
        with _on_sys_path(Path.cwd()):
            module = importlib.import_module(module_name)
    except Exception as error:
        raise UsageError(f"cannot import {module_name}: {_first_line(error)}") from None
    if not hasattr(module, attribute):
        raise UsageError(f"{module_name} has no attribute {attribute!r}; check the spec {spec}")
    model = _model_from(getattr(module, attribute), spec, request.model_args)
    with _build_context():
        return _loaded(model, _default_inputs(spec, shape, request))


def _from_hf_config(path: Path, shape: tuple[int, int] | None, request: InputRequest) -> Loaded:
    from .huggingface import load_config_json

    if shape is not None:
        raise UsageError(
            f"--shape sets an image size, but {path} is a token model; use --seq-len N "
            "(and --batch N)"
        )
    _refuse(
        request,
        f"{path} is a token model: use --seq-len and --batch",
        ("--seq-len", "--batch", "--model-arg"),
    )
    return load_config_json(path, request)
