"""`complexity analyze CONFIG`: load, analyse once, render. Heavy imports happen lazily."""

from __future__ import annotations

import sys
import traceback
from typing import Annotated, Any

import typer

from .options import (
    MAX_MODULES,
    ACfgOptionsOption,
    AModelArgOption,
    BatchOption,
    BCfgOptionsOption,
    BModelArgOption,
    BuilderOption,
    ByOperatorOption,
    CfgOptionsOption,
    CompareJsonOption,
    ContextOption,
    ConventionOption,
    DebugOption,
    DecodeOption,
    DepthOption,
    DeviceOption,
    DeviceSpecOption,
    FreezeOption,
    HtmlOption,
    InputOption,
    KvDtypeOption,
    MaxModulesOption,
    MemoryOption,
    ModelArgOption,
    ReportJsonOption,
    SeqLenOption,
    ShapeOption,
    SweepByOperatorOption,
    SweepContextsOption,
    SweepDecodeOption,
    SweepDeviceSpecOption,
    SweepHtmlOption,
    SweepJsonOption,
    SweepSeqLensOption,
    SweepShapesOption,
    TrainingFormOption,
    TrainStepOption,
)
from .validation import TargetOptions

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: `--tree`, not `--tree <bool>`
    help="Parameters, FLOPs and activations of a PyTorch model, per module, from one trace.",
)


def _print_version(value: bool) -> None:
    if value:
        from .version import tool_version

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


EXIT_CODES = (
    "Exit codes: 0 done; 1 the model failed (build or forward); 2 bad input; "
    "3 a --max-* budget exceeded (everything is printed first)."
)
TARGET_HELP = (
    "MMYOLO-style config, a .py file defining `model`, package.module:factory, "
    "or a Hugging Face config.json."
)


