"""What `complexity analyze` does once its options are parsed: check, load, analyse, print,
export. Every option is checked first, without torch (validation.py)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from complexity.render.options import RenderOptions
from complexity.targets import InputRequest, TargetSpec

from .export import check_exports, files_read_by
from .failures import UsageError
from .signals import raise_if_interrupted
from .validation import (
    TargetOptions,
    check_build_device,
    check_convention,
    check_depth,
    check_target_options,
)
from .version import tool_version

__all__ = [
    "AnalyzeRequest",
    "analyze_target",
    "check_decode",
    "check_exports",
    "run_analyze",
    "tool_version",
    "train_step_of",
    "with_prefill",
]


@dataclass(frozen=True)
class AnalyzeRequest:
    """Everything `complexity analyze` was asked, as parsed from the command line."""

    target: str  # config, model file or import spec
    options: TargetOptions = field(default_factory=TargetOptions)  # how to build it
    convention: str = "fvcore"
    exports: Mapping[str, str] = field(default_factory=dict)  # format -> path, "-" for stdout
    render: RenderOptions = field(default_factory=RenderOptions)
    budgets: Mapping[str, str] = field(default_factory=dict)  # metric -> limit as typed ("15G")
    device_spec: str | None = None  # --device-spec: a device of the table or flops=,bandwidth=
    device: str = "auto"  # auto | meta | cpu | cuda: where to build and trace (targets/analyze.py)
    train_step: bool = False  # --train-step: the backward of one training step too
    freeze: tuple[str, ...] = ()  # --freeze PATTERN: parameters that get no gradient
    optimizer: str = "adamw"  # --optimizer: whose state the training memory counts
    amp: bool = False  # --amp: fp32 master weights and state
    decode: bool = False  # --decode: one decode step with a KV cache, beside the prefill
    context: int | None = None  # --context: tokens in the KV cache (default: the prefill's)
    kv_dtype: str | None = None  # --kv-dtype: the cache's element type (default the model's)


@contextlib.contextmanager
def spinner(
    message: str,
) -> Iterator[tuple[Callable[[str], None], Callable[[str], None] | None]]:
    """A spinner on stderr, only when stderr is a terminal. Gives (notify, progress):
    `notify` says how long work goes (the spinner's text on a terminal, else one stderr
    line per call); `progress` replaces the spinner's text as work advances, and is None
    off a terminal (piped stderr gets no progress lines)."""
    from rich.console import Console

    console = Console(file=sys.stderr)  # bound now: the user's code may swap sys.stderr
    if console.is_terminal:
        with console.status(message) as status:

            def show(text: str) -> None:
                status.update(f"{message}: {text}")

            yield show, show
    else:
        yield (lambda text: console.print(f"note: {text}")), None


def analyze_target(
    spec: TargetSpec,
    convention: str,
    device: str,
    *,
    memory: bool = True,
    train_step: Any = None,
    label: str = "",
) -> tuple[Any, Any]:
    """Build and analyse one checked target: (what was loaded, the Report)."""
    from complexity.targets import load_and_analyze

    with spinner(f"building and tracing {label or spec.target}") as (notify, progress):
        return load_and_analyze(
            spec,
            convention,
            device,
            memory=memory,
            train_step=train_step,
            notify=notify,
            progress=progress,
        )


def transformer_shape(model: Any) -> Any:
    """Layers, query heads and head dim of a Hugging Face model (its config), else None."""
    from complexity.render.training import TransformerShape

    config = getattr(model, "config", None)
    layers = getattr(config, "num_hidden_layers", None)
    heads = getattr(config, "num_attention_heads", None)
    hidden = getattr(config, "hidden_size", None)
    if not (isinstance(layers, int) and isinstance(heads, int) and isinstance(hidden, int)):
        return None
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    return TransformerShape(layers, heads, head_dim)


def input_embedding_params(model: Any) -> int:
    """Parameters of a Hugging Face model's input embedding (a gather, no flops), else 0."""
    getter = getattr(model, "get_input_embeddings", None)
    embedding = getter() if callable(getter) else None
    return sum(p.numel() for p in embedding.parameters()) if embedding is not None else 0


def train_step_of(
    train_step: bool, freeze: tuple[str, ...], optimizer: str = "adamw", amp: bool = False
) -> Any:
    """The `TrainStep` of --train-step and its options, or None; an option alone is refused."""
    if not train_step:
        for name, given in (("--freeze", freeze), ("--optimizer", optimizer != "adamw")):
            if given:
                raise UsageError(f"{name} applies to a training step: add --train-step")
        if amp:
            raise UsageError("--amp applies to a training step: add --train-step")
        return None
    from complexity.analyzer import OPTIMIZERS, TrainStep  # imports torch: a step is asked for

    if optimizer not in OPTIMIZERS:
        raise UsageError(f"unknown --optimizer {optimizer!r}; use one of: {', '.join(OPTIMIZERS)}")
    return TrainStep(freeze=freeze, optimizer=optimizer, amp=amp)


