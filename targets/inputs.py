"""Inputs: parsing `--input`, `--shape`, `--model-arg`, and building the tensors a model is fed."""

from __future__ import annotations

import ast
import contextlib
import math
import re
from typing import Any

from .spec import DEFAULT_IMAGE, DTYPES, InputRequest, Loaded, TargetError, TensorSpec


def build_context(device: str) -> contextlib.AbstractContextManager[Any]:
    """Factory functions (parameters, torch.rand, ...) allocate on `device` inside it."""
    import torch

    return contextlib.nullcontext() if device == "cpu" else torch.device(device)


def parse_input(value: str) -> TensorSpec:
    """`1x4096:int64` -> TensorSpec((1, 4096), "int64"); the dtype defaults to float32.
    `attention_mask=1x128:int64` names a keyword input."""
    name, equals, rest = value.partition("=")
    name = name.strip() if equals else ""
    if equals and not name.isidentifier():
        raise TargetError(
            f"--input {value}: {name!r} is not an argument name; write e.g. "
            "--input attention_mask=1x128:int64"
        )
    text, _, dtype = (rest if equals else value).partition(":")
    dtype = dtype.strip() or "float32"
    try:
        shape = tuple(int(part) for part in text.replace(",", "x").split("x"))
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise TargetError(
            f"--input {value} is not SHAPE[:DTYPE]; write e.g. --input 1x3x224x224 "
            "or --input 1x4096:int64"
        )
    if dtype not in DTYPES:
        raise TargetError(
            f"--input {value}: unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}"
        )
    if math.prod(shape) * 8 >= 2**63:  # torch sizes a tensor's storage in int64 bytes
        raise TargetError(
            f"--input {value} has {math.prod(shape):.3g} elements, more than a tensor can "
            "hold (2^63 bytes); give a smaller shape"
        )
    return TensorSpec(shape, dtype, name or None)


def parse_model_args(items: list[str] | None) -> dict[str, Any]:
    """`num_classes=10 name=tiny` -> {'num_classes': 10, 'name': 'tiny'}: Python literals,
    or the text itself when it is not one."""
    arguments: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise TargetError(
                f"--model-arg {_shortened(item)!r} is not KEY=VALUE; write e.g. "
                "--model-arg num_classes=10"
            )
        try:
            arguments[key] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            arguments[key] = text.strip()
        if not all_finite(arguments[key]):
            raise TargetError(
                f"--model-arg {key}={_shortened(text.strip())} is not a finite number; "
                "give a value a model can be built with"
            )
    return arguments