@app.command("analyze", epilog=EXIT_CODES)
def analyze_command(
    config: Annotated[str, typer.Argument(help=TARGET_HELP, show_default=False, metavar="CONFIG")],
    shape: ShapeOption = None,
    input_specs: InputOption = None,
    seq_len: SeqLenOption = None,
    batch: BatchOption = None,
    model_args: ModelArgOption = None,
    depth: DepthOption = 3,
    tree: Annotated[bool, typer.Option("--tree", help="Show the module tree.")] = False,
    not_show_table: Annotated[
        bool, typer.Option("--not-show-table", help="Do not print the per-module table.")
    ] = False,
    show_arch: Annotated[
        bool, typer.Option("--show-arch", help="Print the model with stats, as mmengine does.")
    ] = False,
    by_operator: ByOperatorOption = False,
    convention: ConventionOption = "fvcore",
    json_path: ReportJsonOption = None,
    cfg_options: CfgOptionsOption = None,
    all_uncounted: Annotated[
        bool,
        typer.Option("--all-uncounted", help="List every uncounted operator and where it ran."),
    ] = False,
    memory: MemoryOption = False,
    device_spec: DeviceSpecOption = None,
    max_flops: Annotated[
        str | None, typer.Option(help="Budget: exit 3 if total flops exceed it, e.g. 15G.")
    ] = None,
    max_params: Annotated[
        str | None, typer.Option(help="Budget: exit 3 if parameters exceed it, e.g. 9M.")
    ] = None,
    max_activations: Annotated[
        str | None, typer.Option(help="Budget: exit 3 if activations exceed it, e.g. 40M.")
    ] = None,
    max_train_flops: Annotated[
        str | None,
        typer.Option(
            help="Budget: exit 3 if forward + backward flops of a train step exceed it "
            "(needs --train-step), e.g. 45G."
        ),
    ] = None,
    html: HtmlOption = None,
    device: DeviceOption = "auto",
    training_form: TrainingFormOption = False,
    builder: BuilderOption = "auto",
    max_modules: MaxModulesOption = MAX_MODULES,
    train_step: TrainStepOption = False,
    freeze: FreezeOption = None,
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
    decode: DecodeOption = False,
    context: ContextOption = None,
    kv_dtype: KvDtypeOption = None,
    debug: DebugOption = False,
) -> None:
    """Analyse a model: MMYOLO's get_flops table and summary; optionally tree, operators, JSON."""
    from complexity.render.options import RenderOptions

    from .command import AnalyzeRequest, run_analyze

    budgets = {
        "flops": max_flops,
        "params": max_params,
        "activations": max_activations,
        "train_flops": max_train_flops,
    }
    code = run_analyze(
        AnalyzeRequest(
            target=config,
            options=TargetOptions(
                shape=shape,
                inputs=input_specs,
                seq_len=seq_len,
                batch=batch,
                model_args=model_args,
                cfg_options=cfg_options,
                training_form=training_form,
                builder=builder,
                max_modules=max_modules,
            ),
            convention=convention,
            exports=_given(json=json_path, html=html),
            budgets={metric: limit for metric, limit in budgets.items() if limit is not None},
            device_spec=device_spec,
            device=device,
            train_step=train_step,
            freeze=tuple(freeze or ()),
            optimizer=optimizer,
            amp=amp,
            decode=decode,
            context=context,
            kv_dtype=kv_dtype,
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


def _given(**paths: str | None) -> dict[str, str]:
    """The exports asked for: format -> path."""
    return {fmt: path for fmt, path in paths.items() if path is not None}


@app.command("compare", epilog=EXIT_CODES)
def compare_command(
    a: Annotated[
        str, typer.Argument(help="First model (A): any target analyze accepts.", metavar="A")
    ],
    b: Annotated[str, typer.Argument(help="Second model (B), compared against A.", metavar="B")],
    shape: ShapeOption = None,
    input_specs: InputOption = None,
    seq_len: SeqLenOption = None,
    batch: BatchOption = None,
    model_args: ModelArgOption = None,
    cfg_options: CfgOptionsOption = None,
    a_model_args: AModelArgOption = None,
    b_model_args: BModelArgOption = None,
    a_cfg_options: ACfgOptionsOption = None,
    b_cfg_options: BCfgOptionsOption = None,
    training_form: TrainingFormOption = False,
    builder: BuilderOption = "auto",
    max_modules: MaxModulesOption = MAX_MODULES,
    train_step: TrainStepOption = False,
    freeze: FreezeOption = None,
    device: DeviceOption = "auto",
    depth: DepthOption = 3,
    convention: ConventionOption = "fvcore",
    memory: MemoryOption = False,
    json_path: CompareJsonOption = None,
    html: HtmlOption = None,
    decode: DecodeOption = False,
    context: ContextOption = None,
    kv_dtype: KvDtypeOption = None,
    debug: DebugOption = False,
) -> None:
    """Compare two models: modules matched by name, A, B, B − A and B / A, then totals."""
    from .compare import run_compare

    def side(extra_args: list[str] | None, extra_cfg: list[str] | None) -> TargetOptions:
        return TargetOptions(
            shape=shape,
            inputs=input_specs,
            seq_len=seq_len,
            batch=batch,
            model_args=[*(model_args or ()), *(extra_args or ())],
            cfg_options=[*(cfg_options or ()), *(extra_cfg or ())],
            training_form=training_form,
            builder=builder,
            max_modules=max_modules,
        )

    run_compare(
        a,
        b,
        options=(side(a_model_args, a_cfg_options), side(b_model_args, b_cfg_options)),
        depth=depth,
        convention=convention,
        exports=_given(json=json_path, html=html),
        device=device,
        memory=memory,
        decode=decode,
        context=context,
        kv_dtype=kv_dtype,
        train_step=train_step,
        freeze=tuple(freeze or ()),
    )


@app.command("sweep", epilog=EXIT_CODES)
def sweep_command(
    target: Annotated[str, typer.Argument(help=TARGET_HELP, show_default=False, metavar="TARGET")],
    shapes: SweepShapesOption = None,
    seq_lens: SweepSeqLensOption = None,
    batch: BatchOption = None,
    model_args: ModelArgOption = None,
    cfg_options: CfgOptionsOption = None,
    training_form: TrainingFormOption = False,
    builder: BuilderOption = "auto",
    max_modules: MaxModulesOption = MAX_MODULES,
    train_step: TrainStepOption = False,
    freeze: FreezeOption = None,
    device: DeviceOption = "auto",
    convention: ConventionOption = "fvcore",
    by_operator: SweepByOperatorOption = False,
    json_path: SweepJsonOption = None,
    html: SweepHtmlOption = None,
    decode: SweepDecodeOption = False,
    contexts: SweepContextsOption = None,
    kv_dtype: KvDtypeOption = None,
    device_spec: SweepDeviceSpecOption = None,
    debug: DebugOption = False,
) -> None:
    """Analyse one model at several input sizes: totals per size and their growth exponent."""
    from .sweep import run_sweep

    run_sweep(
        target,
        TargetOptions(
            batch=batch,
            model_args=model_args,
            cfg_options=cfg_options,
            training_form=training_form,
            builder=builder,
            max_modules=max_modules,
        ),
        shapes=shapes,
        seq_lens=seq_lens,
        convention=convention,
        by_operator=by_operator,
        exports=_given(json=json_path, html=html),
        device=device,
        contexts=contexts,
        decode=decode,
        kv_dtype=kv_dtype,
        device_spec=device_spec,
        train_step=train_step,
        freeze=tuple(freeze or ()),
    )


@app.command("zoo")
def zoo_command() -> None:
    """List the model types that configs can name (type='...'), by family."""
    from .zoo_listing import describe_known_types  # read from the source: no torch

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
        elif token in ("--cfg-options", "--a-cfg-options", "--b-cfg-options"):
            values = []
            while i < len(argv) and not argv[i].startswith("-") and (not values or "=" in argv[i]):
                values.append(argv[i])
                i += 1
            out.extend(values[:1])
            for value in values[1:]:
                out.extend([token, value])
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
