"""`complexity compare A B`: two analyses under one convention, modules matched by name."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from .command import (
    analyze_target,
    check_decode,
    check_exports,
    tool_version,
    train_step_of,
    with_prefill,
)
from .export import files_read_by
from .failures import UsageError
from .validation import (
    TargetOptions,
    check_build_device,
    check_convention,
    check_depth,
    check_target_options,
)


def run_compare(
    target_a: str,
    target_b: str,
    *,
    options: tuple[TargetOptions, TargetOptions],
    depth: int,
    convention: str,
    exports: dict[str, str],
    device: str = "auto",
    memory: bool = False,
    decode: bool = False,
    context: int | None = None,
    kv_dtype: str | None = None,
    train_step: bool = False,
    freeze: tuple[str, ...] = (),
) -> None:
    """Load and analyse both targets, print the matched table, write the JSON/HTML exports.

    `options` are each side's: both are checked, and both targets, before either is built.
    With `decode`, each side is one decode step with a KV cache of `context` tokens.
    """
    check_depth(depth)
    check_convention(convention)
    specs = [
        check_target_options(target, side)
        for target, side in zip((target_a, target_b), options, strict=True)
    ]
    checked = check_exports(
        exports,
        {**files_read_by(target_a, "model A"), **files_read_by(target_b, "model B")},
    )
    check_build_device(device)
    train = train_step_of(train_step, freeze)
    cached = None
    for index, spec in enumerate(specs):
        cached = check_decode(spec.target, decode, context, kv_dtype, device, spec.request)
        specs[index] = with_prefill(spec, cached)

    from complexity.analyzer import compare_reports
    from complexity.render import print_sections, stdout_console, uncounted_section
    from complexity.render.compare import diff_tables, summary_lines

    reports, labels, notes, servings = [], [], [], []
    for side, spec in zip("AB", specs, strict=True):
        with _naming_the_side(side, spec.target):
            loaded, report = analyze_target(spec, convention, device, train_step=train)
        checked.refuse_overwriting(
            {path: f"a file model {side} read" for path in loaded.files_read}
        )
        if cached is not None:
            from complexity.targets.decode import analyze_decode

            report, serving, step = analyze_decode(
                loaded, report, convention, cached, kv_dtype, None
            )
            servings.append(serving)
            loaded = replace(loaded, input_label=step.label, notes=[*loaded.notes, *step.notes])
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
            depth=depth, servings=servings, memory=memory, notes=(notes[0], notes[1]),
        )  # fmt: skip
    if checked.write(texts):  # `--json -`: stdout carries the JSON alone
        return

    console = stdout_console()
    sections: list[Any] = list(diff_tables(diff, depth, console, memory))
    sections.append(f"convention: {report_a.convention_summary}")
    for title, report in ((f"A ({target_a})", report_a), (f"B ({target_b})", report_b)):
        sections += [f"{title}:", uncounted_section(report), "\n".join(report.footer_lines())]
    for title, side_notes in zip("AB", notes, strict=True):
        sections += [f"{title}: {note}" for note in side_notes]
    sections.append("\n".join(summary_lines(diff, sources, (labels[0], labels[1]))))
    if servings:
        from complexity.render.compare import serving_change_line

        sections.append(serving_change_line(*servings))
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
        raise error.restated(f"model {side} ({target}): {error}") from error


def _plain(text: str) -> Any:
    from rich.text import Text

    return Text(text)  # paths and brackets printed as they are
