"""Option definitions shared by `analyze`, `compare` and `sweep`: one name, one help text.

A command declares `shape: ShapeOption = None`; the three commands thus accept the same
target options, spelled and explained the same way (validation.py checks them).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from complexity.targets import DEVICE_CHOICES

CONVENTION_HELP = (
    "fvcore (MMYOLO's get_flops numbers, 1 multiply-add = 1 flop), flops (real "
    "floating-point operations, elementwise ops and attention included) or macs "
    "(multiply-adds of conv, matmuls and attention: torchvision's GFLOPS)."
)

ShapeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--shape",
        metavar="H [W]",
        help="Image size H W (or one size for both), e.g. 640, 640 480 or 640x480. Default "
        "640 for MMYOLO configs, 224 for model files and import specs.",
    ),
]
InputOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        metavar="[NAME=]SHAPE[:DTYPE]",
        help="SHAPE[:DTYPE] of one positional input, e.g. 1x3x224x224 or 1x4096:int64, "
        "or NAME=SHAPE[:DTYPE] of a keyword input (attention_mask=1x128:int64); "
        "repeat for each input.",
    ),
]
SeqLenOption = Annotated[
    int | None,
    typer.Option(
        "--seq-len",
        metavar="N",
        help="Token model: sequence length of the input_ids (config.json default 512).",
    ),
]
BatchOption = Annotated[
    int | None,
    typer.Option("--batch", metavar="N", help="Batch size of the default input (default 1)."),
]
ModelArgOption = Annotated[
    list[str] | None,
    typer.Option(
        "--model-arg",
        metavar="KEY=VALUE",
        help="KEY=VALUE keyword argument for the model factory, or a config.json field; "
        "VALUE is a Python literal. Repeatable.",
    ),
]
CfgOptionsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cfg-options",
        metavar="KEY=VALUE",
        help="Override config keys: key=value (mmengine syntax).",
    ),
]
DeviceOption = Annotated[
    str,
    typer.Option(
        "--device",
        metavar="|".join(DEVICE_CHOICES),
        help="auto (build on meta, no weights; real tensors only if the forward needs "
        "values), meta, cpu or cuda (build there and trace real tensors).",
    ),
]
ConventionOption = Annotated[
    str, typer.Option("--convention", metavar="NAME", help=CONVENTION_HELP)
]
TrainingFormOption = Annotated[
    bool,
    typer.Option(
        "--training-form",
        help="Count a config's model in its training form: do not fuse RepVGG-style "
        "blocks (MMYOLO's get_flops fuses them). Not --train-step.",
    ),
]
DepthOption = Annotated[
    int, typer.Option("--depth", metavar="N", help="Rows and tree levels to show below the model.")
]
MemoryOption = Annotated[
    bool,
    typer.Option(
        "--memory",
        help="Add parameter bytes, activation bytes and peak activation memory "
        "(inference forward) to the table, in binary units (KiB, MiB, GiB).",
    ),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
ContextOption = Annotated[
    int | None,
    typer.Option(
        "--context",
        metavar="N",
        help="With --decode: tokens already in the KV cache (default --seq-len, else 512).",
    ),
]
KvDtypeOption = Annotated[
    str | None,
    typer.Option(
        "--kv-dtype",
        metavar="DTYPE",
        help="With --decode: the KV cache's element type (default the model's), e.g. "
        "float8_e4m3fn.",
    ),
]
TrainStepOption = Annotated[
    bool,
    typer.Option(
        "--train-step",
        help="Add the backward of one training step (loss = sum of the outputs): "
        "backward and forward+backward flops per module, from the graph. Not "
        "--training-form, which only keeps RepVGG blocks unfused.",
    ),
]
FreezeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--freeze",
        metavar="PATTERN",
        help="With --train-step: parameters of modules named by PATTERN (a module-name "
        "prefix such as backbone, or a glob such as 'backbone.stage[12]*') get no "
        "gradient. Repeatable.",
    ),
]
BuilderOption = Annotated[
    str,
    typer.Option(
        "--builder",
        metavar="auto|openmmlab|zoo",
        help="How an MMYOLO-style config is built: openmmlab (the installed mmyolo/mmdet "
        "registry, custom_imports included), zoo (complexity.zoo, no OpenMMLab needed) or "
        "auto (openmmlab when the config's default_scope package imports).",
    ),
]
MaxModulesOption = Annotated[
    int,
    typer.Option(
        "--max-modules",
        metavar="N",
        min=1,
        help="Stop building a model past N modules (an analysis costs about a millisecond a "
        "module).",
    ),
]
MAX_MODULES = 20_000  # targets.spec.DEFAULT_MAX_MODULES (a test holds them equal)


# Options that every command takes with its own words for what it does with them: one
# definition each, the help from the command's words.


def json_option(writes: str) -> Any:
    """`--json PATH`; `writes`: what goes there."""
    return Annotated[
        str | None,
        typer.Option(
            "--json", metavar="PATH", help=f"Also write {writes} as JSON to PATH (- for stdout)."
        ),
    ]


def html_option(writes: str) -> Any:
    """`--html PATH`; `writes`: what the page holds."""
    return Annotated[
        str | None,
        typer.Option(
            "--html",
            metavar="PATH",
            help=f'Also write {writes} to PATH; needs pip install "torch-complexity[html]".',
        ),
    ]


def decode_option(analyses: str) -> Any:
    """`--decode`; `analyses`: the decode steps the command analyses."""
    return Annotated[bool, typer.Option("--decode", help=f"Hugging Face causal LM: {analyses}.")]


def device_spec_option(adds: str) -> Any:
    """`--device-spec DEVICE`; `adds`: what the command adds for the device."""
    return Annotated[
        str | None,
        typer.Option(
            "--device-spec",
            metavar="DEVICE",
            help=f"{adds} on a device: 'H100 SXM', H200, 'A100 80GB', L4, T4, 'RTX 4090', "
            "or flops=989T,bandwidth=3.35T.",
        ),
    ]


def by_operator_option(shows: str) -> Any:
    return Annotated[bool, typer.Option("--by-operator", help=f"{shows}.")]


def points_option(flag: str, help: str) -> Any:
    """A sweep's points: `--shapes 320,640`, repeatable."""
    return Annotated[list[str] | None, typer.Option(flag, metavar=_POINTS[flag], help=help)]