def all_finite(value: Any) -> bool:
    """False if `value` is, or holds (lists, tuples, dicts), an infinite or NaN float:
    `1e400` parses as inf, and a layer count or width of inf is no size."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple, set)):
        return all(all_finite(item) for item in value)
    if isinstance(value, dict):
        return all(all_finite(item) for item in value.values())
    return True


def _shortened(text: str, limit: int = 60) -> str:
    """A value as typed, cut in the middle when long: a message is one readable line."""
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2 :]}"


def check_input_options(shape: tuple[int, int] | None, request: InputRequest) -> None:
    """Refuse options that would contradict each other, before anything is built."""
    if any(spec.name is None for spec in request.inputs):
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
            raise TargetError(
                f"--input gives whole shapes, so {' and '.join(given)} cannot apply too; "
                "write the size into --input, or drop --input (a named --input NAME=SHAPE "
                "can go with them)"
            )
    if shape is not None and request.seq_len is not None:
        raise TargetError(
            "--shape sets an image size and --seq-len a token count; give the one your model takes"
        )
    for name, value in (("--seq-len", request.seq_len), ("--batch", request.batch)):
        if value is not None and value <= 0:
            raise TargetError(f"{name} {value} is not a positive integer")


def make_tensor(shape: tuple[int, ...], dtype_name: str, device: str | None = None) -> Any:
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


def token_ids(batch: int, seq_len: int, device: str | None = None) -> Any:
    return make_tensor((batch, seq_len), "int64", device)


def tokens_of(inputs: Any) -> tuple[int, int] | None:
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
        raise TargetError(
            f"--shape is given {len(values)} times ({' and '.join(values)}); give it once: "
            "--shape 640 or --shape 640 480"
        )
    match = _SHAPE.fullmatch(values[0])
    numbers = [int(n) for n in match.groups() if n is not None] if match else []
    if not numbers or any(n <= 0 for n in numbers):
        raise TargetError(
            f"--shape {values[0]} is not one or two positive integers; write e.g. "
            "--shape 640 or --shape 640 480"
        )
    return (numbers[0], numbers[-1])


def refuse(request: InputRequest, why: str, allowed: tuple[str, ...] = ()) -> None:
    """One line naming the first given option that this kind of target cannot take."""
    for name, given in (
        ("--input", bool(request.inputs)),
        ("--seq-len", request.seq_len is not None),
        ("--batch", request.batch is not None),
        ("--model-arg", bool(request.model_args)),
    ):
        if given and name not in allowed:
            raise TargetError(f"{name} does not apply here: {why}")


def default_inputs(
    where: str,
    shape: tuple[int, int] | None,
    request: InputRequest,
    batch_shape: tuple[int, ...] | None = None,
    dtype: str = "float32",
) -> Any:
    """The inputs of a model file or import spec from the command line and its defaults.

    `batch_shape`/`dtype` are the file's `input_shape`/`input_dtype`, if it defines them.
    """
    positional = [spec for spec in request.inputs if spec.name is None]
    if positional:
        tensors = tuple(make_tensor(spec.shape, spec.dtype) for spec in positional)
        return tensors[0] if len(tensors) == 1 else tensors
    if request.seq_len is not None:
        if batch_shape is not None and len(batch_shape) != 2:
            raise TargetError(
                f"--seq-len makes (batch, N) token ids, but `input_shape` in {where} is "
                f"{batch_shape}; give the inputs with --input SHAPE[:DTYPE]"
            )
        batch = request.batch or (batch_shape[0] if batch_shape else 1)
        return token_ids(batch, request.seq_len)
    if batch_shape is None:
        batch_shape = (1, 3, *(shape or DEFAULT_IMAGE))
    elif shape is not None:
        if len(batch_shape) != 4:
            raise TargetError(
                f"--shape sets an image's height and width, but `input_shape` in {where} is "
                f"{batch_shape}, not (N, C, H, W); use --seq-len N or --input SHAPE[:DTYPE]"
            )
        batch_shape = (*batch_shape[:-2], *shape)
    if request.batch is not None:
        batch_shape = (request.batch, *batch_shape[1:])
    return make_tensor(tuple(batch_shape), dtype)


def keyword_inputs(request: InputRequest) -> dict[str, Any]:
    """The named `--input NAME=SHAPE[:DTYPE]` tensors, by name."""
    return {
        spec.name: make_tensor(spec.shape, spec.dtype)
        for spec in request.inputs
        if spec.name is not None
    }


def _label(inputs: Any) -> str:
    import torch

    from complexity.analyzer import describe_shapes

    if isinstance(inputs, torch.Tensor):
        dtype = str(inputs.dtype).removeprefix("torch.")
        return str(inputs.shape) + ("" if dtype == "float32" else f" {dtype}")
    return str(describe_shapes(inputs))


def split_inputs(inputs: Any, where: str) -> tuple[Any, dict[str, Any]]:
    """A model file's `inputs`: positional inputs, a dict of keyword inputs, or a tuple of
    (positional inputs, keyword inputs) -> (positional, keywords)."""
    if isinstance(inputs, dict):
        keywords, positional = inputs, ()
    elif (
        isinstance(inputs, tuple)
        and len(inputs) == 2
        and isinstance(inputs[0], (tuple, list))
        and isinstance(inputs[1], dict)
    ):
        positional, keywords = tuple(inputs[0]), inputs[1]
    else:
        return inputs, {}
    for key in keywords:
        if not (isinstance(key, str) and key.isidentifier()):
            raise TargetError(
                f"`inputs` in {where} has the key {key!r}; keyword inputs are keyed by the "
                "forward's argument names"
            )
    return positional, dict(keywords)


def loaded(
    model: Any,
    inputs: Any,
    notes: list[str] | None = None,
    kwargs: dict[str, Any] | None = None,
) -> Loaded:
    label = _label(inputs)
    no_positional = isinstance(inputs, tuple) and not inputs
    if kwargs:
        named = ", ".join(f"{key}={_label(value)}" for key, value in kwargs.items())
        label = named if no_positional else f"{label}, {named}"
    first = next(iter((kwargs or {}).values()), None) if no_positional else inputs
    tokens = tokens_of(first)
    return Loaded(model, inputs, label, notes or [], tokens=tokens, kwargs=dict(kwargs or {}))
