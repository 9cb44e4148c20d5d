"""Huge models are refused before the long work, in one line naming --max-modules (issue 23,
item 4): a config.json with 10^6 layers, deepen_factor=1e6 or a file building 100k modules
ran for minutes with no output. Module counts below are counted by hand from the files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from complexity.targets import TargetError, TargetSpec, load_target

from helpers import REPO, assert_one_line_error, cli

MANY = """
from torch import nn
model = nn.Sequential(*[nn.Linear(8, 8) for _ in range({layers})])
input_shape = (1, 8)
"""

SWALLOWING = """
from torch import nn


def model():
    try:
        return nn.Sequential(*[nn.Linear(8, 8) for _ in range(100)])
    except Exception:  # a factory that hides its errors
        return nn.Linear(8, 8)


input_shape = (1, 8)
"""


def model_file(tmp_path: Path, source: str) -> str:
    path = tmp_path / "model.py"
    path.write_text(source)
    return str(path)


def test_a_model_file_past_the_limit_is_refused_naming_the_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = model_file(tmp_path, MANY.format(layers=30))  # 30 Linear + the Sequential: 31
    code, out, err = cli(capsys, "analyze", path, "--max-modules", "20")
    assert_one_line_error(code, err, 2, "builds more than 20 modules", "--max-modules N")
    assert out == ""
    code, out, _ = cli(capsys, "analyze", path, "--max-modules", "31")
    assert code == 0 and "Model Flops: 1.92K" in out  # 30 layers x 8 x 8 multiply-adds


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_compare_and_sweep_take_the_option_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    convs = (
        "from torch import nn\nmodel = nn.Sequential(*[nn.Conv2d(3, 3, 1) for _ in range(30)])\n"
    )
    path = model_file(tmp_path, convs)  # 30 convolutions + the Sequential: 31 modules
    args = [path, path] if command == "compare" else [path, "--shapes", "8,16"]
    code, _, err = cli(capsys, command, *args, "--max-modules", "20")
    assert_one_line_error(code, err, 2, "builds more than 20 modules", "--max-modules N")
    code, _, _ = cli(capsys, command, *args, "--max-modules", "31")
    assert code == 0


def test_a_factory_cannot_swallow_the_stop(tmp_path: Path) -> None:
    spec = TargetSpec(model_file(tmp_path, SWALLOWING), max_modules=50, device="meta")
    with pytest.raises(TargetError, match="builds more than 50 modules"):
        load_target(spec)


def test_the_library_default_and_no_limit(tmp_path: Path) -> None:
    path = model_file(tmp_path, MANY.format(layers=30))
    assert TargetSpec(path).max_modules == 20_000
    loaded = load_target(TargetSpec(path, max_modules=None, device="meta"))
    assert len(list(loaded.model.modules())) == 31


def test_a_config_json_with_too_many_layers_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("transformers")
    config = json.loads((REPO / "examples/hf/llama-2-7b/config.json").read_text())
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config, "num_hidden_layers": 100}))  # > 1,000 modules
    code, _, err = cli(capsys, "analyze", str(path), "--max-modules", "500")
    assert_one_line_error(code, err, 2, "builds more than 500 modules", "--max-modules N")


def test_long_work_is_announced(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = model_file(tmp_path, MANY.format(layers=2100))
    code, _, err = cli(capsys, "analyze", path, "--not-show-table")
    assert code == 0
    assert "note: tracing 2,101 modules: about" in err


@pytest.mark.slow
def test_an_mmyolo_config_deepened_past_the_limit_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = REPO / "configs/rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py"
    code, _, err = cli(
        capsys,
        "analyze",
        str(config),
        "--cfg-options",
        "model.backbone.deepen_factor=1e6",
        "--max-modules",
        "2000",
    )
    assert_one_line_error(code, err, 2, "builds more than 2,000 modules", "--max-modules N")


def test_analyze_tells_progress_of_the_trace_and_the_walk() -> None:
    """120 Linear(8, 8) and their Sequential: 121 modules, reported every 50 modules
    entered, then the walk from its first node; the numbers are those of a silent run."""
    from torch import nn

    from complexity.analyzer import analyze
    from complexity.analyzer.tracing import TRACING, WALKING

    model = nn.Sequential(*[nn.Linear(8, 8) for _ in range(120)])
    heard: list[tuple[str, int, int]] = []
    report = analyze(model, torch.rand(1, 8), progress=lambda *call: heard.append(call))
    assert heard[:2] == [(TRACING, 50, 121), (TRACING, 100, 121)]
    walking = heard[2:]
    assert [stage for stage, _, _ in walking] == [WALKING]  # under 500 nodes: one call
    assert walking[0][1] == 0 and walking[0][2] >= 120  # at least the 120 linear nodes
    assert report.total("flops") == 120 * 8 * 8 == analyze(model, torch.rand(1, 8)).total("flops")


def _stderr_on_a_terminal(*args: str) -> tuple[str, str]:
    """Run `complexity ARGS` with stderr on a pseudo-terminal: (stdout, what the terminal got)."""
    import os
    import pty
    import subprocess
    import sys
    import threading

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", "from complexity.cli.entry import run; run()", *args],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "200"},
    )
    os.close(terminal)
    seen: list[bytes] = []

    def read_terminal() -> None:  # beside communicate(): neither side blocks on a full pipe
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    out, _ = process.communicate(timeout=300)
    reader.join(timeout=30)
    os.close(controller)
    return out.decode(), b"".join(seen).decode(errors="replace")


def test_progress_shows_on_a_terminal_and_never_in_piped_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 23 item 4: a long trace and walk show how far they are, on a terminal only."""
    path = model_file(tmp_path, MANY.format(layers=2100))
    out, terminal = _stderr_on_a_terminal("analyze", path, "--json", "-")
    assert "modules traced" in terminal and "graph nodes walked" in terminal
    assert json.loads(out)["totals"]["flops"] == 2100 * 8 * 8
    code, out, err = cli(capsys, "analyze", path, "--json", "-")  # stderr not a terminal
    assert code == 0 and json.loads(out)["totals"]["flops"] == 2100 * 8 * 8
    assert "modules traced" not in err and "nodes walked" not in err
    assert "modules traced" not in out and "nodes walked" not in out
