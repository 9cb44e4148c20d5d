"""The backward of one training step (issue 19): `analyze(..., train_step=...)`, `--train-step`.

Expectations are independent of the analyzer: torch's FlopCounterMode counting a real
`loss.backward()` (loss = sum of the outputs) on CPU, side by side, or hand derivations
from shapes. FlopCounterMode counts 2 flops per multiply-add, so 2 x our `macs` equal it.
Its convolution_backward formula ignores groups for grad_weight (it counts `groups` times
the multiply-adds a grouped convolution's weight gradient does); where a model has grouped
convolutions, the expectation subtracts that surplus, measured by FlopCounterMode itself
on each grouped convolution's forward.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

from complexity.analyzer import TrainStep, analyze

from helpers import assert_one_line_error, cli
from helpers.handler_cases import Convs, Matmuls

# ------------------------------------------------------------------ FlopCounterMode side


def _grouped_conv_surplus(model: nn.Module, inputs: tuple[Any, ...]) -> int:
    """(groups - 1) x forward flops of each grouped conv whose weight trains."""
    seen: list[tuple[nn.Module, torch.Tensor]] = []
    hooks = [
        module.register_forward_hook(lambda m, args, out: seen.append((m, args[0].detach())))
        for module in model.modules()
        if isinstance(module, nn.modules.conv._ConvNd)
        and module.groups > 1
        and module.weight.requires_grad
    ]
    with torch.no_grad():
        model(*inputs)
    for hook in hooks:
        hook.remove()
    surplus = 0
    for module, x in seen:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(x)
        surplus += (module.groups - 1) * counter.get_total_flops()
    return surplus


def torch_step_flops(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[int, int]:
    """(forward, backward) flops FlopCounterMode counts for a real step, attention in math."""
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        outputs = model(*inputs)
        forward = counter.get_total_flops()
        loss = sum(t.sum() for t in tree_leaves(outputs) if t.requires_grad)
        loss.backward()
    backward = counter.get_total_flops() - forward
    return forward, backward - _grouped_conv_surplus(model, inputs)


def frozen(model: nn.Module, *prefixes: str) -> nn.Module:
    for name, parameter in model.named_parameters():
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            parameter.requires_grad_(False)
    return model


class Attention(nn.Module):
    """A transformer block's attention: qkv projection, sdpa (causal), output projection."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm(x)).view(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return x + self.proj(y.transpose(1, 2).reshape(b, n, d))


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(32, 8, 2, stride=2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    ).eval()


CASES = {
    "matmuls": (Matmuls, (torch.randn(2, 4, 6), torch.randn(3, 6), torch.randn(6)), ()),
    "convs": (
        Convs,
        (torch.randn(2, 3, 32), torch.randn(2, 3, 16, 16), torch.randn(1, 2, 4, 8, 8)),
        (),
    ),
    "attention": (Attention, (torch.randn(2, 7, 32),), ()),
    "cnn": (small_cnn, (torch.randn(2, 3, 32, 32),), ()),
    "matmuls-frozen-proj": (
        Matmuls,
        (torch.randn(2, 4, 6), torch.randn(3, 6), torch.randn(6)),
        ("proj",),
    ),
    "attention-frozen-qkv": (Attention, (torch.randn(2, 7, 32),), ("qkv", "norm")),
    "cnn-frozen-stem": (small_cnn, (torch.randn(2, 3, 32, 32),), ("0", "1", "3")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_twice_the_macs_equal_flop_counter_on_a_real_step(case: str) -> None:
    build, inputs, freeze = CASES[case]
    torch.manual_seed(0)
    model = build()
    report = analyze(model, inputs, convention="macs", train_step=TrainStep(freeze=freeze))
    forward, backward = torch_step_flops(frozen(model, *freeze), inputs)
    assert backward > 0
    assert report.uncounted_backward == ()
    assert 2 * report.total("flops") == forward
    assert 2 * report.total("backward_flops") == backward
    assert report.total("train_flops") == report.total("flops") + report.total("backward_flops")


@pytest.mark.slow
def test_rtmdet_s_step_equals_flop_counter(rtmdet: Any) -> None:
    model = rtmdet("s")
    inputs = (torch.randn(1, 3, 128, 128),)
    for freeze in ((), ("backbone",)):
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        report = analyze(model, inputs, convention="macs", train_step=TrainStep(freeze=freeze))
        forward, backward = torch_step_flops(frozen(model, *freeze), inputs)
        assert 2 * report.total("flops") == forward
        assert 2 * report.total("backward_flops") == backward
    for parameter in model.parameters():
        parameter.requires_grad_(True)


# ------------------------------------------------------------------ by hand


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)
    )


