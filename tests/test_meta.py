"""The meta path (issue #10): same numbers as a real trace, model untouched, conv reroute.

The parity guard runs every model of this test suite on both paths (meta=True and
meta=False) and asserts equal per-module numbers for every metric under both conventions:
a torch upgrade that breaks meta tracing fails here, loudly, instead of shifting numbers.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from complexity.analyzer import CONVENTIONS, METRICS, AnalysisError, Report, analyze
from complexity.analyzer.meta import conv_meta_reroute

from helpers import REPO
from helpers import handler_cases as flops_cases
from helpers import parity_models as parity

sys.path.insert(0, str(REPO / "examples"))


def conv_meta_kernel() -> str:
    """torch's dispatcher table for aten::convolution (names the Meta kernel's origin)."""
    return torch._C._dispatch_dump("aten::convolution")


def model_snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "state": {k: (v.clone(), v.device, v.dtype) for k, v in model.state_dict().items()},
        "objects": {k: id(v) for k, v in model.state_dict(keep_vars=True).items()},
        "hooks": [
            (
                name,
                list(m._forward_hooks),
                list(m._forward_pre_hooks),
                list(m._backward_hooks),
                m.training,
                sorted(k for k, v in vars(m).items() if not k.startswith("_")),
            )
            for name, m in model.named_modules()
        ],
    }


def assert_unchanged(model: nn.Module, before: dict[str, Any]) -> None:
    after = model_snapshot(model)
    assert after["objects"] == before["objects"]
    assert after["hooks"] == before["hooks"]
    for key, (value, device, dtype) in before["state"].items():
        now, now_device, now_dtype = after["state"][key]
        assert (now_device, now_dtype) == (device, dtype), key
        assert torch.equal(now, value), key  # bit-equal (no NaN in these models)


def both_paths(model: nn.Module, inputs: tuple[Any, ...], convention: str) -> tuple[Report, ...]:
    before = model_snapshot(model)
    on_meta = analyze(model, inputs, convention=convention, meta=True)
    assert_unchanged(model, before)
    real = analyze(model, inputs, convention=convention, meta=False)
    assert_unchanged(model, before)
    return on_meta, real


def assert_same_numbers(on_meta: Report, real: Report) -> None:
    assert (on_meta.traced_on, real.traced_on) == ("meta", "cpu")
    for metric in METRICS:
        assert on_meta.by_module(metric) == real.by_module(metric), metric
    for metric in ("flops", "activations"):
        assert on_meta.by_module_and_operator(metric) == real.by_module_and_operator(metric)
    assert on_meta.uncounted == real.uncounted
    assert on_meta.operator_calls == real.operator_calls
    assert on_meta.called == real.called


def _suite_models() -> list[Any]:
    cases = []
    for case_id, case in parity.CASES.items():
        cases.append(pytest.param(case.make, id=f"parity-{case_id}"))
    for param in (
        flops_cases.ELEMENTWISE
        + flops_cases.NORMS
        + flops_cases.POOLS
        + flops_cases.INTERPOLATION
        + flops_cases.RECURRENT
    ):
        model, shapes, _, _ = param.values

        def make(model: nn.Module = model, shapes: Any = shapes) -> tuple[nn.Module, Any]:
            if isinstance(shapes, torch.Tensor):
                return model, (shapes,)
            return model, tuple(torch.rand(s) for s in shapes)

        cases.append(pytest.param(make, id=f"handler-{param.id}"))
    cases.append(
        pytest.param(
            lambda: (flops_cases.SmallConvNet().eval(), (torch.randn(2, 3, 16, 16),)),
            id="small-convnet",
        )
    )
    cases.append(
        pytest.param(
            lambda: (flops_cases.TransformerBlock(), (torch.randn(2, 7, 16),)),
            id="transformer-block",
        )
    )
    return cases


@pytest.mark.parametrize("convention", list(CONVENTIONS))
@pytest.mark.parametrize("make", _suite_models())
def test_meta_and_real_paths_agree(make: Any, convention: str) -> None:
    model, inputs = make()
    assert_same_numbers(*both_paths(model, inputs, convention))


def _tiny_llama() -> Any:
    llama = importlib.import_module("llama")
    shape = llama.LlamaShape(dim=32, layers=2, heads=4, kv_heads=2, hidden=48, vocab=50)
    return llama.Llama(shape).eval(), (torch.randint(0, 50, (1, 9)),)


def _example(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    model = getattr(module, attribute)
    model = model() if not isinstance(model, nn.Module) else model
    return model.eval()


@pytest.mark.slow
@pytest.mark.parametrize("convention", list(CONVENTIONS))
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_tiny_llama, id="llama-gqa-tiny"),
        pytest.param(lambda: (_example("small_cnn:model"), (torch.rand(1, 3, 64, 64),)), id="cnn"),
        pytest.param(
            lambda: (_example("transformer:build"), (torch.rand(1, 3, 64, 64),)), id="vit"
        ),
    ],
)
def test_meta_and_real_paths_agree_on_examples(make: Any, convention: str) -> None:
    model, inputs = make()
    assert_same_numbers(*both_paths(model, inputs, convention))


@pytest.mark.slow
@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_meta_and_real_paths_agree_on_rtmdet(rtmdet: Any, convention: str) -> None:
    from complexity.zoo import example_inputs

    model = rtmdet("tiny")
    inputs = (example_inputs(model, (128, 128)),)  # parity does not depend on the size
    assert_same_numbers(*both_paths(model, inputs, convention))


# ----------------------------------------------------------------- default and fallback


class Conv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Masked(nn.Module):
    """Boolean-mask indexing: the output shape depends on values."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x).flatten(2).transpose(1, 2)[0]  # (positions, 4)
        keep = y[:, 0] > 0
        return self.head(y[keep])


