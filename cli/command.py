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

from .loading import (
    InputRequest,
    UsageError,
    load,
    parse_cfg_options,
    parse_input,
    parse_model_args,
    parse_shape,
)


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


def _with_token_hint(error: Exception, tokens: tuple[int, int] | None) -> Exception:
    """An embedding fed floats: say how to give it token ids instead."""
    from complexity.analyzer import AnalysisError

    if tokens is not None or "'indices'" not in str(error):
        return error
    return AnalysisError(
        f"{error}; the model takes token ids: give --seq-len N or --input SHAPE:int64",
        module=getattr(error, "module", None),
        input_shapes=getattr(error, "input_shapes", None),
    )


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
    input_specs: list[str] | None = None,
    seq_len: int | None = None,
    batch: int | None = None,
    model_args: list[str] | None = None,
) -> None:
    from complexity.analyzer import CONVENTIONS, AnalysisError, analyze

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
    request = InputRequest(
        inputs=tuple(parse_input(spec) for spec in input_specs or ()),
        seq_len=seq_len,
        batch=batch,
        model_args=parse_model_args(model_args),
    )
    json_file = check_json_target(json_path)

    with spinner(f"building {target}"):
        loaded = load(target, size, options, request)
    with spinner("tracing and counting"):
        try:
            report = analyze(loaded.model, loaded.inputs, convention=convention)
        except AnalysisError as error:
            raise _with_token_hint(error, loaded.tokens) from error

    if json_path is not None:
        data = report.to_dict(version=tool_version())
        data["source"] = target
        if json_file is None:  # `--json -`: stdout carries the JSON alone
            json.dump(data, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return
        write_json_atomically(json_file, data)

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
    for line in render.summary_lines(
        report, loaded.input_label, tokens=loaded.tokens, default_seq_len=loaded.default_seq_len
    ):
        console.print(line, markup=False, highlight=False)
    if json_file is not None:
        console.print(f"JSON report written to {json_file}", style="dim", highlight=False)
