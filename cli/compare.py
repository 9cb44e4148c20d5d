"""`complexity compare A B`: two analyses under one convention, modules matched by name."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from complexity.targets import (
    DEFAULT_MAX_MODULES,
    InputRequest,
    TargetSpec,
    check_device,
    load_and_analyze,
    parse_input,
    parse_shape,
)

from .command import spinner, tool_version, train_step_of
from .export import check_exports, files_read_by
from .failures import UsageError


def run_compare(
    target_a: str,
    target_b: str,
    *,
    shape: list[str] | None,
    depth: int,
    convention: str,
    exports: dict[str, str],
    inputs: list[str] | None = None,
    seq_len: int | None = None,
    batch: int | None = None,
    device: str = "auto",
    builder: str = "auto",
    decode: bool = False,
    context: int | None = None,
    kv_dtype: str | None = None,
    train_step: bool = False,
    freeze: tuple[str, ...] = (),
    max_modules: int | None = DEFAULT_MAX_MODULES,
) -> None:
    """Load and analyse both targets, print the matched table, write the JSON/HTML exports.

    With `decode`, each side is one decode step with a KV cache of `context` tokens.
    """
    from complexity.analyzer import CONVENTIONS, compare_reports
    from complexity.render import print_sections, stdout_console, uncounted_section
    from complexity.render.compare import diff_tables, summary_lines

    if depth < 0:
        raise UsageError(f"--depth {depth} is negative; give 0 or more levels")
    if convention not in CONVENTIONS:
        raise UsageError(
            f"unknown --convention {convention!r}; use one of: {', '.join(CONVENTIONS)}"
        )
    size = parse_shape(shape)
    request = InputRequest(
        inputs=tuple(parse_input(spec) for spec in inputs or ()), seq_len=seq_len, batch=batch
    )
    checked = check_exports(
        exports,
        {**files_read_by(target_a, "model A"), **files_read_by(target_b, "model B")},
    )

    check_device(device)
    train_step_of(train_step, freeze)  # refuse --freeze without --train-step before any work
    cached = None
    if decode or context is not None or kv_dtype is not None:
        from .command import AnalyzeRequest, _check_decode

        for target in (target_a, target_b):
            cached = _check_decode(
                AnalyzeRequest(target, decode=decode, context=context, kv_dtype=kv_dtype,
                               device=device),
                request,
            )  # fmt: skip
        if cached is not None and request.seq_len is None:
            request = dataclasses.replace(request, seq_len=cached)

    reports, labels, notes, servings = [], [], [], []
    for side, target in zip("AB", (target_a, target_b), strict=True):
        with spinner(f"building and tracing {target}"), _naming_the_side(side, target):
            loaded, report = load_and_analyze(
                TargetSpec(target, size, request=request, builder=builder, max_modules=max_modules),
                convention,
                device,
                train_step=train_step_of(train_step, freeze),
            )
            checked.refuse_overwriting(
                {path: f"a file model {side} read" for path in loaded.files_read}
            )
            if cached is not None:
                from complexity.targets.decode import analyze_decode

                report, serving, step = analyze_decode(
                    loaded, report, convention, cached, kv_dtype, None
                )
                servings.append(serving)
                loaded.input_label = step.label
                loaded.notes = [*loaded.notes, *step.notes]
        reports.append(report)
        labels.append(loaded.input_label)
        notes.append(loaded.notes)
        del loaded  # free A's model before building B
    report_a, report_b = reports
    diff = compare_reports(report_a, report_b)
    sources = (target_a, target_b)

    texts: dict[str, str] = {}
    if "json" in checked:
        data: dict[str, Any] = {}
        for key, report, source in (("a", report_a, target_a), ("b", report_b, target_b)):
            data[key] = report.to_dict(version=tool_version())
            data[key]["source"] = source
            if servings:
                from complexity.render.exports import add_serving

                add_serving(data[key], servings[0 if key == "a" else 1])
        data["delta"] = diff.to_dict()
        texts["json"] = json.dumps(data, indent=2, allow_nan=False) + "\n"
    if "html" in checked:
        from complexity.render.html import compare_html

        texts["html"] = compare_html(
            report_a, report_b, diff, sources=sources, input_labels=(labels[0], labels[1]),
            depth=depth, servings=servings,
        )  # fmt: skip
    if checked.write(texts):  # `--json -`: stdout carries the JSON alone
        return

    console = stdout_console()
    sections: list[Any] = list(diff_tables(diff, depth, console))
    sections.append(f"convention: {report_a.convention_summary}")
    for title, report in ((f"A ({target_a})", report_a), (f"B ({target_b})", report_b)):
        sections += [f"{title}:", uncounted_section(report), "\n".join(report.footer_lines())]
    for title, side_notes in zip("AB", notes, strict=True):
        sections += [f"{title}: {note}" for note in side_notes]
    sections.append("\n".join(summary_lines(diff, sources, (labels[0], labels[1]))))
    if servings:
        from complexity.render import format_bytes

        first, second = servings
        sections.append(
            f"KV cache at {first.cache.context} tokens: {format_bytes(first.cache.bytes_at())} "
            f"-> {format_bytes(second.cache.bytes_at())}; a decode step moves "
            f"{format_bytes(first.decode_bytes)} -> {format_bytes(second.decode_bytes)}"
        )
    sections += checked.written_lines()
    print_sections([_plain(s) if isinstance(s, str) else s for s in sections], console)


@contextlib.contextmanager
def _naming_the_side(side: str, target: str) -> Iterator[None]:
    """A failure while loading or analysing one model says which: `model B (path): ...`."""
    from complexity.analyzer import AnalysisError
    from complexity.targets import TargetError

    try:
        yield
    except (TargetError, UsageError) as error:
        raise type(error)(f"model {side} ({target}): {error}") from error
    except AnalysisError as error:
        raise AnalysisError(
            f"model {side} ({target}): {error}",
            module=error.module,
            input_shapes=error.input_shapes,
        ) from error


def _plain(text: str) -> Any:
    from rich.text import Text

    return Text(text)  # paths and brackets printed as they are
