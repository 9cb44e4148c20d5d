"""What `complexity analyze` does, once its options are parsed."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from .loading import UsageError, load, parse_cfg_options, parse_shape


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("complexity")
    except PackageNotFoundError:
        return "unknown"


def describe_failure(error: BaseException) -> tuple[str, int]:
    """One line and an exit code for an exception that ends the command."""
    from complexity.analyzer import AnalysisError

    if isinstance(error, UsageError):
        return str(error), 2
    if isinstance(error, AnalysisError):
        return str(error), 1
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": "), 1


def check_json_target(target: str | None) -> Path | None:
    """Refuse a JSON path we could not write, before any work is done."""
    if target is None or target == "-":
        return None
    path = Path(target)
    if path.is_dir():
        raise UsageError(
            f"--json {target} is a folder; give a file path such as {path / 'report.json'}"
        )
    if not path.parent.is_dir():
        raise UsageError(f"--json {target}: folder {path.parent} does not exist; create it first")
    return path


def write_json_atomically(path: Path, data: Any) -> None:
    """Write to a temporary file beside `path`, then rename: never a partial or clobbered file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner on stderr, only when stderr is a terminal."""
    console = Console(stderr=True)
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
    memory: bool = False,
    device_spec: str | None = None,
) -> None:
    from complexity.analyzer import CONVENTIONS, analyze, parse_device_spec, roofline
    from complexity.analyzer.roofline import annotate

    from . import costs, render
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
    device = None
    if device_spec is not None:
        try:
            device = parse_device_spec(device_spec)
        except ValueError as error:
            raise UsageError(f"--device-spec: {error}") from None

    with spinner(f"building {target}"):
        loaded = load(target, size, options)
    with spinner("tracing and counting"):
        report = analyze(loaded.model, loaded.inputs, convention=convention)
    times = roofline(report, device) if device is not None else None

    if json_path is not None:
        data = report.to_dict(version=tool_version())
        data["source"] = target
        if times is not None:
            annotate(data, times)
        if json_file is None:  # `--json -`: stdout carries the JSON alone
            json.dump(data, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return
        write_json_atomically(json_file, data)

    console = output_console()
    if show_table:
        rows = table_rows(report, depth)
        extra = costs.extra_columns(report, rows, memory, times)
        console.print(render.module_table(rows, extra))
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
    extra_lines = (costs.memory_lines(report) if memory else []) + (
        costs.roofline_lines(times) if times is not None else []
    )
    for line in extra_lines:
        console.print(line, markup=False, highlight=False)
    if json_file is not None:
        console.print(f"JSON report written to {json_file}", style="dim", highlight=False)