_POINTS = {"--shapes": "SIZES", "--seq-lens": "LENGTHS", "--contexts": "LENGTHS"}


def one_side_option(shared: str, side: str) -> Any:
    """`--a-model-arg` for `--model-arg` and side A: added to (and overriding) the values
    `shared` gives both models."""
    return Annotated[
        list[str] | None,
        typer.Option(
            f"--{side.lower()}-{shared.removeprefix('--')}",
            metavar="KEY=VALUE",
            help=f"{shared} for model {side} only, added to (and overriding) those given for both.",
        ),
    ]


# analyze
ReportJsonOption = json_option("the full report")
HtmlOption = html_option("a self-contained HTML report")  # and compare
DecodeOption = decode_option(
    "analyse one decode step (one new token per sequence, a KV cache of --context tokens) "
    "beside the prefill of --seq-len tokens"
)
DeviceSpecOption = device_spec_option("Add a roofline time per module (a lower bound)")
ByOperatorOption = by_operator_option("Print flops per operator type")
# compare
CompareJsonOption = json_option('{"a", "b", "delta"}')
AModelArgOption = one_side_option("--model-arg", "A")
BModelArgOption = one_side_option("--model-arg", "B")
ACfgOptionsOption = one_side_option("--cfg-options", "A")
BCfgOptionsOption = one_side_option("--cfg-options", "B")
# sweep
SweepShapesOption = points_option(
    "--shapes", "Input sizes to analyse: 320,640,960 (640x480 for H≠W)."
)
SweepSeqLensOption = points_option(
    "--seq-lens", "Token models: sequence lengths to analyse, e.g. 512,1024,2048."
)
SweepContextsOption = points_option(
    "--contexts", "With --decode: tokens in the KV cache, e.g. 512,2048,8192."
)
SweepJsonOption = json_option('{"points": [...]}')
SweepHtmlOption = html_option("a log-log plot of the totals")
SweepDecodeOption = decode_option("one decode step at each of --contexts")
SweepDeviceSpecOption = device_spec_option("With --decode: time per step and tokens/s")
SweepByOperatorOption = by_operator_option("Also flops per operator type at each size")