def check_decode(
    target: str, decode: bool, context: int | None, kv_dtype: str | None, device: str,
    request: InputRequest,
) -> int | None:  # fmt: skip
    """The decode step's context (None without --decode); options that cannot apply refused."""
    if not decode:
        for name, value in (("--context", context), ("--kv-dtype", kv_dtype)):
            if value is not None:
                raise UsageError(f"{name} applies to a decode step; add --decode")
        return None
    if not target.endswith(".json"):
        raise UsageError(
            "--decode analyses a Hugging Face causal LM: give its config.json "
            "(e.g. examples/hf/llama-2-7b/config.json)"
        )
    if request.inputs:
        raise UsageError("--decode builds its own inputs; use --context and --batch, not --input")
    if device in ("cpu", "cuda"):
        raise UsageError(f"--decode traces on meta; drop --device {device}")
    from complexity.targets import DEFAULT_SEQ_LEN
    from complexity.targets.decode import check_kv_dtype

    check_kv_dtype(kv_dtype)
    cached = context or request.seq_len or DEFAULT_SEQ_LEN
    if cached <= 0:
        raise UsageError(f"--context {cached} is not a positive number of cached tokens")
    limit = request.model_args.get("max_position_embeddings", _positions(target))
    if isinstance(limit, int) and cached + 1 > limit:  # refused before any build or trace
        raise UsageError(
            f"--context {cached} leaves no position for the new token: the model has "
            f"{limit}; give --context {limit - 1} or less, or --model-arg "
            f"max_position_embeddings={cached + 1}"
        )
    return cached


def _positions(target: str) -> int | None:
    """`max_position_embeddings` of a config.json, if it states one (loading checks again)."""
    import json
    from pathlib import Path

    path = Path(target)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # loading says what is wrong with the file
    return data.get("max_position_embeddings") if isinstance(data, dict) else None


def with_prefill(spec: TargetSpec, cached_tokens: int | None) -> TargetSpec:
    """The prefill that fills a decode step's cache: --seq-len, else the context."""
    if cached_tokens is None or spec.request.seq_len is not None:
        return spec
    return replace(spec, request=replace(spec.request, seq_len=cached_tokens))


def run_analyze(request: AnalyzeRequest) -> int:
    """Check every option, load the target, analyse it once, print the sections and write the
    exports.

    Returns the exit code: 3 when a budget (`--max-flops` and the like) is exceeded.
    """
    from .budgets import BUDGET_EXCEEDED_EXIT, budget_lines, parse_budgets

    # One validation step, before torch: every option, the target, the exports.
    check_depth(request.render.depth)
    convention = check_convention(request.convention)
    spec = check_target_options(request.target, request.options)
    exports = check_exports(request.exports, files_read_by(request.target, "the model (CONFIG)"))
    limits = parse_budgets(request.budgets)
    render = request.render
    if request.device_spec is not None:
        from complexity.analyzer.datasheets import parse_device_spec

        try:
            render = replace(render, device=parse_device_spec(request.device_spec))
        except ValueError as error:
            raise UsageError(f"--device-spec: {error}") from None
    check_build_device(request.device)
    train = train_step_of(request.train_step, request.freeze, request.optimizer, request.amp)
    if "train_flops" in limits and train is None:
        raise UsageError("--max-train-flops budgets a training step: add --train-step")
    cached_tokens = check_decode(
        request.target, request.decode, request.context, request.kv_dtype, request.device,
        spec.request,
    )  # fmt: skip
    spec = with_prefill(spec, cached_tokens)

    from complexity.analyzer import check_budgets
    from complexity.render import (
        EXPORTERS,
        ExportContext,
        print_sections,
        report_sections,
        stdout_console,
    )

    # Bytes and peaks are printed with --memory, priced by the roofline and
    # carried by every export; the default table needs no memory walk.
    memory = (
        render.memory
        or render.device is not None
        or bool(exports.targets)
        or cached_tokens is not None  # the prefill's time to first token
    )
    loaded, report = analyze_target(
        spec, convention, request.device, memory=memory, train_step=train
    )
    exports.refuse_overwriting({path: "a file the model read" for path in loaded.files_read})
    if cached_tokens is not None:
        from complexity.targets.decode import analyze_decode

        report, serving, step = analyze_decode(
            loaded, report, convention, cached_tokens, request.kv_dtype, render.device
        )
        render = replace(render, serving=serving)
        # tokens=None: the summary's per-token lines are the serving block's.
        loaded = replace(
            loaded, input_label=step.label, notes=[*loaded.notes, *step.notes], tokens=None
        )
    raise_if_interrupted()  # a Ctrl-C that the model or a library swallowed

    broken = budget_lines(check_budgets(report, limits))
    exit_code = BUDGET_EXCEEDED_EXIT if broken else 0
    # One set of facts for the terminal and the exports: the HTML page shows what it shows.
    context = ExportContext(
        version=tool_version(),
        source=request.target,
        input_label=loaded.input_label,
        notes=tuple(loaded.notes),
        depth=request.render.depth,
        device=render.device,
        serving=render.serving,
        built_by=loaded.built_by.to_dict() if loaded.built_by is not None else None,
        built_by_line=str(loaded.built_by) if loaded.built_by is not None else None,
        render=render,
        tokens=loaded.tokens,
        default_seq_len=loaded.default_seq_len,
        active_params=loaded.active_params if loaded.tokens else None,
        transformer=transformer_shape(loaded.model) if train else None,
        embedding_params=input_embedding_params(loaded.model) if train else 0,
        budgets=limits,
    )
    if exports.write({fmt: EXPORTERS[fmt](report, context) for fmt in exports.targets}):
        for line in broken:  # `--json -`: stdout carries the export alone
            print(line, file=sys.stderr)
        return exit_code

    console = stdout_console()
    print_sections(
        report_sections(
            report,
            render,
            loaded.input_label,
            loaded.notes,
            tokens=context.tokens,
            default_seq_len=context.default_seq_len,
            built_by=context.built_by_line,
            transformer=context.transformer,
            embedding_params=context.embedding_params,
            active_params=context.active_params,
        ),
        console,
    )
    for line in exports.written_lines():
        console.print(line, style="dim", highlight=False, markup=False)
    for line in broken:
        console.print(line, highlight=False, markup=False)
    return exit_code