def test_default_traces_on_meta_and_says_so() -> None:
    report = analyze(Conv(), torch.rand(1, 3, 8, 8))
    assert report.traced_on == "meta" and report.fallback_reason is None
    assert report.total("flops") == 4 * 3 * 9 * 36  # out channels x in x kernel x positions
    assert report.to_dict()["traced_on"] == {"device": "meta", "fallback_reason": None}
    assert "meta" in report.provenance


def test_value_dependent_forward_falls_back_to_a_real_trace_and_records_why() -> None:
    torch.manual_seed(0)
    model, x = Masked(), torch.rand(1, 3, 8, 8)
    before = model_snapshot(model)
    report = analyze(model, x)
    assert_unchanged(model, before)
    assert report.traced_on == "cpu"
    assert "nonzero" in report.fallback_reason and "the model itself" in report.fallback_reason
    with torch.no_grad():
        kept = int((model.conv(x).flatten(2).transpose(1, 2)[0][:, 0] > 0).sum())
    assert report.total("flops", "head") == kept * 4 * 2
    data = report.to_dict()["traced_on"]
    assert data["device"] == "cpu" and "nonzero" in data["fallback_reason"]
    assert "the meta trace needed values" in report.provenance


def test_meta_true_does_not_fall_back() -> None:
    with pytest.raises(AnalysisError, match="nonzero"):
        analyze(Masked(), torch.rand(1, 3, 8, 8), meta=True)


def test_model_already_on_meta_names_op_module_and_why() -> None:
    with torch.device("meta"):
        model = Masked()
    with pytest.raises(AnalysisError) as caught:
        analyze(model, torch.rand(1, 3, 8, 8))
    message = str(caught.value)
    assert "torch.nonzero" in message  # the op
    assert "forward failed in the model itself (Masked)" in message  # the module
    assert "the model is on the meta device" in message  # why
    assert caught.value.value_needed


def test_an_error_said_again_keeps_the_fields_it_was_made_with() -> None:
    """The meta-only explanation is a new error raised from the trace's own: module, shapes,
    value_needed and the short reason come from construction, not from patching."""
    with torch.device("meta"):
        model = Masked()
    with pytest.raises(AnalysisError) as caught:
        analyze(model, torch.rand(1, 3, 8, 8))
    said_again, original = caught.value, caught.value.__cause__
    assert isinstance(original, AnalysisError)
    assert "the model is on the meta device" not in str(original)
    assert original.value_needed and said_again.value_needed
    assert said_again.reason == original.reason
    assert "nonzero" in said_again.reason and "the model itself" in said_again.reason
    assert (said_again.module, said_again.input_shapes) == (
        original.module,
        original.input_shapes,
    )


def test_model_already_on_meta_is_traced_on_meta() -> None:
    with torch.device("meta"):
        model = Conv()
    report = analyze(model, torch.rand(1, 3, 8, 8))  # a real input is fine: swapped too
    assert report.traced_on == "meta"
    assert report.total("flops") == 4 * 3 * 9 * 36
    assert model.conv.weight.is_meta


def test_meta_false_refuses_a_model_without_values() -> None:
    with torch.device("meta"):
        model = Conv()
    with pytest.raises(AnalysisError, match="meta=False"):
        analyze(model, torch.rand(1, 3, 8, 8), meta=False)


