"""`complexity analyze CONFIG`: load, analyse once, render. Heavy imports happen lazily."""

from __future__ import annotations

import sys
import traceback
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Parameters, FLOPs and activations of a PyTorch model, per module, from one trace.",
)


class CLIError(Exception):
    """A one-line error for the user, with its exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@app.callback()
def main() -> None:
    """Parameters, FLOPs and activations of a PyTorch model, per module, from one trace."""


@app.command("analyze")
def analyze_command(
    config: Annotated[
        str,
        typer.Argument(
            help="MMYOLO-style config, a .py file defining `model`, or package.module:factory.",
            show_default=False,
        ),
    ],
    shape: Annotated[
        list[str] | None,
        typer.Option(
            help="Image size H W (or one size for both), e.g. 640 or 640 480. Default 640 "
            "for MMYOLO configs, 224 for model files and import specs."
        ),
    ] = None,
    input_specs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            help="SHAPE[:DTYPE] of one positional input, e.g. 1x3x224x224 or 1x4096:int64; "
            "repeat for each input.",
        ),
    ] = None,
    seq_len: Annotated[
        int | None,
        typer.Option(
            "--seq-len",
            help="Token model: sequence length of the input_ids (config.json default 512).",
        ),
    ] = None,
    batch: Annotated[
        int | None, typer.Option("--batch", help="Batch size of the default input (default 1).")
    ] = None,
    model_args: Annotated[
        list[str] | None,
        typer.Option(
            "--model-arg",
            help="KEY=VALUE keyword argument for the model factory, or a config.json field; "
            "VALUE is a Python literal. Repeatable.",
        ),
    ] = None,
    depth: Annotated[int, typer.Option(help="Rows and tree levels to show below the model.")] = 3,
    tree: Annotated[bool, typer.Option("--tree", help="Show the module tree.")] = False,
    not_show_table: Annotated[
        bool, typer.Option("--not-show-table", help="Do not print the per-module table.")
    ] = False,
    show_arch: Annotated[
        bool, typer.Option("--show-arch", help="Print the model with stats, as mmengine does.")
    ] = False,
    by_operator: Annotated[
        bool, typer.Option("--by-operator", help="Print flops per operator type.")
    ] = False,
    convention: Annotated[
        str,
        typer.Option(
            help="fvcore (the seed's numbers, 1 multiply-add = 1 flop), flops "
            "(real floating-point operations, elementwise ops and attention included) or "
            "macs (multiply-adds of conv, matmuls and attention: torchvision's GFLOPS)."
        ),
    ] = "fvcore",
    json_path: Annotated[
        str | None,
        typer.Option("--json", help="Also write the full report as JSON to PATH (- for stdout)."),
    ] = None,
    cfg_options: Annotated[
        list[str] | None,
        typer.Option("--cfg-options", help="Override config keys: key=value (mmengine syntax)."),
    ] = None,
    all_uncounted: Annotated[
        bool,
        typer.Option("--all-uncounted", help="List every uncounted operator and where it ran."),
    ] = False,
    memory: Annotated[
        bool,
        typer.Option(
            "--memory",
            help="Add parameter bytes, activation bytes and peak activation memory "
            "(inference forward) to the table, in binary units (KiB, MiB, GiB).",
        ),
    ] = False,
    device_spec: Annotated[
        str | None,
        typer.Option(
            "--device-spec",
            help="Add a roofline time per module (a lower bound) on a device: "
            "'H100 SXM', H200, 'A100 80GB', L4, T4, 'RTX 4090', or flops=989T,bandwidth=3.35T.",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Analyse a model: MMYOLO's get_flops table and summary; optionally tree, operators, JSON."""
    from complexity.render import RenderOptions

    from .command import AnalyzeRequest, run_analyze

    run_analyze(
        AnalyzeRequest(
            target=config,
            shape=shape,
            cfg_options=cfg_options,
            convention=convention,
            exports={"json": json_path} if json_path is not None else {},
            inputs=input_specs,
            seq_len=seq_len,
            batch=batch,
            model_args=model_args,
            device_spec=device_spec,
            render=RenderOptions(
                depth=depth,
                table=not not_show_table,
                arch=show_arch,
                tree=tree,
                by_operator=by_operator,
                all_uncounted=all_uncounted,
                memory=memory,
            ),
        )
    )


def normalize_argv(argv: list[str]) -> list[str]:
    """Accept the seed's argparse forms: `--shape 640 480`, `--cfg-options a=1 b=2`."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        out.append(token)
        i += 1
        if token == "--shape" and i + 1 < len(argv) and argv[i].isdigit() and argv[i + 1].isdigit():
            out.append(f"{argv[i]}x{argv[i + 1]}")
            i += 2
        elif token == "--cfg-options":
            values = []
            while i < len(argv) and not argv[i].startswith("-") and (not values or "=" in argv[i]):
                values.append(argv[i])
                i += 1
            out.extend(values[:1])
            for value in values[1:]:
                out.extend(["--cfg-options", value])
    return out


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def run(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors, exit 2 for bad input, no traceback unless --debug."""
    args = normalize_argv(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args
    command = typer.main.get_command(app)
    code: int = 0
    try:
        result = command.main(args=args, prog_name="complexity", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except typer.Exit as stop:
        code = stop.exit_code
    except typer.Abort:
        code = 130
    except typer.exceptions.TyperException as error:  # click's usage errors, as typer ships them
        context = getattr(error, "ctx", None)
        hint = f" (see `{context.command_path} --help`)" if context is not None else ""
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        _error(message + hint)
        code = getattr(error, "exit_code", 2)
    except KeyboardInterrupt:
        _error("interrupted")
        code = 130
    except Exception as error:  # one line for the user; the traceback only with --debug
        from .command import describe_failure

        if debug:
            traceback.print_exc()
        message, code = describe_failure(error)
        if not debug and code != 2:
            message += " (rerun with --debug for the traceback)"
        _error(message)
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    run()
