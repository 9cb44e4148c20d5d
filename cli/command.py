"""What `complexity analyze` does, once its options are parsed."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator

from rich.console import Console

from .export import check_json_target, write_json
from .isolation import user_code
from .loading import UsageError, load, parse_cfg_options, parse_shape
from .signals import raise_if_interrupted

LOADING_EXIT_HINT = "keep script code (argparse, main()) under `if __name__ == '__main__':`"


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("complexity")
    except PackageNotFoundError:
        return "unknown"


def describe_failure(error: BaseException) -> tuple[str, int]:
    """One line and an exit code for an exception that ends the command.

    Imports nothing: after a Ctrl-C during start-up, torch may be half imported.
    """
    analysis = sys.modules.get("complexity.analyzer.tracing")
    if isinstance(error, UsageError):
        return str(error), 2
    if analysis is not None and isinstance(error, analysis.AnalysisError):
        return str(error), 1
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": "), 1


@contextlib.contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner on stderr, only when stderr is a terminal."""
    console = Console(file=sys.stderr)  # bound now: the user's code may swap sys.stderr
    if console.is_terminal:
        with console.status(message):
            yield
    else:
        yield


def output_console() -> Console:
    # Piped output must not be cut to 80 columns: the table is the product.
    if sys.stdout.isatty():
        return Console()
    return Console(width=max(int(os.environ.get("COLUMNS", "0") or 0), 200))


def analyze(
    target: str,
    *,
    shape: list[str] | None,
    depth: int,
    tree: bool,
    show_table: bool,
    show_arch: bool,
    by_operator: bool,
    convention: str,
    json_path: str | None,
    cfg_options: list[str] | None,
) -> None:
    from complexity.analyzer import CONVENTIONS, analyze

    from . import render
    from .rows import arch_lines, table_rows

    if depth < 0:
        raise UsageError(f"--depth {depth} is negative; give 0 or more levels")
    if convention not in CONVENTIONS:
        raise UsageError(
            f"unknown --convention {convention!r}; use one of: {', '.join(CONVENTIONS)}"
        )
    size = parse_shape(shape)
    options = parse_cfg_options(cfg_options)
    json_file = check_json_target(json_path)

    with (
        spinner(f"building {target}"),
        user_code(target, "loading it", LOADING_EXIT_HINT),
    ):
        loaded = load(target, size, options)
    with (
        spinner("tracing and counting"),
        user_code(target, "running its forward", "a forward must return its outputs"),
    ):
        report = analyze(loaded.model, loaded.inputs, convention=convention)
    raise_if_interrupted()  # a Ctrl-C that the model or a library swallowed

    if json_path is not None:
        data = report.to_dict(version=tool_version())
        data["source"] = target
        if json_file is None:  # `--json -`: stdout carries the JSON alone
            json.dump(data, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return
        write_json(json_file, data)

    console = output_console()
    if show_table:
        console.print(render.module_table(table_rows(report, depth)))
    if show_arch:
        console.print("\n".join(arch_lines(report)), markup=False, highlight=False)
    if tree:
        console.print(render.module_tree(report, depth))
    if by_operator:
        console.print(render.operator_table(report))
    console.print(f"convention: {report.convention_summary}", markup=False, highlight=False)
    console.print(render.uncounted_section(report))
    for note in loaded.notes:
        console.print(render.SPLIT_LINE + "\n" + note, markup=False, highlight=False)
    for line in render.summary_lines(report, loaded.input_label):
        console.print(line, markup=False, highlight=False)
    if json_file is not None:
        # markup=False: a path such as report[v2].json is printed as it is.
        console.print(
            f"JSON report written to {json_file.path}", style="dim", highlight=False, markup=False
        )
