"""The shape-only Meta kernels of meta traces (analyzer/meta_elementwise.py).

Each case runs the op on real CPU tensors (the reference: shape, dtype, strides) and on
meta tensors while our kernels are registered; both must agree. A fresh process analysing
a model on meta must not import torch._dynamo (it did: ~1 s on the first elementwise op).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from complexity.analyzer.meta import conv_meta_reroute

F = torch.nn.functional


def _cases() -> list[tuple[str, object]]:
    # Tensors are made inside each call, so that torch.device("meta") applies to them.
    def x() -> torch.Tensor:
        return torch.rand(2, 3, 4, 5)

    def half() -> torch.Tensor:
        return torch.rand(2, 3, 4, 5, dtype=torch.float16)

    def ints() -> torch.Tensor:
        return torch.ones(2, 3, dtype=torch.int64)

    return [
        ("add broadcast", lambda: x() + torch.rand(3, 1, 1)),
        ("add python int", lambda: x() + 1),
        ("add alpha", lambda: torch.add(x(), x(), alpha=2)),
        ("mul python float", lambda: x() * 0.5),
        ("sub", lambda: torch.rand(5) - x()),
        ("div", lambda: x() / torch.rand(1, 3, 1, 1)),
        ("div floor", lambda: torch.div(x(), 2.0, rounding_mode="floor")),
        ("mixed dtypes (torch's kernel)", lambda: half() + torch.rand(4, 5)),
        ("integers (torch's kernel)", lambda: ints() / 2),
        ("strided view (torch's kernel)", lambda: x().transpose(1, 3) * 2),
        ("comparison", lambda: x() > 0.5),
        ("comparison tensor", lambda: torch.eq(x(), torch.rand(5))),
        ("where", lambda: torch.where(x() > 0.5, x(), torch.rand(4, 5))),
        ("clamp", lambda: x().clamp(0, 1)),
        ("sigmoid", lambda: x().sigmoid()),
        ("hardsigmoid", lambda: F.hardsigmoid(x())),
        ("hardswish in place", lambda: F.hardswish(x().clone(), inplace=True)),
        ("silu", lambda: F.silu(x())),
        ("gelu tanh", lambda: F.gelu(x(), approximate="tanh")),
        ("cat", lambda: torch.cat([x(), x()[:, :1].contiguous()], dim=1)),
        ("cat last dim", lambda: torch.cat([x(), x()], dim=-1)),
        ("stack", lambda: torch.stack([x(), x()], dim=2)),
        ("mean keepdim", lambda: x().mean((2, 3), keepdim=True)),
        ("mean one dim", lambda: x().mean(-1)),
        ("sum all", lambda: x().sum(dim=[0, 1, 2, 3])),
        ("empty_like", lambda: torch.empty_like(x(), dtype=torch.float16)),
        ("half stays half", lambda: half() * 3),
        ("max_pool2d as SPPF", lambda: F.max_pool2d(x(), 5, 1, 2)),
        ("max_pool2d ceil indices", lambda: F.max_pool2d(x(), 3, 2, 1, 1, True, True)[1]),
        ("max_pool2d 3-d, stride omitted", lambda: F.max_pool2d(torch.rand(3, 7, 5), (2, 3))),
        ("max_pool2d dilated half", lambda: F.max_pool2d(half(), 2, 1, 1, dilation=2)),
        (
            "max_pool2d channels-last (torch's kernel)",
            lambda: F.max_pool2d(x().contiguous(memory_format=torch.channels_last), 2),
        ),
        ("upsample nearest", lambda: F.interpolate(x(), scale_factor=2.0)),
        ("upsample nearest-exact size", lambda: F.interpolate(x(), (7, 3), mode="nearest-exact")),
        (
            "upsample channels-last (torch's kernel)",
            lambda: F.interpolate(x().contiguous(memory_format=torch.channels_last), (8, 10)),
        ),
    ]


@pytest.mark.parametrize(("name", "make"), _cases(), ids=[name for name, _ in _cases()])
def test_meta_kernels_match_cpu(name: str, make) -> None:
    expected = make()
    # The same expression with every tensor it creates on meta, our kernels registered.
    with torch.device("meta"), conv_meta_reroute():
        got = make()
    assert got.device.type == "meta"
    assert (got.shape, got.dtype, got.stride()) == (
        expected.shape,
        expected.dtype,
        expected.stride(),
    )


def test_a_shape_mismatch_is_still_torchs_error() -> None:
    with torch.device("meta"), conv_meta_reroute(), pytest.raises(RuntimeError, match="broadcast"):
        torch.rand(2, 3) + torch.rand(4)
    with torch.device("meta"), conv_meta_reroute(), pytest.raises(RuntimeError, match="Sizes"):
        torch.cat([torch.rand(2, 3), torch.rand(2, 4)], dim=0)


def test_registrations_are_gone_after_the_trace() -> None:
    ops = ["aten::add.Tensor", "aten::cat", "aten::empty_like", "aten::convolution",
           "aten::max_pool2d_with_indices", "aten::upsample_nearest2d"]  # fmt: skip
    before = [torch._C._dispatch_dump(op) for op in ops]
    with conv_meta_reroute():
        during = [torch._C._dispatch_dump(op) for op in ops]
    assert during != before
    assert [torch._C._dispatch_dump(op) for op in ops] == before


def test_a_meta_analysis_imports_neither_torch_dynamo_nor_sympy() -> None:
    """torch's Python meta kernels for elementwise ops import torch._dynamo on first call;
    those of max_pool2d and upsample_nearest2d import sympy (through torch._check)."""
    script = textwrap.dedent(
        """
        import sys
        import torch
        from torch import nn
        from complexity.analyzer import analyze

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3, padding=1)
                self.norm = nn.BatchNorm2d(8)
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.max_pool = nn.MaxPool2d(5, 1, 2)
                self.upsample = nn.Upsample(scale_factor=2)

            def forward(self, x):
                y = nn.functional.silu(self.norm(self.conv(x)))
                y = y * torch.sigmoid(self.pool(y)) + 1
                y = self.upsample(self.max_pool(y))
                return torch.cat([y, y.clamp(0, 6)], dim=1).mean((2, 3))

        report = analyze(Block().eval(), torch.rand(1, 3, 32, 32), meta=True)
        assert report.traced_on == "meta", report.traced_on
        print("torch._dynamo" in sys.modules, "sympy" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False"