def test_factory_calls_without_device_trace_on_meta() -> None:
    class Positions(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + torch.arange(x.shape[-1])  # no device=: must follow the trace

    report = analyze(Positions(), torch.rand(2, 5), convention="flops")
    assert report.traced_on == "meta"
    assert report.total("flops") == 10  # one add per output element


def test_a_meta_tensor_attribute_never_stays_on_the_model() -> None:
    class Caching(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.register_buffer("count", torch.zeros(()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.last = self.conv(x)
            self.count = self.count + 1
            return self.last

    model = Caching()
    before = model_snapshot(model)
    analyze(model, torch.rand(1, 3, 8, 8))
    assert_unchanged(model, before)
    assert not hasattr(model, "last")
    assert all(not t.is_meta for t in (*model.parameters(), *model.buffers()))


# ----------------------------------------------------------------- convolution reroute


def test_batch_norm_shape_kernel_is_active_only_during_the_trace() -> None:
    original = torch._C._dispatch_dump("aten::native_batch_norm")
    seen: list[str] = []

    class Spy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.BatchNorm2d(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(torch._C._dispatch_dump("aten::native_batch_norm"))
            return self.bn(x)

    for train in (False, True):
        model = Spy().train(train)
        before = model_snapshot(model)
        meta = analyze(model, torch.rand(2, 3, 8, 8), meta=True)
        real = analyze(model, torch.rand(2, 3, 8, 8), meta=False)
        assert_unchanged(model, before)
        # 2x3x8x8 = 384 elements; fvcore's batchnorm_flop_jit with an affine BN charges
        # 2 per element in eval and norm_flop_counter's 5 in training
        assert meta.total("flops") == real.total("flops") == 384 * (5 if train else 2)
    assert seen[0] != original  # our shape-only kernel during the trace
    assert torch._C._dispatch_dump("aten::native_batch_norm") == original
    # torch's own meta kernel works again outside a trace, training outputs included.
    out, mean, invstd = torch.ops.aten.native_batch_norm(
        torch.empty(2, 3, 4, 4, device="meta"), None, None, None, None, True, 0.1, 1e-5
    )
    assert out.shape == (2, 3, 4, 4) and mean.shape == invstd.shape == (3,)


def test_conv_reroute_is_active_only_during_the_trace() -> None:
    original = conv_meta_kernel()
    seen: list[str] = []

    class Spy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(conv_meta_kernel())
            return self.conv(x)

    report = analyze(Spy(), torch.rand(1, 3, 8, 8), meta=True)
    assert report.operator_calls == {"conv": 1}
    assert seen[0] != original  # our kernel during the trace
    assert conv_meta_kernel() == original  # torch's own afterwards
    # torch's meta kernel works again outside a trace.
    out = F.conv2d(torch.empty(1, 3, 8, 8, device="meta"), torch.empty(4, 3, 3, 3, device="meta"))
    assert out.shape == (1, 4, 6, 6)


def test_conv_reroute_is_removed_when_the_forward_raises() -> None:
    original = conv_meta_kernel()

    class Fails(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("boom")

    with pytest.raises(AnalysisError, match="boom"):
        analyze(Fails(), torch.rand(1, 3, 8, 8), meta=True)
    assert conv_meta_kernel() == original


def test_conv_reroute_shared_by_threads_and_removed_by_the_last() -> None:
    original = conv_meta_kernel()
    entered, release = threading.Barrier(2), threading.Event()
    states: list[str] = []

    def hold() -> None:
        with conv_meta_reroute():
            entered.wait()
            release.wait(5)
        states.append(conv_meta_kernel())

    worker = threading.Thread(target=hold)
    worker.start()
    with conv_meta_reroute():
        entered.wait()
    during = conv_meta_kernel()  # the worker still holds it
    release.set()
    worker.join()
    assert during != original
    assert states == [original] and conv_meta_kernel() == original


def test_channels_last_convolutions_agree_on_both_paths() -> None:
    class ChannelsLast(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.up(self.conv(x.contiguous(memory_format=torch.channels_last)))
            return y.permute(0, 2, 3, 1).reshape(-1, 4)  # a view only where strides allow

    model = ChannelsLast()
    meta = analyze(model, torch.rand(1, 3, 16, 16), meta=True)
    real = analyze(model, torch.rand(1, 3, 16, 16), meta=False)
    # conv: 8 out channels x 8x8 outputs x 3*3*3 = 13,824; transposed: 8*4*9 per input
    # pixel (8x8) = 18,432 multiply-adds
    assert meta.total("flops") == real.total("flops") == 13_824 + 18_432
    assert meta.by_module("activations") == real.by_module("activations")
    assert meta.peak_activation_bytes == real.peak_activation_bytes