def test_frozen_except_the_head_costs_the_heads_weight_gradient_only() -> None:
    x = torch.randn(2, 8)
    head_only = analyze(mlp(), x, convention="macs", train_step=TrainStep(freeze=("0", "2")))
    # The head's input comes from frozen layers and an input that needs no gradient: only
    # dW = Gᵀ·X, 4 x 2 x 16 multiply-adds.
    assert head_only.total("backward_flops") == 4 * 2 * 16
    assert head_only.by_module("backward_flops")["4"] == 128
    assert head_only.trainable_params == 16 * 4 + 4
    # Unfreeze the middle layer: the head adds its input gradient (2 x 4 x 16) and the
    # middle layer its weight gradient (16 x 2 x 16); the middle layer's input needs none.
    two = analyze(mlp(), x, convention="macs", train_step=TrainStep(freeze=("0",)))
    assert two.total("backward_flops") == 128 + 128 + 512
    assert two.by_module("backward_flops") == {"": 768, "0": 0, "1": 0, "2": 512, "3": 0, "4": 256}


def test_a_frozen_glob_and_a_frozen_parameter_flag_agree() -> None:
    x = torch.randn(2, 8)
    by_glob = analyze(mlp(), x, convention="macs", train_step=TrainStep(freeze=("[02]",)))
    model = frozen(mlp(), "0", "2")
    by_flag = analyze(model, x, convention="macs", train_step=True)
    assert by_glob.total("backward_flops") == by_flag.total("backward_flops") == 128


def test_nothing_trainable_means_no_backward() -> None:
    report = analyze(mlp(), torch.randn(2, 8), convention="flops", train_step=TrainStep(("*",)))
    assert report.total("backward_flops") == 0
    assert report.trainable_params == 0


def test_flops_convention_prices_other_ops_at_their_forward_cost() -> None:
    # Linear(8, 16) then ReLU (1 flop per element) then Linear(16, 4), batch 2: backward =
    # 2 x (2*16*4) (head dX, dW) + 16*2 (relu) + 2 x 2*8*16 (first layer dW only).
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    report = analyze(model, torch.randn(2, 8), convention="flops", train_step=True)
    assert report.total("backward_flops") == 2 * 2 * 2 * 16 * 4 + 2 * 16 + 2 * 2 * 8 * 16


def test_an_op_without_a_backward_rule_is_reported_not_zero() -> None:
    from helpers import Double

    class Custom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return Double.apply(self.fc(x))

    report = analyze(Custom(), torch.randn(3, 4), convention="macs", train_step=True)
    (entry,) = report.uncounted_backward
    assert entry.op == "prim::PythonOp.Double"
    assert entry.count == 1
    assert entry.modules == {"": 1}


