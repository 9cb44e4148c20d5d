"""Models that fight the tracer (issue 23, items 3, 13, 16): analyze() called from inside a
traced forward, a module that contains itself, the model used by another thread meanwhile.
Each one crashed (segfault, RecursionError, "pop from empty list") before.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from complexity.analyzer import AnalysisError, analyze
from complexity.analyzer.tracing import _value_needed

from helpers import assert_one_line_error, cli

# ----------------------------------------------------------------- item 3: nested analyze()

NESTED = """
import torch
from torch import nn
from complexity.analyzer import AnalysisError, analyze
from complexity.analyzer.tracing import _value_needed

class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        analyze(nn.Linear(4, 4), torch.rand(1, 4), meta={meta})
        return self.lin(x)

try:
    analyze(Nested(), torch.rand(1, 4), meta={meta})
except AnalysisError as error:
    print("AnalysisError:", error)
"""


@pytest.mark.parametrize("meta", [None, False, True])
def test_analyze_inside_a_traced_forward_is_an_analysis_error(meta: bool | None) -> None:
    # In a child process: the failure this guards against was a segfault (exit 139).
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(NESTED.format(meta=meta))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("AnalysisError: analyze() was called inside a forward")
    assert "call analyze() outside the model's forward" in done.stdout


def test_analyze_inside_torch_jit_trace_is_an_analysis_error() -> None:
    seen: list[str] = []

    class Calls(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            try:
                analyze(nn.Linear(4, 4), torch.rand(1, 4))
            except AnalysisError as error:
                seen.append(str(error))
            return x * 2

    torch.jit.trace(Calls(), torch.rand(1, 4))
    assert seen and "traces cannot nest" in seen[0]


class Fails(nn.Module):
    """A forward that fails for a reason of its own, whatever the device: counted calls."""

    def __init__(self, calls: list[str]) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.calls = calls  # a list outside the model: the state restore keeps it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(self.lin.weight.device.type)
        raise ValueError("the model's own bug")


def test_a_failure_that_is_not_about_values_is_not_retraced_on_real_tensors() -> None:
    calls: list[str] = []
    with pytest.raises(AnalysisError, match="the model's own bug"):
        analyze(Fails(calls), torch.rand(1, 4))
    assert calls == ["meta"]  # before, a second forward on the real tensors: meta, cpu


def test_a_tensor_the_meta_swap_cannot_reach_still_falls_back() -> None:
    class Box:  # a custom container: not a parameter, buffer or tensor attribute
        def __init__(self, tensor: torch.Tensor) -> None:
            self.tensor = tensor

    class Boxed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 3)
            self.box = Box(torch.ones(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x) * self.box.tensor

    # Our shape-only elementwise kernels take the cpu tensor as it is; where torch's own
    # kernels meet it they raise, and that counts as values the meta trace lacked.
    report = analyze(Boxed(), torch.rand(2, 4))
    assert report.total("flops") == 2 * 4 * 3  # fvcore: the linear's multiply-adds only
    for mixed in (
        lambda: torch.ones(3, device="meta") * torch.ones(3),
        lambda: torch.ones(3) * torch.ones(3, device="meta"),
    ):
        with pytest.raises(RuntimeError) as raised:
            mixed()  # torch's own message, outside a trace
        assert "swap to meta cannot reach" in (_value_needed(raised.value) or "")


# ----------------------------------------------------------------- item 13: a module in itself


def looped() -> nn.Module:
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU()))
    model.loop = model
    return model


def test_a_module_that_contains_itself_is_refused_in_one_line() -> None:
    with pytest.raises(AnalysisError) as refused:
        analyze(looped(), torch.rand(1, 4))
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("loop is the model again: a module that contains itself")
    assert "object.__setattr__(module, 'loop', ...)" in message


def test_the_cli_refuses_a_model_file_that_contains_itself_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "loop.py"
    path.write_text(
        "from torch import nn\n"
        "model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())\n"
        "model.loop = model\n"
        "input_shape = (1, 4)\n"
    )
    code, out, err = cli(capsys, "analyze", str(path))
    assert_one_line_error(code, err, 2, "loop is the model again", "object.__setattr__")
    assert out == ""


def test_a_submodule_that_contains_an_ancestor_is_named() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU()))
    model[1].back = model[1]
    with pytest.raises(AnalysisError, match=r"^1\.back is submodule 1 again"):
        analyze(model, torch.rand(1, 4))


def test_a_module_shared_twice_is_still_counted_once() -> None:
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.Sequential(shared))  # shared, not a cycle
    report = analyze(model, torch.rand(1, 4))
    assert report.total("params") == 4 * 4 + 4


# ----------------------------------------------------------------- item 16: other threads


class Gate(nn.Module):
    """Holds a worker's forward inside the model until the tracing thread gets here."""

    def __init__(self) -> None:
        super().__init__()
        self.worker_inside = threading.Event()
        self.resume = threading.Event()
        self.worker_done = threading.Event()
        self.worker: threading.Thread | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if threading.current_thread() is self.worker:
            self.worker_inside.set()
            assert self.resume.wait(30)
        elif self.worker is not None and self.worker_inside.is_set():
            self.resume.set()  # let the worker finish its forward while we trace
            assert self.worker_done.wait(30)
        return x


