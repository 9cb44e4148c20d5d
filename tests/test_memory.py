"""Parameter bytes, activation bytes, peak activation memory and roofline time (issue #14).

Expected numbers are hand-computed from shapes and dtypes, or measured side by side: the
peak is compared with the peak of live non-parameter storage that a TorchDispatchMode
tracker sees during a no_grad eager forward of the same model.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakIdKeyDictionary

from complexity.analyzer import (
    DEVICES,
    DeviceSpec,
    Report,
    analyze,
    parse_device_spec,
    roofline,
)
from complexity.analyzer.roofline import op_time

from helpers import REPO, cli


def _load_models() -> Any:
    spec = importlib.util.spec_from_file_location(
        "memory_models", REPO / "benchmarks" / "memory_models.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["memory_models"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


models = _load_models()


# ------------------------------------------------------------------ the eager tracker


class LiveStorageTracker(TorchDispatchMode):
    """Peak bytes of live tensor storage in an eager forward, parameters and buffers apart.

    A storage is counted when an op's output first shows it and freed when its last
    reference goes (a weakref finalizer on the untyped storage); the inputs count from
    the start, as the caller holds them.
    """

    def __init__(self, model: nn.Module, inputs: tuple[Any, ...]) -> None:
        super().__init__()
        self._ignored = WeakIdKeyDictionary()
        for tensor in [*model.parameters(), *model.buffers()]:
            self._ignored[tensor.untyped_storage()] = True
        self._seen = WeakIdKeyDictionary()
        self.live = self.peak = 0
        for tensor in tree_leaves(inputs):
            if isinstance(tensor, torch.Tensor):
                self._add(tensor)

    def _free(self, size: int) -> None:
        self.live -= size

    def _add(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        if storage in self._ignored or storage in self._seen:
            return
        size = storage.nbytes()
        self._seen[storage] = size
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._free, size)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                self._add(tensor)
        return out


def eager_peak(model: nn.Module, inputs: tuple[Any, ...]) -> int:
    with torch.no_grad():
        tracker = LiveStorageTracker(model, inputs)
        with tracker:
            model(*inputs)
    return tracker.peak


def assert_peak_close(model: nn.Module, inputs: tuple[Any, ...]) -> None:
    ours = analyze(model, inputs).peak_activation_bytes
    measured = eager_peak(model, inputs)
    ratio = ours / measured
    print(f"peak activation: ours {ours} B, eager tracker {measured} B, ratio {ratio:.3f}")
    assert abs(ratio - 1) <= 0.10


# ------------------------------------------------------------------ parameter bytes


@pytest.mark.parametrize(
    ("dtype", "itemsize"), [(torch.float32, 4), (torch.float16, 2), (torch.bfloat16, 2)]
)
def test_param_bytes_exact_per_dtype(dtype: torch.dtype, itemsize: int) -> None:
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5)).to(dtype)
    report = analyze(model, torch.randn(3, 10, dtype=dtype))
    # (10*20 + 20) + (20*5 + 5) = 325 parameters
    assert report.total("param_bytes") == 325 * itemsize
    assert report.by_module("param_bytes")["0"] == 220 * itemsize
    assert report.to_dict()["totals"]["param_bytes"] == 325 * itemsize


def test_tied_weights_counted_once_and_buffers_apart() -> None:
    shape = models.LlamaShape(vocab=100, dim=32, layers=1, heads=4, kv_heads=2, hidden=64)
    tied = models.LlamaShape(**{**shape.__dict__, "tie_embeddings": True})
    model = models.LlamaDecoder(tied).to(torch.bfloat16).eval()
    report = analyze(model, (torch.randint(0, 100, (1, 8)),))
    head = 32 // 4
    layer = 32 * 4 * head + 2 * 32 * 2 * head + 4 * head * 32 + 3 * 32 * 64 + 2 * 32
    # embedding once (the lm_head shares it), one layer, the final norm; 2 bytes each
    assert report.total("param_bytes") == 2 * (100 * 32 + layer + 32)
    assert report.by_module("param_bytes")["layers.0.mlp"] == 2 * 3 * 32 * 64

    bn = nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8)).eval()
    report = analyze(bn, torch.randn(1, 3, 4, 4))
    assert report.total("param_bytes") == 4 * (3 * 8 + 8 + 8 + 8)
    # running_mean, running_var (fp32) and num_batches_tracked (int64): not parameters
    assert report.buffer_bytes == 4 * 8 + 4 * 8 + 8
    assert report.to_dict()["totals"]["buffer_bytes"] == 4 * 8 + 4 * 8 + 8


# ------------------------------------------------------------------ activation bytes, peak


class ViewsAndInPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x).relu_()  # in place: no new storage
        h = h.view(4, 2, 32).transpose(0, 1)  # views: none either
        return self.fc2(h.reshape(8, 32))  # a copy: the transposed view is not contiguous


def test_views_and_in_place_allocate_nothing_and_peak_by_hand() -> None:
    report = analyze(ViewsAndInPlace(), torch.randn(8, 16))
    x, h, copy, out = 8 * 16 * 4, 8 * 32 * 4, 8 * 32 * 4, 8 * 8 * 4
    # fc1 makes h; the reshape of the transposed view copies it; fc2 makes out
    assert report.total("activation_bytes") == h + copy + out
    assert report.by_module("activation_bytes") == {"": h + copy + out, "fc1": h, "fc2": out}
    # x is held by the caller throughout; h dies after the copy; the peak is at the copy
    assert report.peak_activation_bytes == x + h + copy
    assert report.peak_activation_at == ("aten::reshape", "")
    assert report.peak_by_module()["fc2"] == x + copy + out


class StaleLocals(nn.Module):
    """A loop whose locals outlive their last use, as Python keeps them."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ModuleList(nn.Linear(16, 64) for _ in range(2))
        self.down = nn.ModuleList(nn.Linear(64, 16) for _ in range(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for up, down in zip(self.up, self.down, strict=True):
            h = up(x)  # the name h keeps it until the next iteration assigns h again
            x = x + down(h)  # the old x goes when x is assigned again, here
        return x


def test_a_local_name_keeps_its_value_until_assigned_again() -> None:
    """Python frees a value when its name is assigned again or the forward returns."""
    x = torch.randn(8, 16)
    report = analyze(StaleLocals(), x)
    small, wide = 8 * 16 * 4, 8 * 64 * 4
    # second iteration's up(x): the input, x after the first iteration, the first h (its
    # name not yet assigned again) and the new h
    assert report.peak_activation_bytes == small + small + wide + wide
    assert report.peak_activation_at == ("aten::linear", "up.1")
    assert report.peak_activation_bytes == eager_peak(StaleLocals(), (x,))


class Chunked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.fc(x).chunk(2, dim=-1)  # views of fc's output: no new storage
        q, k, v = torch.stack((x, x, x)).unbind(0)  # views too
        return a * b + q * k * v


def test_split_chunk_and_unbind_are_views() -> None:
    x = torch.randn(8, 16)
    report = analyze(Chunked(), x)
    fc, small = 8 * 32 * 4, 8 * 16 * 4
    # fc's output, a*b, the stack, q*k, (q*k)*v, the sum: the chunks and unbinds add nothing
    assert report.total("activation_bytes") == fc + small + 3 * small + small + small + small
    assert report.peak_activation_bytes == eager_peak(Chunked(), (x,))


def test_peak_in_json_with_where_it_occurs() -> None:
    data = analyze(ViewsAndInPlace(), torch.randn(8, 16)).to_dict()
    expected = 8 * 16 * 4 + 2 * 8 * 32 * 4
    assert data["totals"]["peak_activation_bytes"] == expected
    assert data["peak_activation"]["op"] == "aten::reshape"
    assert data["peak_activation"]["input_bytes"] == 8 * 16 * 4
    fc2 = next(m for m in data["modules"] if m["name"] == "fc2")
    assert fc2["activation_bytes"] == 8 * 8 * 4
    assert fc2["param_bytes"] == (32 * 8 + 8) * 4


def test_activation_bytes_same_under_every_convention() -> None:
    model = ViewsAndInPlace()
    x = torch.randn(8, 16)
    fvcore, flops = analyze(model, x), analyze(model, x, convention="flops")
    for metric in ("param_bytes", "activation_bytes"):
        assert fvcore.by_module(metric) == flops.by_module(metric)
    assert fvcore.peak_activation_bytes == flops.peak_activation_bytes


@pytest.mark.slow
def test_peak_close_to_eager_tracker_fp16_conv_net() -> None:
    torch.manual_seed(0)
    model = models.small_conv_net().half().eval()
    assert_peak_close(model, (torch.randn(1, 3, 224, 224).half(),))


@pytest.mark.slow
def test_peak_close_to_eager_tracker_llama_decoder_512() -> None:
    torch.manual_seed(0)
    model = models.LlamaDecoder().eval()
    assert_peak_close(model, (torch.randint(0, 1000, (1, 512)),))


@pytest.mark.slow
def test_peak_close_to_eager_tracker_rtmdet_s_640(
    rtmdet_s: nn.Module, rtmdet_s_inputs: torch.Tensor, rtmdet_s_report: Report
) -> None:
    measured = eager_peak(rtmdet_s, (rtmdet_s_inputs,))
    ratio = rtmdet_s_report.peak_activation_bytes / measured
    print(f"RTMDet-s peak: ours {rtmdet_s_report.peak_activation_bytes} B, tracker {measured} B")
    assert abs(ratio - 1) <= 0.10


# ------------------------------------------------------------------ meta device


def test_meta_gives_the_memory_of_real_tensors() -> None:
    shape = models.LlamaShape(vocab=100, dim=32, layers=2, heads=4, kv_heads=2, hidden=64)
    torch.manual_seed(0)
    real = models.LlamaDecoder(shape).to(torch.float16).eval()
    with torch.device("meta"):
        meta = models.LlamaDecoder(shape).to(torch.float16).eval()
    ids = torch.randint(0, 100, (1, 16))
    on_cpu = analyze(real, ids, meta=False)
    on_meta = analyze(meta, ids.to("meta"))
    assert on_meta.by_module("param_bytes") == on_cpu.by_module("param_bytes")
    # gate, silu, up, product (16 x 64 each) and down (16 x 32), fp16
    assert on_meta.by_module("activation_bytes")["layers.0.mlp"] == 2 * 16 * (4 * 64 + 32)
    assert on_cpu.by_module("activation_bytes")["layers.0.mlp"] == 2 * 16 * (4 * 64 + 32)
    # Layouts follow the views, not a kernel's own strides, so both traces agree exactly.
    assert on_meta.by_module("activation_bytes") == on_cpu.by_module("activation_bytes")
    assert on_meta.peak_by_module() == on_cpu.peak_by_module()


@pytest.mark.slow
def test_llama_70b_shape_on_meta() -> None:
    with torch.device("meta"):
        model = models.LlamaDecoder(models.LLAMA_70B).to(torch.bfloat16).eval()
    report = analyze(model, (torch.zeros(1, 128, dtype=torch.long, device="meta"),))
    s = models.LLAMA_70B
    head = s.dim // s.heads
    layer = (
        s.dim * s.heads * head  # q
        + 2 * s.dim * s.kv_heads * head  # k, v
        + s.heads * head * s.dim  # o
        + 3 * s.dim * s.hidden  # gate, up, down
        + 2 * s.dim  # two RMSNorm weights
    )
    params = 2 * s.vocab * s.dim + s.layers * layer + s.dim  # untied embedding and head
    assert report.total("params") == params  # 70.55e9, Llama-3-70B's published 70B
    assert report.total("param_bytes") == 2 * params
    # the logits (1, 128, vocab) in bf16 are live at the end, with the final norm's input
    assert report.peak_activation_bytes >= 2 * 128 * s.vocab
    assert roofline(report, DEVICES["H100 SXM"]).seconds() > 0


# ------------------------------------------------------------------ roofline


CUSTOM = DeviceSpec(
    "test", fp32=1e12, tf32=1e12, bf16=1e12, fp16=1e12, bandwidth=1e11, source="test"
)


class MatMul(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.mm(a, b)


class Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


@pytest.mark.parametrize("convention", ["fvcore", "flops"])
def test_roofline_matmul_is_compute_bound(convention: str) -> None:
    n = 256
    a, b = torch.randn(n, n), torch.randn(n, n)
    result = roofline(analyze(MatMul(), (a, b), convention=convention), CUSTOM)
    flops = 2 * n**3  # real flops whatever the displayed convention (fvcore says n**3)
    moved = 3 * n * n * 4  # read a and b, write the product
    assert flops / 1e12 > moved / 1e11
    assert result.seconds() == pytest.approx(flops / 1e12)
    assert result.bound() == "compute"


def test_roofline_elementwise_add_is_memory_bound_on_h100() -> None:
    n = 1 << 20
    report = analyze(Add(), (torch.randn(n), torch.randn(n)))
    result = roofline(report, parse_device_spec("H100 SXM"))
    # two fp32 reads and one write at 3.35 TB/s (H100 SXM datasheet); 1 flop per element
    assert result.seconds() == pytest.approx(3 * n * 4 / 3.35e12)
    assert n / 67e12 < result.seconds()
    assert result.bound() == "memory"


def test_op_time_formula() -> None:
    assert op_time(2_000, 10, peak=1_000.0, bandwidth=100.0) == (2.0, "compute")
    assert op_time(10, 1_000, peak=1_000.0, bandwidth=100.0) == (10.0, "memory")


def test_device_table_and_custom_spec() -> None:
    assert set(DEVICES) == {"H100 SXM", "H200", "A100 80GB", "L4", "T4", "RTX 4090"}
    assert parse_device_spec("a100-80gb") is DEVICES["A100 80GB"]
    assert parse_device_spec("rtx4090") is DEVICES["RTX 4090"]
    spec = parse_device_spec("flops=989T,bandwidth=3.35T")
    assert (spec.fp32, spec.bf16, spec.bandwidth) == (989e12, 989e12, 3.35e12)
    with pytest.raises(ValueError, match="unknown device"):
        parse_device_spec("B300")
    with pytest.raises(ValueError, match="needs flops"):
        parse_device_spec("bandwidth=1T")


def test_fp16_matmul_uses_tensor_core_peak_and_t4_has_no_bf16() -> None:
    h100 = DEVICES["H100 SXM"]
    assert h100.peak(torch.float16, matmul=True) == 1979e12 / 2  # datasheet: with sparsity
    assert h100.peak(torch.float16, matmul=False) == 67e12
    assert DEVICES["T4"].peak(torch.bfloat16, matmul=True) == 8.1e12


# ------------------------------------------------------------------ CLI and scripts


@pytest.mark.slow
def test_gpu_benchmark_dry_run_prints_our_figures() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/gpu_memory_time.py", "--dry-run", "--cases", "llama-block"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "Llama-3-8B-shaped block" in result.stdout and "ms" in result.stdout


@pytest.mark.slow
def test_cli_memory_and_device_spec_columns_and_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = cli(capsys, "analyze", "examples/small_cnn.py")
    assert code == 0
    assert "param bytes" not in out and "Roofline" not in out

    target = tmp_path / "report.json"
    code, out, _ = cli(
        capsys,
        "analyze",
        "examples/small_cnn.py",
        "--memory",
        "--device-spec",
        "H100 SXM",
        "--json",
        str(target),
    )
    assert code == 0
    for text in ("param bytes", "peak activation", "roofline time", "KiB", "1 KiB = 1024 bytes"):
        assert text in out
    assert "lower bound" in out
    data = json.loads(target.read_text())
    # small_cnn: conv 3->16 (3x3, no bias), BN 16, conv 16->32, BN 32, linear 32->10
    params = 16 * 3 * 9 + 2 * 16 + 32 * 16 * 9 + 2 * 32 + 32 * 10 + 10
    assert data["totals"]["param_bytes"] == 4 * params
    assert data["totals"]["roofline_seconds"] > 0
    assert data["roofline"]["device"]["bandwidth_bytes_per_s"] == 3.35e12
    assert {"roofline_seconds", "bound", "peak_activation_bytes"} <= data["modules"][0].keys()

    code, out, err = cli(capsys, "analyze", "examples/small_cnn.py", "--device-spec", "flops=x")
    assert code == 2
    assert err.count("\n") == 1 and "--device-spec" in err and "Traceback" not in err


def test_binary_sizes_and_times() -> None:
    from complexity.render import format_bytes, format_seconds

    assert format_bytes(100) == "100 B"
    assert format_bytes(1536) == "1.50 KiB"
    assert format_bytes(3 * 2**30) == "3.00 GiB"
    assert format_seconds(0.0123) == "12.3 ms"
    assert format_seconds(4.5e-6) == "4.5 µs"


def test_memory_false_skips_the_memory_walk_and_says_so_when_asked() -> None:
    # A conv of 2 output channels on 1x1x4x4: 16 positions * 9 taps * 2 channels = 288
    # multiply-adds, 2 * 16 output elements, 2*9 + 2 parameters; no memory collected.
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1))
    report = analyze(model, torch.zeros(1, 1, 4, 4), memory=False)
    assert report.total("flops") == 288
    assert report.total("activations") == 32
    assert report.total("params") == 20
    assert report.memory is None
    assert "activation_bytes" not in report.totals()
    assert "peak_activation_bytes" not in report.totals()
    with pytest.raises(ValueError, match="memory=True"):
        report.total("activation_bytes")
    with pytest.raises(ValueError, match="memory=True"):
        report.to_dict()
    # The same analysis with memory: its output 2*16 floats is the one activation allocated.
    assert analyze(model, torch.zeros(1, 1, 4, 4)).total("activation_bytes") == 32 * 4
