"""Work that used to hide: grouped (MoE expert) matmuls, on meta in any float dtype.

Expectations are multiply-adds written out from the shapes by hand, and a real float32
forward of the same model traced side by side with the meta trace.
"""

from __future__ import annotations

import pytest
import torch
from conftest import as_module, fvcore_flops, run

from complexity.analyzer import analyze

ROWS, K, N, GROUPS = 12, 16, 8, 4
OFFSETS = torch.tensor([3, 5, 9, 12], dtype=torch.int32)


def routed(x: torch.Tensor, experts: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return torch._grouped_mm(x, experts, offs=offsets)


@pytest.mark.parametrize(("convention", "per_mac"), [("macs", 1), ("flops", 2)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_grouped_mm_routed_rows(convention: str, per_mac: int, dtype: torch.dtype) -> None:
    # Each of the 12 rows goes through one expert's (16, 8) matrix: 12 * 16 * 8 MACs.
    x, experts = torch.randn(ROWS, K, dtype=dtype), torch.randn(GROUPS, K, N, dtype=dtype)
    report = run(routed, x, experts, OFFSETS, convention=convention)
    assert report.traced_on == "meta"
    assert report.total("flops") == per_mac * ROWS * K * N
    assert report.by_operator("flops") == {"grouped_mm": per_mac * ROWS * K * N}
    assert report.total("activations") == ROWS * N
    assert not report.uncounted


def test_grouped_mm_batched_and_weight_gradient_forms() -> None:
    # (G, M, K) @ (G, K, N) is a bmm: G*M*K*N.  (M, K) @ (K, N) with K split in G groups
    # (the expert weights' gradient): M*K*N over all groups.
    a3, b3 = torch.randn(GROUPS, 5, K), torch.randn(GROUPS, K, N)
    assert run(torch._grouped_mm, a3, b3, convention="macs").total("flops") == GROUPS * 5 * K * N
    a2, b2 = torch.randn(5, ROWS), torch.randn(ROWS, N)
    report = run(routed, a2, b2, OFFSETS, convention="macs")
    assert report.total("flops") == 5 * ROWS * N


def test_meta_and_real_float32_traces_agree() -> None:
    # torch's meta kernel insists on bfloat16 (the CUDA kernel's rule); the CPU kernel that a
    # real forward runs takes float32, and so does our meta trace now.
    x, experts = torch.randn(ROWS, K), torch.randn(GROUPS, K, N)
    module_inputs = (x, experts, OFFSETS)
    model = as_module(routed)
    on_meta = analyze(model, module_inputs, convention="flops", meta=True)
    real = analyze(model, module_inputs, convention="flops", meta=False)
    assert (on_meta.traced_on, real.traced_on) == ("meta", "cpu")
    assert on_meta.total("flops") == real.total("flops") == 2 * ROWS * K * N


def test_fvcore_leaves_grouped_mm_uncounted_as_fvcore_does() -> None:
    # fvcore's own table has no _grouped_mm; the fvcore convention stays fvcore's.
    x, experts = torch.randn(ROWS, K), torch.randn(GROUPS, K, N)
    oracle = fvcore_flops(routed, x, experts, OFFSETS)
    assert oracle.total() == 0
    assert "aten::_grouped_mm" in oracle.unsupported_ops()
    report = run(routed, x, experts, OFFSETS)
    assert report.total("flops") == 0
    assert report.unsupported_ops == {"aten::_grouped_mm": 1}


# --------------------------------------------------------------- keyword inputs


class Masked(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(8, 4)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, scale: float = 1.0
    ) -> torch.Tensor:
        y = self.proj(x) * scale
        return y if mask is None else y * mask


@pytest.mark.parametrize("meta", [True, False])
def test_analyze_takes_keyword_inputs(meta: bool) -> None:
    x, mask = torch.randn(2, 8), torch.ones(2, 4)
    report = analyze(
        Masked(), (x,), kwargs={"mask": mask, "scale": 2.0}, convention="flops", meta=meta
    )
    # linear 2*2*8*4; two multiplies over the (2, 4) output: by the scale, by the mask.
    assert report.by_operator("flops") == {"linear": 2 * 2 * 8 * 4, "mul": 2 * 8}
    assert report.input_shapes == {"args": [[2, 8]], "kwargs": {"mask": [2, 4], "scale": "float"}}
    keywords_only = analyze(Masked(), (), kwargs={"x": x}, convention="flops", meta=meta)
    assert keywords_only.by_operator("flops") == {"linear": 2 * 2 * 8 * 4, "mul": 8}
