"""`complexity analyze CONFIG`: load, analyse once, render. Heavy imports happen lazily."""

from __future__ import annotations

import sys
import traceback
from typing import Annotated, Any

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: `--tree`, not `--tree <bool>`
    help="Parameters, FLOPs and activations of a PyTorch model, per module, from one trace.",
)


class CLIError(Exception):
    """A one-line error for the user, with its exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _print_version(value: bool) -> None:
    if value:
        from .command import tool_version

        print(f"complexity {tool_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Parameters, FLOPs and activations of a PyTorch model, per module, from one trace."""


HTML_OPTION = typer.Option(
    "--html",
    help="Also write a self-contained HTML report (flops icicle, tables) to PATH; "
    'needs pip install "complexity[html]".',
)
MAX_MODULES_OPTION = typer.Option(
    "--max-modules",
    metavar="N",
    min=1,
    help="Stop building a model past N modules (an analysis costs about a millisecond a module).",
)
MAX_MODULES = 20_000  # targets.spec.DEFAULT_MAX_MODULES: --help starts without the library
DEVICE_HELP = (
    "auto (build on meta, no weights; real tensors only if the forward needs values), "
    "meta, cpu or cuda (build there and trace real tensors)."
)
BUILDER_HELP = (
    "How an MMYOLO-style config is built: openmmlab (the installed mmyolo/mmdet registry, "
    "custom_imports included), zoo (complexity.zoo, no OpenMMLab needed) or auto (openmmlab "
    "when the config's default_scope package imports)."
)
EXIT_CODES = (
    "Exit codes: 0 done; 1 the model failed (build or forward); 2 bad input; "
    "3 a --max-* budget exceeded (everything is printed first)."
)
TRAIN_STEP_HELP = (
    "Add the backward of one training step (loss = sum of the outputs): backward and "
    "forward+backward flops, from the graph. Not --training-form (RepVGG blocks unfused)."
)
FREEZE_HELP = (
    "With --train-step: parameters of modules named by PATTERN (a module-name prefix such as "
    "backbone, or a glob) get no gradient. Repeatable."
)
CONVENTION_HELP = "fvcore (1 multiply-add = 1 flop, the default) or flops (real operations)."


