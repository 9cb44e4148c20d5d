"""Shared test helpers and session-wide fixtures.

Helpers are imported by name (`from conftest import Fn, run`); models that take seconds to
build (RTMDet) and their reports are fixtures built once per session. Never mutate a shared
model in a test: build your own when a test changes it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from complexity.analyzer import Report, analyze

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SEED_TABLE = FIXTURES / "seed_rtmdet_s_table.md"
RTMDET_SIZES = ("tiny", "s", "m", "l", "x")
RTMDET_S = "configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py"
SEED_SUMMARY = [
    "==============================",
    "Input shape: torch.Size([640, 640])",
    "Model Flops: 14.835G",
    "Model Parameters: 8.887M",
    "==============================",
]


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


def assert_one_line_error(code: int, err: str, expected_code: int, *fragments: str) -> None:
    """The CLI's bad-input contract: the exit code, one line on stderr, no traceback."""
    assert code == expected_code
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


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


# ----------------------------------------------------------------- RTMDet, once per session


def rtmdet_config_path(size: str) -> Path:
    return REPO / "configs" / "rtmdet" / f"rtmdet_{size}_syncbn_fast_8xb32-300e_coco.py"


def load_rtmdet_cfg(size: str) -> Any:
    """A fresh mmengine Config of RTMDet-`size` (callers may change it)."""
    from mmengine import Config

    return Config.fromfile(str(rtmdet_config_path(size)))


@functools.cache
def _built_rtmdet(size: str) -> nn.Module:
    from complexity.zoo import build_model

    torch.manual_seed(0)
    return build_model(load_rtmdet_cfg(size).model).eval()


@pytest.fixture(scope="session")
def rtmdet() -> Callable[[str], nn.Module]:
    """`rtmdet("m")`: RTMDet-m in eval mode, built once per session. Do not modify it."""
    return _built_rtmdet


@pytest.fixture(scope="session")
def rtmdet_s(rtmdet: Callable[[str], nn.Module]) -> nn.Module:
    return rtmdet("s")


@pytest.fixture(scope="session")
def rtmdet_s_inputs(rtmdet_s: nn.Module) -> torch.Tensor:
    """The seed's input: a 640x640 image through RTMDet's data preprocessor."""
    from complexity.zoo import example_inputs

    return example_inputs(rtmdet_s, (640, 640))


@pytest.fixture(scope="session")
def rtmdet_s_report(rtmdet_s: nn.Module, rtmdet_s_inputs: torch.Tensor) -> Report:
    """Our fvcore-convention report of RTMDet-s at 640, the seed's case."""
    return analyze(rtmdet_s, rtmdet_s_inputs)


def one_line_error(code: int, err: str, expected_code: int, *fragments: str) -> str:
    """Assert the CLI ended with `expected_code` and one stderr line holding `fragments`."""
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
