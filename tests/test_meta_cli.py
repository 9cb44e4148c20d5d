"""`--device` and the CLI's meta builds (issue #10): models bigger than RAM, the fallback.

Parameter and flop counts are computed by hand from the Llama-2 shapes (the 7B and 70B
totals are the parameter counts of Meta's published checkpoints).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from complexity.targets import TargetSpec, load_target

from helpers import REPO, cli


def llama_params(dim: int, layers: int, kv_dim: int, hidden: int, vocab: int = 32000) -> int:
    attention = 2 * dim * dim + 2 * dim * kv_dim  # wq, wo; wk, wv
    per_layer = attention + 3 * dim * hidden + 2 * dim  # + SwiGLU, two RMSNorm weights
    return 2 * vocab * dim + layers * per_layer + dim  # embedding, output, final norm


def test_llama_parameter_formula_matches_published_totals() -> None:
    assert llama_params(4096, 32, 4096, 11008) == 6_738_415_616
    assert llama_params(8192, 80, 1024, 28672) == 68_976_648_192


@pytest.mark.slow
def test_llama_7b_file_is_analysed_on_meta(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "analyze", str(REPO / "examples/llama.py"), "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["params"] == llama_params(4096, 32, 4096, 11008) == 6_738_415_616
    tokens, layers, dim, hidden = 4096, 32, 4096, 11008
    linear = tokens * (layers * (4 * dim * dim + 3 * dim * hidden) + dim * 32000)
    attention = layers * 2 * tokens * tokens * dim  # q @ k^T and weights @ v, all heads
    assert data["totals"]["flops"] == linear + attention  # fvcore: one multiply-add = 1
    assert data["traced_on"] == {"device": "meta", "fallback_reason": None}
    assert data["input_shapes"] == [[1, 4096]]


@pytest.mark.slow
def test_llama_70b_file_is_analysed_on_meta(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "analyze", str(REPO / "examples/llama_70b.py"), "--not-show-table")
    assert code == 0, err
    assert "Model Parameters: 68.977G" in out  # 68,976,648,192
    assert "traced on meta" in out


def test_configs_build_on_meta_with_the_same_inputs() -> None:
    config = str(REPO / "configs/rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py")
    loaded = load_target(TargetSpec(config, (320, 256), device="meta"))
    assert all(p.is_meta for p in loaded.model.parameters())
    assert loaded.inputs.is_meta and loaded.inputs.dtype == torch.float32
    assert tuple(loaded.inputs.shape) == (1, 3, 320, 256)  # through the preprocessor
    assert loaded.input_label == "torch.Size([320, 256])"


def test_building_rtmdet_x_on_meta_skips_initialisation() -> None:
    """No weight is allocated or initialised: every parameter is meta (timing: benchmark)."""
    config = str(REPO / "configs/rtmdet/rtmdet_x_syncbn_fast_8xb32-300e_coco.py")
    start = time.perf_counter()
    loaded = load_target(TargetSpec(config, device="meta"))
    assert time.perf_counter() - start < 60  # a generous guard against hangs, not a target
    assert sum(p.numel() for p in loaded.model.parameters()) > 90_000_000
    assert all(t.is_meta for t in (*loaded.model.parameters(), *loaded.model.buffers()))


VALUE_DEPENDENT = """
import torch
from torch import nn

class Masked(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 2)

    def forward(self, x):
        return self.proj(x[x[:, 0] > 0.5])

def model():
    return Masked()

def inputs():
    return torch.arange(40.0).reshape(10, 4) / 40  # x[i, 0] = i / 10: rows 6..9 pass
"""


@pytest.fixture
def masked_file(tmp_path: Path) -> Path:
    path = tmp_path / "masked.py"
    path.write_text(VALUE_DEPENDENT)
    return path


def test_auto_rebuilds_on_cpu_when_values_are_needed_and_says_so(
    capsys: pytest.CaptureFixture[str], masked_file: Path
) -> None:
    code, out, err = cli(capsys, "analyze", str(masked_file), "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["traced_on"]["device"] == "cpu"
    assert "torch.nonzero" in data["traced_on"]["fallback_reason"]
    assert data["totals"]["flops"] == 4 * 4 * 2  # four rows kept, Linear(4, 2)
    code, out, err = cli(capsys, "analyze", str(masked_file))
    assert "traced on cpu: real tensors (the meta trace needed values: torch.nonzero" in out


def test_device_meta_does_not_fall_back(
    capsys: pytest.CaptureFixture[str], masked_file: Path
) -> None:
    code, _out, err = cli(capsys, "analyze", str(masked_file), "--device", "meta")
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "torch.nonzero" in err and "the model itself (Masked)" in err


@pytest.mark.parametrize(("device", "said"), [("cpu", "traced on cpu"), ("meta", "on meta")])
def test_device_picks_the_path(capsys: pytest.CaptureFixture[str], device: str, said: str) -> None:
    code, out, err = cli(capsys, "analyze", str(REPO / "examples/small_cnn.py"), "--device", device)
    assert code == 0, err
    assert said in out and "fallback" not in out


def test_bad_device_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = cli(capsys, "analyze", str(REPO / "examples/small_cnn.py"), "--device", "tpu")
    assert code == 2 and err.count("\n") == 1
    assert "unknown --device 'tpu'; use one of: auto, meta, cpu, cuda" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without CUDA")
def test_cuda_without_a_gpu_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = cli(
        capsys, "analyze", str(REPO / "examples/small_cnn.py"), "--device", "cuda"
    )
    assert code == 2 and err.count("\n") == 1
    assert "--device cuda" in err and "--device cpu" in err
