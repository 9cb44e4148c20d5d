"""The test suite's shared helpers, in one place: `from helpers import Fn, cli, run`.

pyproject's `[tool.pytest.ini_options] pythonpath` puts tests/ on sys.path, so every test
module imports these by name; no test module imports conftest or another test module.
Models shared by several test files live beside this one (`helpers.parity_models`,
`helpers.handler_cases`). The session-wide fixtures (RTMDet built once, its report) are in
conftest.py and use the builders here. Never mutate a shared model in a test: build your
own when a test changes it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from complexity.analyzer import Report, analyze

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SEED_TABLE = FIXTURES / "seed_rtmdet_s_table.md"
RTMDET_S = "configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py"
SEED_SUMMARY = [
    "==============================",
    "Input shape: torch.Size([640, 640])",
    "Model Flops: 14.835G",
    "Model Parameters: 8.887M",
    "==============================",
]

# A one-layer model file: Conv2d(3, 4, 3) on 1x3x8x8, so a 6x6 output per channel.
TINY_MODEL = """
import torch
model = torch.nn.Conv2d(3, 4, 3)
input_shape = (1, 3, 8, 8)
"""
TINY_PARAMS = 4 * 27 + 4  # weight 4x3x3x3 and bias 4
TINY_FLOPS = 4 * 27 * 6 * 6  # fvcore: one multiply-add per weight per output position


def assert_tiny_report(text: str) -> None:
    """A JSON report of TINY_MODEL with its hand-computed totals."""
    totals = json.loads(text)["totals"]
    assert (totals["params"], totals["flops"]) == (TINY_PARAMS, TINY_FLOPS)


# ----------------------------------------------------------------- one-op models


class Fn(nn.Module):
    """A function as a module: forward is `fn(self, *inputs)`; `children` become submodules."""

    def __init__(self, fn: Callable[..., Any], **children: nn.Module) -> None:
        super().__init__()
        self.fn = fn
        for name, child in children.items():
            self.add_module(name, child)

    def forward(self, *inputs: Any) -> Any:
        return self.fn(self, *inputs)


def as_module(model: nn.Module | Callable[..., Any]) -> nn.Module:
    """A module as is; a plain function of the inputs wrapped as a one-op module."""
    if isinstance(model, nn.Module):
        return model
    return Fn(lambda _, *inputs: model(*inputs))


class Double(torch.autograd.Function):
    """An autograd.Function: traced as `prim::PythonOp.Double`, which no convention counts."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x * 2

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad * 2


def run(model: nn.Module | Callable[..., Any], *inputs: Any, convention: str = "fvcore") -> Report:
    """Our analysis of `model(*inputs)`, a plain function being wrapped as a module."""
    return analyze(as_module(model), tuple(inputs), convention=convention)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `complexity ARGS` in-process; return (exit code, stdout, stderr)."""
    from complexity.cli.main import run as run_cli

    with pytest.raises(SystemExit) as stop:
        run_cli(list(args))
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err  # type: ignore[return-value]


def run_script(
    capsys: pytest.CaptureFixture[str], script: str | Path, *args: str
) -> tuple[int, str, str]:
    """`python SCRIPT ARGS` in-process (a tools/ script's `main(argv)`); return (exit code,
    stdout, stderr). A relative SCRIPT is found from the working directory, as python does."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(script).stem, script)
    assert spec is not None and spec.loader is not None, script
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, expected_code: int, *fragments: str) -> None:
    """The CLI's bad-input contract: the exit code, one line on stderr, no traceback."""
    one_line_error(code, err, expected_code, *fragments)


# ----------------------------------------------------------------- the oracles


def fvcore_flops(model: nn.Module | Callable[..., Any], *inputs: Any) -> Any:
    """fvcore's FlopCountAnalysis of `model(*inputs)`, its warnings off (`.total()`, ...)."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(as_module(model), tuple(inputs))
    return analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def mmengine_flops(model: nn.Module, *inputs: Any) -> int:
    """mmengine's FlopAnalyzer total (what MMYOLO's get_flops prints)."""
    from mmengine.analysis import FlopAnalyzer

    analysis = FlopAnalyzer(model, tuple(inputs))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analysis.total())


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------- the seed


def seed_rows() -> list[tuple[str, str, str, str]]:
    """The 56 rows of MMYOLO's get_flops table for RTMDet-s, as stripped cells."""
    rows = []
    for line in seed_markdown_table():
        cells = tuple(c.strip() for c in line.strip().strip("|").split("|"))
        if len(cells) == 4 and cells[0] != "module" and not cells[0].startswith(":"):
            rows.append(cells)
    return rows  # type: ignore[return-value]