@app.command("analyze", epilog=EXIT_CODES)
def analyze_command(
    config: Annotated[
        str,
        typer.Argument(
            help="MMYOLO-style config, a .py file defining `model`, package.module:factory, "
            "or a Hugging Face config.json.",
            show_default=False,
            metavar="CONFIG",
        ),
    ],
    shape: Annotated[
        list[str] | None,
        typer.Option(
            metavar="H [W]",
            help="Image size H W (or one size for both), e.g. 640, 640 480 or 640x480. Default "
            "640 for MMYOLO configs, 224 for model files and import specs.",
        ),
    ] = None,
    input_specs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            metavar="[NAME=]SHAPE[:DTYPE]",
            help="SHAPE[:DTYPE] of one positional input, e.g. 1x3x224x224 or 1x4096:int64, "
            "or NAME=SHAPE[:DTYPE] of a keyword input (attention_mask=1x128:int64); "
            "repeat for each input.",
        ),
    ] = None,
    seq_len: Annotated[
        int | None,
        typer.Option(
            "--seq-len",
            metavar="N",
            help="Token model: sequence length of the input_ids (config.json default 512).",
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option("--batch", metavar="N", help="Batch size of the default input (default 1)."),
    ] = None,
    model_args: Annotated[
        list[str] | None,
        typer.Option(
            "--model-arg",
            metavar="KEY=VALUE",
            help="KEY=VALUE keyword argument for the model factory, or a config.json field; "
            "VALUE is a Python literal. Repeatable.",
        ),
    ] = None,
    depth: Annotated[
        int, typer.Option(metavar="N", help="Rows and tree levels to show below the model.")
    ] = 3,
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
            metavar="NAME",
            help="fvcore (MMYOLO's get_flops numbers, 1 multiply-add = 1 flop), flops "
            "(real floating-point operations, elementwise ops and attention included) or "
            "macs (multiply-adds of conv, matmuls and attention: torchvision's GFLOPS).",
        ),
    ] = "fvcore",
    json_path: Annotated[
        str | None,
        typer.Option(
            "--json",
            metavar="PATH",
            help="Also write the full report as JSON to PATH (- for stdout).",
        ),
    ] = None,
    cfg_options: Annotated[
        list[str] | None,
        typer.Option(
            "--cfg-options",
            metavar="KEY=VALUE",
            help="Override config keys: key=value (mmengine syntax).",
        ),
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
    max_flops: Annotated[
        str | None, typer.Option(help="Budget: exit 3 if total flops exceed it, e.g. 15G.")
    ] = None,
    max_params: Annotated[
        str | None, typer.Option(help="Budget: exit 3 if parameters exceed it, e.g. 9M.")
    ] = None,
    max_activations: Annotated[
        str | None, typer.Option(help="Budget: exit 3 if activations exceed it, e.g. 40M.")
    ] = None,
    html: Annotated[str | None, HTML_OPTION] = None,
    device: Annotated[
        str,
        typer.Option(
            help="auto (build on meta, no weights; real tensors only if the forward needs "
            "values), meta, cpu or cuda (build there and trace real tensors)."
        ),
    ] = "auto",
    training_form: Annotated[
        bool,
        typer.Option(
            "--training-form",
            help="Count a config's model in its training form: do not fuse RepVGG-style "
            "blocks (MMYOLO's get_flops fuses them). Not --train-step.",
        ),
    ] = False,
    train_step: Annotated[
        bool,
        typer.Option(
            "--train-step",
            help="Add the backward of one training step (loss = sum of the outputs): "
            "backward and forward+backward flops per module, from the graph. Not "
            "--training-form, which only keeps RepVGG blocks unfused.",
        ),
    ] = False,
    freeze: Annotated[
        list[str] | None,
        typer.Option(
            "--freeze",
            metavar="PATTERN",
            help="With --train-step: parameters of modules named by PATTERN (a module-name "
            "prefix such as backbone, or a glob such as 'backbone.stage[12]*') get no "
            "gradient. Repeatable.",
        ),
    ] = None,
    optimizer: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="With --train-step: the optimizer whose state the training memory counts: "
            "sgd, momentum, adam or adamw.",
        ),
    ] = "adamw",
    amp: Annotated[
        bool,
        typer.Option(
            "--amp",
            help="With --train-step: mixed precision, the optimizer keeps fp32 master weights "
            "and fp32 state.",
        ),
    ] = False,
    max_train_flops: Annotated[
        str | None,
        typer.Option(
            help="Budget: exit 3 if forward + backward flops of a train step exceed it "
            "(needs --train-step), e.g. 45G."
        ),
    ] = None,
    decode: Annotated[
        bool,
        typer.Option(
            "--decode",
            help="Hugging Face causal LM: analyse one decode step (one new token per sequence, "
            "a KV cache of --context tokens) beside the prefill of --seq-len tokens.",
        ),
    ] = False,
    context: Annotated[
        int | None,
        typer.Option(
            "--context",
            metavar="N",
            help="With --decode: tokens already in the KV cache (default --seq-len, else 512).",
        ),
    ] = None,
    kv_dtype: Annotated[
        str | None,
        typer.Option(
            "--kv-dtype",
            metavar="DTYPE",
            help="With --decode: the KV cache's element type (default the model's), e.g. "
            "float8_e4m3fn.",
        ),
    ] = None,
    builder: Annotated[str, typer.Option(help=BUILDER_HELP)] = "auto",
    max_modules: Annotated[int, MAX_MODULES_OPTION] = MAX_MODULES,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Analyse a model: MMYOLO's get_flops table and summary; optionally tree, operators, JSON."""
    from complexity.render import RenderOptions

    from .command import AnalyzeRequest, run_analyze

    exports = {"json": json_path, "html": html}
    budgets = {
        "flops": max_flops,
        "params": max_params,
        "activations": max_activations,
        "train_flops": max_train_flops,
    }
    code = run_analyze(
        AnalyzeRequest(
            target=config,
            shape=shape,
            cfg_options=cfg_options,
            convention=convention,
            exports={fmt: to for fmt, to in exports.items() if to is not None},
            budgets={metric: limit for metric, limit in budgets.items() if limit is not None},
            inputs=input_specs,
            seq_len=seq_len,
            batch=batch,
            model_args=model_args,
            device_spec=device_spec,
            device=device,
            training_form=training_form,
            builder=builder,
            train_step=train_step,
            freeze=tuple(freeze or ()),
            optimizer=optimizer,
            amp=amp,
            decode=decode,
            context=context,
            kv_dtype=kv_dtype,
            max_modules=max_modules,
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
    if code:
        raise typer.Exit(code)


@app.command("compare")
def compare_command(
    a: Annotated[str, typer.Argument(help="First model (A): any target analyze accepts.")],
    b: Annotated[str, typer.Argument(help="Second model (B), compared against A.")],
    shape: Annotated[
        list[str] | None, typer.Option(help="Input H W for both models. Default 640.")
    ] = None,
    input_specs: Annotated[
        list[str] | None,
        typer.Option("--input", help="SHAPE[:DTYPE] of one positional input, for both models."),
    ] = None,
    seq_len: Annotated[
        int | None, typer.Option("--seq-len", help="Token models: sequence length, for both.")
    ] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Batch size, for both.")] = None,
    device: Annotated[str, typer.Option(help=DEVICE_HELP)] = "auto",
    builder: Annotated[str, typer.Option(help=BUILDER_HELP)] = "auto",
    depth: Annotated[int, typer.Option(help="Module levels to show below the model.")] = 3,
    convention: Annotated[str, typer.Option(help=CONVENTION_HELP)] = "fvcore",
    json_path: Annotated[
        str | None,
        typer.Option("--json", help='Write {"a", "b", "delta"} as JSON to PATH (- for stdout).'),
    ] = None,
    html: Annotated[str | None, HTML_OPTION] = None,
    decode: Annotated[
        bool,
        typer.Option("--decode", help="Hugging Face causal LMs: compare one decode step each."),
    ] = False,
    context: Annotated[
        int | None,
        typer.Option("--context", help="With --decode: tokens in the KV cache, for both."),
    ] = None,
    kv_dtype: Annotated[
        str | None,
        typer.Option("--kv-dtype", help="With --decode: the KV cache's element type, for both."),
    ] = None,
    train_step: Annotated[bool, typer.Option("--train-step", help=TRAIN_STEP_HELP)] = False,
    freeze: Annotated[
        list[str] | None, typer.Option("--freeze", metavar="PATTERN", help=FREEZE_HELP)
    ] = None,
    max_modules: Annotated[int, MAX_MODULES_OPTION] = MAX_MODULES,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Compare two models: modules matched by name, A, B, B − A and B / A, then totals."""
    from .compare import run_compare

    exports = {fmt: to for fmt, to in (("json", json_path), ("html", html)) if to is not None}
    run_compare(
        a,
        b,
        shape=shape,
        depth=depth,
        convention=convention,
        exports=exports,
        inputs=input_specs,
        seq_len=seq_len,
        batch=batch,
        device=device,
        builder=builder,
        decode=decode,
        context=context,
        kv_dtype=kv_dtype,
        train_step=train_step,
        freeze=tuple(freeze or ()),
        max_modules=max_modules,
    )


@app.command("sweep")
def sweep_command(
    target: Annotated[str, typer.Argument(help="Any target analyze accepts.", show_default=False)],
    shapes: Annotated[
        list[str] | None,
        typer.Option(help="Input sizes to analyse: 320,640,960 (640x480 for H≠W)."),
    ] = None,
    seq_lens: Annotated[
        list[str] | None,
        typer.Option(help="Token models: sequence lengths to analyse, e.g. 512,1024,2048."),
    ] = None,
    batch: Annotated[
        int | None, typer.Option("--batch", help="Batch size of each input (default 1).")
    ] = None,
    model_args: Annotated[
        list[str] | None,
        typer.Option("--model-arg", help="KEY=VALUE keyword argument for the model factory."),
    ] = None,
    device: Annotated[str, typer.Option(help=DEVICE_HELP)] = "auto",
    builder: Annotated[str, typer.Option(help=BUILDER_HELP)] = "auto",
    convention: Annotated[str, typer.Option(help=CONVENTION_HELP)] = "fvcore",
    by_operator: Annotated[
        bool, typer.Option("--by-operator", help="Also flops per operator type at each size.")
    ] = False,
    json_path: Annotated[
        str | None,
        typer.Option("--json", help='Write {"points": [...]} as JSON to PATH (- for stdout).'),
    ] = None,
    html: Annotated[
        str | None, typer.Option("--html", help="Write a log-log plot of the totals to PATH.")
    ] = None,
    cfg_options: Annotated[
        list[str] | None,
        typer.Option("--cfg-options", help="Override config keys: key=value (mmengine syntax)."),
    ] = None,
    decode: Annotated[
        bool,
        typer.Option(
            "--decode", help="Hugging Face causal LM: one decode step at each of --contexts."
        ),
    ] = False,
    contexts: Annotated[
        list[str] | None,
        typer.Option(help="With --decode: tokens in the KV cache, e.g. 512,2048,8192."),
    ] = None,
    kv_dtype: Annotated[
        str | None,
        typer.Option("--kv-dtype", help="With --decode: the KV cache's element type."),
    ] = None,
    device_spec: Annotated[
        str | None,
        typer.Option(
            "--device-spec",
            help="With --decode: time per step and tokens/s on a device (as analyze takes it).",
        ),
    ] = None,
    train_step: Annotated[bool, typer.Option("--train-step", help=TRAIN_STEP_HELP)] = False,
    freeze: Annotated[
        list[str] | None, typer.Option("--freeze", metavar="PATTERN", help=FREEZE_HELP)
    ] = None,
    max_modules: Annotated[int, MAX_MODULES_OPTION] = MAX_MODULES,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Analyse one model at several input sizes: totals per size and their growth exponent."""
    from .sweep import run_sweep

    exports = {fmt: to for fmt, to in (("json", json_path), ("html", html)) if to is not None}
    run_sweep(
        target,
        shapes=shapes,
        convention=convention,
        by_operator=by_operator,
        exports=exports,
        cfg_options=cfg_options,
        seq_lens=seq_lens,
        batch=batch,
        model_args=model_args,
        device=device,
        builder=builder,
        contexts=contexts,
        decode=decode,
        kv_dtype=kv_dtype,
        device_spec=device_spec,
        train_step=train_step,
        freeze=tuple(freeze or ()),
        max_modules=max_modules,
    )


@app.command("zoo")
def zoo_command() -> None:
    """List the model types that configs can name (type='...'), by family."""
    from complexity.zoo import describe_known_types

    print("\n".join(describe_known_types()))


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


def _name_values_plainly(command: Any) -> None:
    """Help shows `--depth N` / `--html HTML`, not typer's Python types (`<int>`, `<str>`)."""
    for param in command.params:
        if isinstance(param, typer.core.TyperArgument):
            param.display_type_rich = lambda ctx: None  # its metavar alone names it
        elif param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = (param.name or "value").upper()
    for subcommand in getattr(command, "commands", {}).values():
        _name_values_plainly(subcommand)


def _error(message: str) -> None:
    from .failures import printable

    print(f"error: {printable(message)}", file=sys.stderr)


def run(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors, exit 2 for bad input, no traceback unless --debug."""
    from .repeated import refuse_repeated_options
    from .signals import exit_code_and_message, interrupt_guard, interrupted

    args = normalize_argv(list(sys.argv[1:] if argv is None else argv))
    if not args:  # a bare `complexity`: the help, and no error
        args = ["--help"]
    debug = "--debug" in args
    command = typer.main.get_command(app)
    _name_values_plainly(command)
    code: int = 0
    try:
        with interrupt_guard():
            refuse_repeated_options(command, args)
            result = command.main(args=args, prog_name="complexity", standalone_mode=False)
        code = result if isinstance(result, int) else 0
        if code == 130:  # typer turns a KeyboardInterrupt into this return value, silently
            code, message = exit_code_and_message()
            _error(message)
    except typer.Exit as stop:
        code = stop.exit_code
    except (typer.Abort, KeyboardInterrupt):  # a stopping signal (typer's abort: Ctrl-C)
        code, message = exit_code_and_message()
        _error(message)
    except typer.exceptions.TyperException as error:  # click's usage errors, as typer ships them
        context = getattr(error, "ctx", None)
        hint = f" (see `{context.command_path} --help`)" if context is not None else ""
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        _error(message + hint)
        code = getattr(error, "exit_code", 2)
    except Exception as error:  # one line for the user; the traceback only with --debug
        if debug:
            traceback.print_exc()
        if interrupted():  # a stopping signal that a library turned into another error
            code, message = exit_code_and_message()
        else:
            from .failures import describe_failure

            message, code = describe_failure(error)
            if not debug and code != 2:
                message += " (rerun with --debug for the traceback)"
        _error(message)
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    run()
