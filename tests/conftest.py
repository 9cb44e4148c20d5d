"""Session-wide fixtures: models that take seconds to build (RTMDet) and their reports,
built once per session. The shared helpers are in tests/helpers/ (`from helpers import ...`).
Never mutate a shared model in a test: build your own when a test changes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from complexity.analyzer import Report, analyze

from helpers import REPO, TINY_MODEL, built_rtmdet, config_path, zoo_model_on_meta


@pytest.fixture(scope="session")
def zoo_model() -> Callable[[str, str], nn.Module]:
    """`zoo_model("yolov8", "s")`: a shipped config built for counting (deploy form, eval) on
    the meta device, once per session and shared with every test that counts that config.
    Do not modify it."""

    def on_meta(family: str, size: str) -> nn.Module:
        return zoo_model_on_meta(config_path(family, size).relative_to(REPO / "configs").as_posix())

    return on_meta


@pytest.fixture(scope="session")
def rtmdet() -> Callable[[str], nn.Module]:
    """`rtmdet("m")`: RTMDet-m in eval mode, built once per session. Do not modify it."""
    return built_rtmdet


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


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """helpers.TINY_MODEL written to a model file in the test's own folder."""
    path = tmp_path / "tiny.py"
    path.write_text(TINY_MODEL)
    return path