def test_the_model_used_by_another_thread_during_a_trace() -> None:
    gate = Gate()
    model = nn.Sequential(nn.Linear(4, 8), gate, nn.Linear(8, 2)).eval()
    x = torch.rand(3, 4)
    with torch.no_grad():
        expected = model[2](model[0](x))
    outcome: dict[str, Any] = {}

    def use_the_model() -> None:
        try:
            with torch.no_grad():
                outcome["output"] = model(x)
        except Exception as error:  # what the user's forward would have raised
            outcome["error"] = repr(error)
        finally:
            gate.worker_done.set()

    gate.worker = threading.Thread(target=use_the_model)
    gate.worker.start()  # enters the model before the analysis registers its hooks
    assert gate.worker_inside.wait(30)
    report = analyze(model, torch.rand(1, 4), meta=False)
    gate.worker.join(30)
    assert "error" not in outcome, outcome["error"]
    assert torch.equal(outcome["output"], expected)
    # fvcore's counts: 4*8 + 8*2 multiply-adds for one row
    assert report.total("flops") == 4 * 8 + 8 * 2
    assert report.by_module("flops")["0"] == 4 * 8


class HoldsTheTrace(nn.Module):
    """On the meta trace, lets a worker thread run real forwards, and waits for them."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.rand(8))
        self.register_buffer("shift", torch.rand(8))
        self.tracing = threading.Event()
        self.worker_done = threading.Event()
        self.worker: threading.Thread | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale.is_meta and threading.current_thread() is not self.worker:
            self.tracing.set()  # the meta trace is here: the worker may run now
            assert self.worker_done.wait(30)
        return x * self.scale + self.shift


def test_another_threads_forward_during_a_meta_trace_sees_the_real_model() -> None:
    held = HoldsTheTrace()
    model = nn.Sequential(nn.Linear(4, 8), held, nn.Linear(8, 2)).eval()
    x = torch.rand(3, 4)
    with torch.no_grad():
        expected = model(x)
    before = {name: tensor for name, tensor in model.state_dict(keep_vars=True).items()}
    seen: dict[str, Any] = {}

    def use_the_model() -> None:
        try:
            assert held.tracing.wait(30)
            with torch.no_grad():
                seen["outputs"] = [model(x) for _ in range(3)]
            seen["state"] = model.state_dict(keep_vars=True)
            seen["parameters"] = dict(model.named_parameters())
        except Exception as error:  # what the user's forward would have raised
            seen["error"] = repr(error)
        finally:
            held.worker_done.set()

    held.worker = threading.Thread(target=use_the_model)
    held.worker.start()
    report = analyze(model, torch.rand(1, 4), meta=True)
    held.worker.join(30)
    assert "error" not in seen, seen["error"]
    assert not any(output.is_meta for output in seen["outputs"])  # main gave meta outputs
    assert all(torch.equal(output, expected) for output in seen["outputs"])
    assert all(seen["state"][name] is tensor for name, tensor in before.items())
    assert all(seen["parameters"][name] is before[name] for name in seen["parameters"])
    after = model.state_dict(keep_vars=True)
    assert after.keys() == before.keys()
    assert all(after[name] is tensor for name, tensor in before.items())
    assert type(held._parameters) is dict and type(held._buffers) is dict
    assert report.traced_on == "meta"
    # fvcore's counts for one row: 4*8 and 8*2 multiply-adds
    assert (report.by_module("flops")["0"], report.by_module("flops")["2"]) == (4 * 8, 8 * 2)


# ------------------------------------------- a failed meta trace leaves the thread tracing
# torch's tracer stashes an int-list argument's traced elements in a thread-local store
# before reading their values; on meta the read fails and the stash stayed behind, so every
# later trace on that thread stopped on "list_trace[idx] == nullptr INTERNAL ASSERT".


class WindowFromATensor(nn.Module):
    """Swin's pattern: a size computed as a tensor (traced), used in `view`'s size list."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window = torch.min(torch.tensor([x.shape[1], x.shape[2]]))
        return self.scale(x.view(x.shape[0], window, -1))

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Linear(4, 2)


def test_after_a_meta_trace_that_needed_values_later_traces_still_run() -> None:
    x = torch.rand(2, 4, 4)
    report = analyze(WindowFromATensor(), x)  # meta needs .item(): retraced on cpu
    assert report.traced_on == "cpu" and "item" in (report.fallback_reason or "")
    assert report.total("flops") == 2 * 4 * 4 * 2  # Linear(4, 2) on 2 x 4 rows, by hand
    with pytest.raises(AnalysisError, match="item"):
        analyze(WindowFromATensor(), x, meta=True)
    assert analyze(WindowFromATensor(), x, meta=False).total("flops") == 2 * 4 * 4 * 2
    torch.jit.trace(WindowFromATensor(), x)  # the user's own trace on this thread


@pytest.mark.slow
def test_swin_under_device_auto_equals_transformers_and_fvcore(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Swin-T (transformers' SwinConfig() defaults) under --device auto: the meta trace needs
    .item(), the cpu retrace in the same process used to stop on the tracer's assert. Its
    parameters are torch's own count of the model, its flops fvcore's on the same model."""
    import json

    from fvcore.nn import FlopCountAnalysis
    from transformers import AutoConfig, AutoModel

    config = Path(__file__).parent / "fixtures" / "swin-tiny" / "config.json"
    code, out, _ = cli(capsys, "analyze", str(config), "--json", "-")
    assert code == 0
    data = json.loads(out)
    assert "item" in data["traced_on"]["fallback_reason"]
    torch.manual_seed(0)
    fields = json.loads(config.read_text())
    model = AutoModel.from_config(AutoConfig.for_model(**fields)).eval()
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    analysis = FlopCountAnalysis(model, torch.rand(1, 3, 224, 224))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    assert data["totals"]["flops"] == analysis.total()
