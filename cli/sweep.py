"""`complexity sweep TARGET --shapes 320,640,960` (or `--seq-lens 512,1024,2048`): totals per
input size and how they grow."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

from complexity.targets import TargetError, parse_shape

from .command import analyze_target, check_decode, check_exports, tool_version, train_step_of
from .export import files_read_by
from .failures import UsageError
from .validation import (
    TargetOptions,
    check_build_device,
    check_convention,
    check_seq_lens,
    check_target_options,
)


def parse_sizes(values: list[str] | None) -> list[tuple[int, int]]:
    """`320,640,960` (or repeated --shapes) -> [(320, 320), ...]; `640x480` for H≠W."""
    items = [item for value in values or [] for item in value.split(",") if item.strip()]
    if not items:
        raise UsageError("give the sizes to sweep, e.g. --shapes 320,640,960")
    sizes = []
    for item in items:
        try:
            size = parse_shape([item.strip()])
        except TargetError:
            raise UsageError(
                f"--shapes item {item.strip()!r} is not a size; write e.g. --shapes 320,640,960 "
                "or --shapes 640x480,1280x960"
            ) from None
        assert size is not None
        sizes.append(size)
    if len(set(sizes)) != len(sizes):
        raise UsageError("--shapes lists a size twice; give each size once")
    return sizes


def parse_seq_lens(values: list[str], option: str = "--seq-lens") -> list[int]:
    """`512,1024,2048` (or repeated --seq-lens) -> [512, 1024, 2048]."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    lengths = []
    for item in items:
        if not item.isdigit() or int(item) <= 0:
            raise UsageError(
                f"{option} item {item!r} is not a positive integer; write e.g. "
                f"{option} 512,1024,2048"
            )
        lengths.append(int(item))
    if len(set(lengths)) != len(lengths):
        raise UsageError(f"{option} lists a length twice; give each length once")
    return lengths


def _device_spec(text: str | None) -> Any:
    if text is None:
        return None
    from complexity.analyzer.datasheets import parse_device_spec

    try:
        return parse_device_spec(text)
    except ValueError as error:
        raise UsageError(f"--device-spec: {error}") from None


def _fed_size(shape: tuple[int, int], inputs: Any) -> tuple[int, int]:
    # The preprocessor may pad (e.g. to a multiple of 32): take the size actually fed.
    dims = getattr(inputs, "shape", None)
    return (int(dims[-2]), int(dims[-1])) if dims is not None and len(dims) == 4 else shape


def run_sweep(
    target: str,
    options: TargetOptions,
    *,
    shapes: list[str] | None,
    seq_lens: list[str] | None,
    convention: str,
    by_operator: bool,
    exports: dict[str, str],
    device: str = "auto",
    contexts: list[str] | None = None,
    decode: bool = False,
    kv_dtype: str | None = None,
    device_spec: str | None = None,
    train_step: bool = False,
    freeze: tuple[str, ...] = (),
) -> None:
    """Analyse `target` at each size; print the totals and growth; write JSON/HTML exports.

    Every point is checked (with the target and its options) before the first is built.
    With `decode`, each of `contexts` is one decode step with a KV cache of that many tokens.
    """
    check_convention(convention)
    if shapes and seq_lens:
        raise UsageError("give --shapes (image sizes) or --seq-lens (token counts), not both")
    if decode != bool(contexts):
        raise UsageError(
            "a decode sweep takes both --decode and --contexts, e.g. --decode "
            "--contexts 512,2048,8192"
        )
    if contexts and (shapes or seq_lens):
        raise UsageError("--contexts sweeps the KV cache; drop --shapes and --seq-lens")
    roofline_device = _device_spec(device_spec)
    cached = parse_seq_lens(contexts, "--contexts") if contexts else []
    lengths = parse_seq_lens(seq_lens) if seq_lens else []
    sizes = [] if lengths or cached else parse_sizes(shapes)
    size_specs = [
        check_target_options(target, replace(options, shape=["x".join(map(str, size))]))
        for size in sizes
    ]
    length_specs = [
        check_target_options(target, replace(options, seq_len=length)) for length in lengths
    ]
    if length_specs:
        check_seq_lens(length_specs[0], lengths)
    context_specs = [
        check_target_options(target, replace(options, seq_len=context)) for context in cached
    ]
    for spec in context_specs:
        check_decode(target, True, spec.request.seq_len, kv_dtype, "meta", spec.request)
    if context_specs:
        check_seq_lens(context_specs[0], cached, "--contexts")
    checked = check_exports(exports, files_read_by(target, "the model (TARGET)"))
    check_build_device(device)
    step = train_step_of(train_step, freeze)
    if step is not None and cached:
        raise UsageError("--train-step prices a training step; a decode sweep has none")

    from complexity.analyzer.sweep import SweepPoint, sweep_growth
    from complexity.render import print_sections, stdout_console
    from complexity.render.sweep import footer_lines, growth_note, operator_table, totals_table

    points = []
    for shape, spec in zip(sizes, size_specs, strict=True):
        label = "x".join(map(str, shape))
        loaded, report = analyze_target(
            spec, convention, device, train_step=step, label=f"{target} at {label}"
        )
        checked.refuse_overwriting({path: "a file the model read" for path in loaded.files_read})
        fed = _fed_size(shape, loaded.inputs)
        size = math.sqrt(fed[0] * fed[1])
        points.append(SweepPoint(shape, fed, size, loaded.input_label, report))
    for length, spec in zip(lengths, length_specs, strict=True):
        loaded, report = analyze_target(
            spec, convention, device, train_step=step, label=f"{target} at {length} tokens"
        )
        checked.refuse_overwriting({path: "a file the model read" for path in loaded.files_read})
        tokens = loaded.tokens or (options.batch or 1, length)
        points.append(SweepPoint(tokens, tokens, length, loaded.input_label, report, "seq_len"))
    for context, spec in zip(cached, context_specs, strict=True):
        from complexity.targets.decode import analyze_decode

        loaded, prefill = analyze_target(
            spec, convention, "meta", label=f"{target} with {context} cached tokens"
        )
        report, serving, step = analyze_decode(
            loaded, prefill, convention, context, kv_dtype, roofline_device
        )
        shape = (serving.cache.batch, context)
        points.append(SweepPoint(shape, shape, context, step.label, report, "context", serving))

    texts: dict[str, str] = {}
    if "json" in checked:
        data = {
            "schema": 1,
            "tool": {"name": "complexity", "version": tool_version()},
            "source": target,
            "convention": {
                "name": points[0].report.convention,
                "summary": points[0].report.convention_summary,
            },
            "points": [point.to_dict() for point in points],
            "growth": {metric: sweep_growth(points, metric) for metric in ("flops", "activations")},
        }
        texts["json"] = json.dumps(data, indent=2, allow_nan=False) + "\n"
    if "html" in checked:
        from complexity.render.html import sweep_html

        texts["html"] = sweep_html(points, target, by_operator=by_operator)
    if checked.write(texts):  # `--json -`: stdout carries the JSON alone
        return

    from rich.text import Text

    sections: list[Any] = [totals_table(points), Text(growth_note(points))]
    if by_operator:
        sections.append(operator_table(points))
    footer = footer_lines(points)  # the convention, how each size was traced, uncounted
    sections += [Text(footer[0]), Text("\n".join(footer[1:]))]
    sections += [Text(line) for line in checked.written_lines()]
    print_sections(sections, stdout_console())
