"""What `complexity analyze` does once its options are parsed: load, analyse, print, export."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from rich.console import Console

from complexity.render import RenderOptions

from .export import check_export_target, write_export
from .isolation import user_code
from .loading import UsageError, load, parse_cfg_options, parse_shape
from .signals import raise_if_interrupted

LOADING_EXIT_HINT = "keep script code (argparse, main()) under `if __name__ == '__main__':`"


@dataclass(frozen=True)
class AnalyzeRequest:
    """Everything `complexity analyze` was asked, as parsed from the command line."""

    target: str  # config, model file or import spec
    shape: list[str] | None = None  # --shape values as typed
    cfg_options: list[str] | None = None  # key=value items
    convention: str = "fvcore"
    exports: Mapping[str, str] = field(default_factory=dict)  # format -> path, "-" for stdout
    render: RenderOptions = field(default_factory=RenderOptions)


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("complexity")
    except PackageNotFoundError:
        return "unknown"


@contextlib.contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner on stderr, only when stderr is a terminal."""
    console = Console(file=sys.stderr)  # bound now: the user's code may swap sys.stderr
    if console.is_terminal:
        with console.status(message):
            yield
    else:
        yield


def run_analyze(request: AnalyzeRequest) -> None:
    """Load the target, analyse it once, print the sections and write the exports."""
    from complexity.analyzer import CONVENTIONS, analyze
    from complexity.render import (
        EXPORTERS,
        ExportContext,
        print_sections,
        report_sections,
        stdout_console,
    )

    if request.render.depth < 0:
        raise UsageError(f"--depth {request.render.depth} is negative; give 0 or more levels")
    if request.convention not in CONVENTIONS:
        raise UsageError(
            f"unknown --convention {request.convention!r}; use one of: {', '.join(CONVENTIONS)}"
        )
    size = parse_shape(request.shape)
    options = parse_cfg_options(request.cfg_options)
    targets = {fmt: check_export_target(fmt, to) for fmt, to in request.exports.items()}

    with (
        spinner(f"building {request.target}"),
        user_code(request.target, "loading it", LOADING_EXIT_HINT),
    ):
        loaded = load(request.target, size, options)
    with (
        spinner("tracing and counting"),
        user_code(request.target, "running its forward", "a forward must return its outputs"),
    ):
        report = analyze(loaded.model, loaded.inputs, convention=request.convention)
    raise_if_interrupted()  # a Ctrl-C that the model or a library swallowed

    context = ExportContext(version=tool_version(), source=request.target)
    for fmt, path in targets.items():
        text = EXPORTERS[fmt](report, context)
        if path is None:  # `--json -`: stdout carries the export alone
            sys.stdout.write(text)
            return
        write_export(path, text)

    console = stdout_console()
    print_sections(
        report_sections(report, request.render, loaded.input_label, loaded.notes), console
    )
    for fmt, path in targets.items():
        console.print(
            f"{fmt.upper()} report written to {path.path}",
            style="dim",
            highlight=False,
            markup=False,
        )