def seed_markdown_table() -> list[str]:
    lines = SEED_TABLE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.startswith("|")]


# ----------------------------------------------------------------- zoo configs, once per session


@dataclass(frozen=True)
class Family:
    """Where a family's shipped configs live: configs/<folder>/<pattern with {size}>."""

    folder: str
    pattern: str
    sizes: tuple[str, ...]  # smallest first, as MMYOLO's configs scale them


FAMILIES: dict[str, Family] = {
    "rtmdet": Family(
        "rtmdet", "rtmdet_{size}_syncbn_fast_8xb32-300e_coco.py", ("tiny", "s", "m", "l", "x")
    ),
    "yolov5": Family(
        "yolov5", "yolov5_{size}-v61_syncbn_fast_8xb16-300e_coco.py", ("n", "s", "m", "l", "x")
    ),
    "yolov5-p6": Family(
        "yolov5", "yolov5_{size}-p6-v62_syncbn_fast_8xb16-300e_coco.py", ("n", "s", "m", "l", "x")
    ),
    "yolov8": Family(
        "yolov8", "yolov8_{size}_syncbn_fast_8xb16-500e_coco.py", ("n", "s", "m", "l", "x")
    ),
    "yolov8-mask-refine": Family(
        "yolov8",
        "yolov8_{size}_mask-refine_syncbn_fast_8xb16-500e_coco.py",
        ("n", "s", "m", "l", "x"),
    ),
    "yolox": Family(
        "yolox", "yolox_{size}_fast_8xb8-300e_coco.py", ("nano", "tiny", "s", "m", "l", "x")
    ),
    "yolox-rtmdet-hyp": Family(
        "yolox", "yolox_{size}_fast_8xb32-300e-rtmdet-hyp_coco.py", ("nano", "tiny", "s", "m")
    ),
}
RTMDET_SIZES = FAMILIES["rtmdet"].sizes


def config_path(family: str, size: str) -> Path:
    """The shipped config of `family` (a FAMILIES key) at `size`, e.g. ("yolov5", "s")."""
    spec = FAMILIES[family]
    if size not in spec.sizes:
        raise KeyError(f"{family} has no size {size!r} (sizes: {', '.join(spec.sizes)})")
    return REPO / "configs" / spec.folder / spec.pattern.format(size=size)


def load_cfg(family: str, size: str) -> Any:
    """A fresh mmengine Config (callers may change it)."""
    from mmengine import Config

    return Config.fromfile(str(config_path(family, size)))


def build_for_counting(cfg: Any) -> nn.Module:
    """Build `cfg.model` as MMYOLO's get_flops does: eval mode, then the deploy form."""
    from complexity.zoo import build_model, switch_to_deploy

    model = build_model(cfg.model).eval()
    switch_to_deploy(model)
    return model


@functools.cache
def built_zoo_model(family: str, size: str) -> nn.Module:
    """A shipped config built for counting, once per process (the `zoo_model` fixture)."""
    torch.manual_seed(0)
    return build_for_counting(load_cfg(family, size))


@functools.cache
def zoo_model_on_meta(config: str) -> nn.Module:
    """`config` (a path under configs/) built by complexity.zoo in deploy form, eval mode, on
    the meta device: shapes only, so seconds where real weights take many. Built once per
    process and shared by every test that counts it; never modify it."""
    from mmengine import Config

    from complexity.zoo import build_model, switch_to_deploy

    cfg = Config.fromfile(str(REPO / "configs" / config))
    with torch.device("meta"):
        model = build_model(cfg.model).eval()
        switch_to_deploy(model)
    return model


def rtmdet_config_path(size: str) -> Path:
    return config_path("rtmdet", size)


def load_rtmdet_cfg(size: str) -> Any:
    """A fresh mmengine Config of RTMDet-`size` (callers may change it)."""
    return load_cfg("rtmdet", size)


def built_rtmdet(size: str) -> nn.Module:
    """RTMDet-`size` in eval mode, built once per process (the `rtmdet` fixture)."""
    return built_zoo_model("rtmdet", size)


def one_line_error(code: int, err: str, expected_code: int, *fragments: str) -> str:
    """Assert the CLI ended with `expected_code` and one stderr line holding `fragments`."""
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
