"""The README's benchmark command runs (a smoke run: figures are printed, never asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import REPO


@pytest.mark.slow
def test_benchmark_smoke_run_prints_ratios():
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/bench_analyze.py",
            "--runs",
            "1",
            "--cases",
            "vit-small",
            "--skip-commands",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for label in ("complexity / fvcore", "complexity / forward", "peak extra RSS"):
        assert label in result.stdout


@pytest.mark.slow
def test_many_layers_benchmark_smoke_run_prints_ratios():
    result = subprocess.run(
        [sys.executable, "benchmarks/bench_many_layers.py", "--layers", "50", "--runs", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "complexity / fvcore:" in result.stdout
    assert "flops 204,800" in result.stdout  # 50 layers x 64 x 64 multiply-adds, both tools


@pytest.mark.slow
def test_train_memory_benchmark_smoke_run_prints_ratios():
    result = subprocess.run(
        [sys.executable, "benchmarks/train_memory.py", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert "ratio" in result.stdout
    for case in ("RTMDet-s", "Llama-style decoder", "ViT-style"):
        assert result.stdout.count(case) == 2  # with and without a frozen backbone