def test_detach_stops_the_gradient() -> None:
    class Detached(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(self.a(x).detach())

    report = analyze(Detached(), torch.randn(3, 4), convention="macs", train_step=True)
    assert report.by_module("backward_flops") == {"": 48, "a": 0, "b": 48}  # b's dW: 4*3*4


# ------------------------------------------------------------------ Llama closed form


@pytest.mark.slow
def test_llama_2_7b_train_step_macs_equal_the_closed_form() -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.AutoConfig.from_pretrained("examples/hf/llama-2-7b/config.json")
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    forward_of = model.forward
    model.forward = lambda ids: forward_of(input_ids=ids, use_cache=False, return_dict=False)
    tokens = 2048
    ids = torch.zeros(1, tokens, dtype=torch.int64, device="meta")
    report = analyze(model, (ids,), convention="macs", train_step=True)
    d, ff, layers, vocab = 4096, 11008, 32, 32000
    # Per token: q, k, v, o (4 d²) and gate, up, down (3 d·ff) per layer, and the lm_head
    # (d·V); per layer, attention's q·kᵀ and p·v over all T keys: 2·T·d per token.
    linears = layers * (4 * d * d + 3 * d * ff) + d * vocab
    forward = tokens * linears + layers * 2 * tokens * tokens * d
    # Everything trains: each product has two operands needing a gradient (the input ids
    # are not one, but the embedding's output is), so the backward is two products each.
    assert report.total("flops") == forward
    assert report.total("backward_flops") == 2 * forward
    assert report.total("train_flops") == 3 * forward


# ------------------------------------------------------------------ command line


def test_cli_train_step_section_and_json(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    out_json = tmp_path / "r.json"
    code, out, _ = cli(
        capsys,
        "analyze",
        "examples/small_cnn.py",
        "--train-step",
        "--freeze",
        "0",
        "--convention",
        "macs",
        "--json",
        str(out_json),
    )
    assert code == 0
    assert "Training step (loss = sum of the outputs)" in out
    assert "Trainable Parameters:" in out
    data = json.loads(out_json.read_text())
    # small_cnn: conv 16->32 3x3 s2 on 112x112 -> 56x56: 56*56*32*16*9 multiply-adds; its
    # weight trains and its input (after the frozen stem's BN, which trains) needs a
    # gradient; the stem conv (frozen, input image) does no backward; the head 32->10.
    conv2 = 56 * 56 * 32 * 16 * 9
    head = 32 * 10
    assert data["totals"]["backward_flops"] == 2 * conv2 + 2 * head
    assert data["totals"]["train_flops"] == data["totals"]["flops"] + 2 * conv2 + 2 * head
    assert data["train_step"]["freeze"] == ["0"]
    assert data["train_step"]["frozen_params"] == 16 * 3 * 9
    assert math.isclose(
        data["train_step"]["backward_to_forward"],
        2 * (conv2 + head) / (56 * 56 * 32 * 16 * 9 + 112 * 112 * 16 * 27 + head),
    )
    assert data["modules"][0]["backward_flops"] == data["totals"]["backward_flops"]


def test_html_report_has_the_training_section(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    pytest.importorskip("plotly")
    page = tmp_path / "r.html"
    code, _, _ = cli(
        capsys, "analyze", "examples/small_cnn.py", "--train-step", "--html", str(page)
    )
    assert code == 0
    text = page.read_text()
    assert "Training step (loss = sum of the outputs)" in text
    assert "Backward Flops:" in text


def test_cli_freeze_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "analyze", "examples/small_cnn.py", "--freeze", "0")
    assert_one_line_error(code, err, 2, "--freeze", "--train-step")
    code, _, err = cli(
        capsys, "analyze", "examples/small_cnn.py", "--train-step", "--freeze", "backbone"
    )
    assert_one_line_error(code, err, 2, "'backbone' names no parameter")


def test_cli_train_flops_budget(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(
        capsys, "analyze", "examples/small_cnn.py", "--train-step", "--max-train-flops", "1M"
    )
    assert code == 3
    assert "budget exceeded: train_flops" in out


def test_compare_and_sweep_carry_the_train_step(
    capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    # small_cnn at 32x32 under macs: stem conv 3->16 s2 (16x16 out), conv 16->32 s2 (8x8
    # out), head 32->10. Everything trains; the stem's input (the image) needs no gradient.
    stem, conv2, head = 16 * 16 * 16 * 27, 8 * 8 * 32 * 16 * 9, 32 * 10
    backward = stem + 2 * conv2 + 2 * head
    out = tmp_path / "c.json"
    args = ("--shape", "32", "--convention", "macs", "--train-step", "--json", str(out))
    code, _, _ = cli(capsys, "compare", "examples/small_cnn.py", "examples/small_cnn.py", *args)
    assert code == 0
    data = json.loads(out.read_text())
    assert data["a"]["totals"]["backward_flops"] == backward
    assert data["delta"]["totals"]["train_flops"]["a"] == data["a"]["totals"]["train_flops"]
    sweep = tmp_path / "s.json"
    code, _, _ = cli(
        capsys,
        "sweep",
        "examples/small_cnn.py",
        "--shapes",
        "32,64",
        "--convention",
        "macs",
        "--train-step",
        "--json",
        str(sweep),
    )
    assert code == 0
    points = json.loads(sweep.read_text())["points"]
    assert points[0]["totals"]["backward_flops"] == backward
    assert points[1]["totals"]["backward_flops"] == 4 * stem + 4 * 2 * conv2 + 2 * head


# ------------------------------------------------------------------ training memory


@pytest.mark.parametrize(
    ("optimizer", "amp", "state", "master"),
    [("sgd", False, 0, 0), ("momentum", False, 848, 0), ("adamw", False, 1696, 0),
     ("adam", True, 1696, 848)],
)  # fmt: skip
def test_training_memory_by_hand(optimizer: str, amp: bool, state: int, master: int) -> None:
    # Linear(8, 16), ReLU, Linear(16, 4) on x (2, 8), float32: (8*16 + 16) + (16*4 + 4) = 212
    # parameters = 848 B, as many gradient bytes; Adam keeps two moments (1696 B), momentum
    # one; --amp keeps them and a master copy in fp32 (parameters here are fp32 already).
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    step = TrainStep(optimizer=optimizer, amp=amp)
    memory = analyze(model, torch.randn(2, 8), train_step=step).train_memory
    assert memory is not None
    assert memory.param_bytes == memory.grad_bytes == 848
    assert memory.optimizer_state_bytes == state
    assert memory.master_weight_bytes == master
    # Saved: x (2*8*4 = 64 B) for the first weight's gradient; ReLU's result (2*16*4 = 128 B),
    # which the second linear keeps for its weight gradient too (one storage).
    assert memory.saved_activation_bytes == 64 + 128
    assert memory.live_at_backward_bytes == 192 + 2 * 4 * 4  # and the output
    # The step's largest transient here is the gradients (848 B).
    assert memory.peak_estimate == 848 + state + master + 848


def test_frozen_parameters_have_no_gradient_or_state() -> None:
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    report = analyze(model, torch.randn(2, 8), train_step=TrainStep(freeze=("0",)))
    memory = report.train_memory
    assert memory is not None
    assert memory.grad_bytes == (16 * 4 + 4) * 4
    assert memory.optimizer_state_bytes == 2 * (16 * 4 + 4) * 4
    # x needs no gradient and no layer before ReLU trains: only ReLU's result is kept.
    assert memory.saved_activation_bytes == 128


def test_optimizer_and_amp_need_a_train_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "analyze", "examples/small_cnn.py", "--optimizer", "sgd")
    assert_one_line_error(code, err, 2, "--optimizer", "--train-step")
    code, _, err = cli(
        capsys, "analyze", "examples/small_cnn.py", "--train-step", "--optimizer", "lion"
    )
    assert_one_line_error(code, err, 2, "unknown --optimizer 'lion'")


@pytest.mark.slow
@pytest.mark.parametrize("freeze", [(), ("patch", "blocks")])
def test_vit_training_step_memory_within_ten_percent_of_a_measured_step(
    freeze: tuple[str, ...],
) -> None:
    """The benchmark's ViT-style case (benchmarks/train_memory.py), measured on CPU by its
    storage tracker. Frozen, the forward's peak dominates the step: Python's local names in
    the blocks' loop (`x = x + ...`, `q, k, v = ...`) decide it."""
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(benchmarks))
    try:
        spec = importlib.util.spec_from_file_location(
            "train_memory", benchmarks / "train_memory.py"
        )
        bench = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(bench)  # type: ignore[union-attr]
    finally:
        sys.path.remove(str(benchmarks))
    torch.manual_seed(0)
    model, inputs = bench.ViT().train(), (torch.randn(2, 3, 224, 224),)
    memory = analyze(model, inputs, train_step=TrainStep(freeze=freeze)).train_memory
    assert memory is not None
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(not name.startswith(freeze) if freeze else True)
    measured = bench.measured_peak(model, inputs, "adamw")
    assert abs(memory.peak_estimate / measured - 1) <= 0.10
