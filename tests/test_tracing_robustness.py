"""Trace robustness (issue #13, items 5-9 and 17b): one regression test per item.

Expected numbers are computed by hand from shapes or by torch's FlopCounterMode (which
counts every op that runs, used or not), never copied from our own output.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from complexity.analyzer import AnalysisError, analyze

from helpers import REPO

CONV_3_4_K3_8x8 = 4 * 3 * 9 * 6 * 6  # multiply-adds of Conv2d(3, 4, 3) on 8x8


# ------------------------------------------------------------- item 5: unreached work


class Cache(nn.Module):
    """c2's result is stored on the module and never reaches the output."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3)
        self.c2 = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.cache = self.c2(x)
        return self.c1(x)


@pytest.mark.slow  # FlopCounterMode's first use imports much of torch._dynamo
@pytest.mark.parametrize("meta", [True, False])
def test_work_that_reaches_no_output_is_counted_and_named(meta: bool) -> None:
    model, x = Cache(), torch.rand(1, 3, 8, 8)
    with FlopCounterMode(display=False) as counter:  # counts every op that ran
        model(x)
    del model.cache
    report = analyze(model, x, convention="flops", meta=meta)
    assert report.total("flops") == counter.get_total_flops() == 2 * 2 * CONV_3_4_K3_8x8
    assert report.total("flops", "c2") == 2 * CONV_3_4_K3_8x8
    assert report.unreached == {"c2": 1}
    assert report.to_dict()["unreached_output"] == {"c2": 1}
    assert any("reach no output" in line and "c2 ×1" in line for line in report.footer_lines())
    assert not hasattr(model, "cache")  # and the model is left as it was


@pytest.mark.parametrize("returned", [None, "done"])
def test_a_forward_returning_no_tensor_is_said(returned: Any) -> None:
    class NoTensor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> Any:
            self.conv(x)
            return returned

    report = analyze(NoTensor().eval(), torch.rand(1, 3, 8, 8))
    assert report.total("flops") == CONV_3_4_K3_8x8
    assert report.unreached == {"conv": 1}
    (note,) = report.notes
    assert f"returned {type(returned).__name__}, no tensor" in note
    assert report.to_dict()["notes"] == [note]


@pytest.mark.slow
def test_the_cli_names_unreached_work_and_a_non_tensor_output(tmp_path: Path) -> None:
    model_file = tmp_path / "none_out.py"
    model_file.write_text(
        "from torch import nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n"
        "        self.conv(x)\n"
        "model = M()\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "complexity.cli.main", "analyze", str(model_file)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "the model returned NoneType, no tensor" in result.stdout
    assert "reach no output: 1 operator calls in conv ×1" in result.stdout
    assert "Model Flops: 3.888K" in result.stdout  # 4*3*9*36 multiply-adds


# ------------------------------------------------------------- item 6: "/" in names


def test_module_names_with_a_slash_keep_their_flops() -> None:
    class Slashed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stages = nn.ModuleDict({"stage1/conv": nn.Conv2d(3, 4, 3)})

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.stages["stage1/conv"](x)

    report = analyze(Slashed(), torch.rand(1, 3, 8, 8))
    assert report.by_module("flops") == {
        "": CONV_3_4_K3_8x8,
        "stages": CONV_3_4_K3_8x8,
        "stages.stage1/conv": CONV_3_4_K3_8x8,
    }
    assert report.by_module_and_operator("flops")[""] == {"conv": CONV_3_4_K3_8x8}


# ------------------------------------------------------------- item 7: threads


def test_concurrent_analyses_are_safe_and_restore_global_flags() -> None:
    shared = Cache()
    attention = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).eval()
    fastpath = torch.backends.mha.get_fastpath_enabled()
    results: dict[str, Any] = {}
    start = threading.Barrier(4)

    def run(key: str, model: nn.Module, x: torch.Tensor) -> None:
        start.wait()
        try:
            results[key] = analyze(model, x)
        except Exception as error:  # recorded, asserted below
            results[key] = error

    threads = [
        threading.Thread(target=run, args=("a", shared, torch.rand(1, 3, 8, 8))),
        threading.Thread(target=run, args=("b", shared, torch.rand(1, 3, 8, 8))),
        threading.Thread(target=run, args=("c", attention, torch.rand(2, 5, 8))),
        threading.Thread(target=run, args=("d", attention, torch.rand(2, 5, 8))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for key in "ab":
        assert results[key].total("flops") == 2 * CONV_3_4_K3_8x8, results[key]
    # The layer's linear maps alone (in_proj 8->24, out_proj 8->8, 8->16, 16->8 on 10 tokens).
    for key in "cd":
        assert results[key].by_operator("flops")["linear"] == 10 * (8 * 24 + 8 * 8 + 2 * 8 * 16)
    assert torch.backends.mha.get_fastpath_enabled() == fastpath
    assert not shared._forward_hooks and not shared._forward_pre_hooks


# ------------------------------------------------------------- item 8: deep models


def nested(levels: int, leaf: nn.Module) -> nn.Module:
    model = leaf
    for _ in range(levels):
        model = nn.Sequential(model)
    return model


def deepest_plain_forward(x: torch.Tensor) -> int:
    """The most nesting levels a plain forward survives here (steps of 10)."""
    levels = 100
    while True:
        try:
            nested(levels + 10, nn.Linear(4, 4))(x)
        except RecursionError:
            return levels
        levels += 10


def test_analysis_goes_as_deep_as_a_plain_forward() -> None:
    x = torch.rand(2, 4)
    levels = deepest_plain_forward(x)
    report = analyze(nested(levels, nn.Linear(4, 4)), x)
    assert report.total("flops") == 2 * 4 * 4
    assert report.modules[-1].depth == levels


def test_a_failure_deep_down_is_named_briefly() -> None:
    class Fails(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("boom")

    with pytest.raises(AnalysisError) as caught:
        analyze(nested(150, Fails()), torch.rand(2, 4))
    message = str(caught.value)
    assert len(message) < 200
    assert "(299 chars)" in message and "(Fails)" in message and "boom" in message
    assert caught.value.module == ".".join(["0"] * 150)  # the full name stays available


# ------------------------------------------------------------- item 9: model state


class Mutating(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.register_buffer("count", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.count = self.count + 1  # re-assigns the buffer
        with torch.no_grad():
            self.linear.weight.mul_(0.5)  # changes a parameter in place
        return self.linear(x)


@pytest.mark.parametrize("meta", [None, False])
def test_reassigned_buffers_and_in_place_parameter_changes_are_undone(meta: bool | None) -> None:
    model = Mutating()
    count, weight = model.count, model.linear.weight
    values = {k: v.clone() for k, v in model.state_dict().items()}
    report = analyze(model, torch.rand(2, 4), meta=meta)
    assert report.traced_on == ("meta" if meta is None else "cpu")
    assert model.count is count and model.linear.weight is weight
    for key, value in model.state_dict().items():
        assert torch.equal(value, values[key]), key
    model(torch.rand(2, 4))  # the forward does mutate: the test is not vacuous
    assert model.count.item() == 1


# ------------------------------------------------------------- item 17b: scripted


def test_a_scripted_submodule_is_named_in_one_line() -> None:
    class WithScript(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 4))
            self.body.append(torch.jit.script(nn.Linear(4, 4)))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

    model = WithScript()
    with pytest.raises(AnalysisError) as caught:
        analyze(model, torch.rand(1, 3))
    message = str(caught.value)
    assert "\n" not in message
    assert "submodule body.1 is a TorchScript module" in message
    assert caught.value.module == "body.1"
    assert not model.body[0]._forward_hooks  # nothing left behind
