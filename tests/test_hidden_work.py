"""Work that used to hide: grouped (MoE expert) matmuls, on meta in any float dtype.

Expectations are multiply-adds written out from the shapes by hand, and a real float32
forward of the same model traced side by side with the meta trace.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
import torch

from complexity.analyzer import analyze

from helpers import as_module, cli, fvcore_flops, run

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


# --------------------------------------------------------------- uncounted work, shouted


UNET = "examples/unet_attention.py"
# examples/unet_attention.py: 4 heads of 32 over the 32 x 32 = 1024 pixels of a 64 x 64
# input after one stride-2 conv; q·kᵀ and p·v are 4 * 1024 * 1024 * 32 multiply-adds each.
UNET_ATTENTION_MACS = 2 * 4 * 1024 * 1024 * 32


def test_unet_attention_is_priced_ranked_first_and_shouted(capsys) -> None:
    code, out, err = cli(capsys, "analyze", UNET, "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    first = data["uncounted_ops"][0]
    assert first["op"] == "aten::scaled_dot_product_attention"
    assert (first["hidden"], first["cost"], first["cost_convention"]) == (
        True,
        UNET_ATTENTION_MACS,
        "macs",
    )
    assert first["would_be_flops"] == 2 * UNET_ATTENTION_MACS
    assert data["hidden_work"] == UNET_ATTENTION_MACS
    assert data["uncounted_share"] == UNET_ATTENTION_MACS / data["totals"]["flops"]
    # silu, add, ... are left out by fvcore's definition: listed, not shouted.
    assert all(not entry["hidden"] for entry in data["uncounted_ops"][1:])

    code, out, err = cli(capsys, "analyze", UNET)
    summary = out[out.rindex("Model Flops:") :].splitlines()
    assert summary[1].startswith(
        "attention (0.268G under --convention macs) is not counted by fvcore"
    )
    assert summary[1].endswith("; see below")
    table = out[out.index("Operators not counted") :].splitlines()
    assert "aten::scaled_dot_product_attention" in table[4] and "0.268G (macs)" in table[4]


def test_unet_counted_total_is_fvcores_own() -> None:
    # The share is taken against the total fvcore itself gives for the model.
    namespace = runpy.run_path(UNET)
    model, x = namespace["model"], torch.randn(namespace["input_shape"])
    report = analyze(model, x)
    assert report.total("flops") == fvcore_flops(model, x).total()
    assert report.uncounted_share == UNET_ATTENTION_MACS / report.total("flops")


def test_html_carries_the_warning(tmp_path, capsys) -> None:
    target = tmp_path / "unet.html"
    code, _, err = cli(capsys, "analyze", UNET, "--html", str(target))
    assert code == 0, err
    page = target.read_text()
    assert "attention (0.268G under --convention macs) is not counted by fvcore" in page
    assert "0.268G (macs)" in page


def test_llama_config_shouts_attention_first(capsys) -> None:
    # Llama-2-7B at 512 tokens, two of its layers: attention is 2 * 512^2 * 4096 MACs a
    # layer against 512 * 202M in its linears and 512 * 131M in the head: about 1.6%.
    code, out, err = cli(
        capsys,
        "analyze",
        "examples/hf/llama-2-7b/config.json",
        "--seq-len",
        "512",
        "--model-arg",
        "num_hidden_layers=2",
        "--json",
        "-",
    )
    assert code == 0, err
    data = json.loads(out)
    first = data["uncounted_ops"][0]
    assert first["op"] == "aten::scaled_dot_product_attention" and first["hidden"]
    assert first["cost"] == 2 * 2 * 512 * 512 * 4096
    assert 0.01 < data["uncounted_share"] < 0.02
    code, out, err = cli(
        capsys,
        "analyze",
        "examples/hf/llama-2-7b/config.json",
        "--seq-len",
        "512",
        "--model-arg",
        "num_hidden_layers=2",
    )
    summary = out[out.rindex("Model Flops:") :].splitlines()
    assert summary[1].startswith("attention (4.295G under --convention macs) is not counted by")


def test_rtmdet_has_no_hidden_work(rtmdet_s_report) -> None:
    # Its uncounted ops (silu, mul, add, hardsigmoid, max_pool2d) are left out by fvcore's
    # definition: priced for the ranking, but not hidden work, so nothing is shouted.
    assert rtmdet_s_report.hidden_work == 0 and rtmdet_s_report.uncounted_share == 0
    # By calls, as MMYOLO's own model runs them: silu 82, add 5, hardsigmoid 4, mul 4, pool 3.
    assert [e.op for e in rtmdet_s_report.uncounted] == [
        "aten::silu_",
        "aten::add",
        "aten::hardsigmoid_",
        "aten::mul",
        "aten::max_pool2d",
    ]


# --------------------------------------------------------------- the operator census

CENSUS_DOC = Path(__file__).resolve().parents[1] / "docs" / "conventions.md"


def census_rows() -> dict[str, str]:
    text = CENSUS_DOC.read_text(encoding="utf-8")
    table = text[text.index("<!-- census: tools/op_census.py -->") : text.index("<!-- /census -->")]
    return {line.split(" ", 2)[1]: line for line in table.splitlines() if line.startswith("| ")}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mixtral", "whisper", "clip", "gpt2"])
def test_census_rows_are_the_scripts_output(name: str) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "tools/op_census.py", "--only", name],
        cwd=CENSUS_DOC.parents[1],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    row = [line for line in result.stdout.splitlines() if line.startswith(f"| {name} ")]
    assert row == [census_rows()[name]]
    # Under --convention flops nothing is left uncounted (the last column).
    assert row[0].rstrip(" |").endswith("| -")


# --------------------------------------------------------------- units


def test_macs_are_called_macs_everywhere(capsys, tmp_path) -> None:
    # examples/small_cnn.py: convs 112²·16·27 + 56²·32·144 and a linear 32·10 = 19.87M MACs.
    target = tmp_path / "r.html"
    code, out, err = cli(
        capsys, "analyze", "examples/small_cnn.py", "--convention", "macs", "--by-operator",
        "--show-arch", "--html", str(target),
    )  # fmt: skip
    assert code == 0, err
    assert "#MACs" in out.splitlines()[1] and "#flops" not in out
    assert "MACs by operator" in out and "Model MACs: " in out and "Model Flops" not in out
    assert "#params: 5.47K, #MACs: 19.87M, #acts: 0.3M" in out
    page = target.read_text()
    assert "Model MACs" in page and "MACs by module" in page
    code, out, _ = cli(
        capsys, "analyze", "examples/small_cnn.py", "--convention", "macs", "--json", "-"
    )
    assert json.loads(out)["convention"]["unit"] == "MACs"
    code, out, _ = cli(capsys, "analyze", "examples/small_cnn.py", "--json", "-")
    assert json.loads(out)["convention"]["unit"] == "flops"


# --------------------------------------------------------------- train mode


def test_train_mode_is_stated() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    x = torch.randn(1, 3, 8, 8)
    trained = analyze(model, x)
    assert any("in train mode" in line for line in trained.footer_lines())
    # fvcore's batch_norm: 5 per element training (affine), 2 in eval; 4 x 6 x 6 outputs.
    assert trained.by_operator("flops")["batch_norm"] == 5 * 4 * 36
    inference = analyze(model.eval(), x)
    assert inference.notes == () and inference.by_operator("flops")["batch_norm"] == 2 * 4 * 36


def test_cli_analyses_in_eval_mode(capsys) -> None:
    code, out, err = cli(capsys, "analyze", "examples/small_cnn.py")
    assert code == 0, err
    assert "train mode" not in out


# --------------------------------------------------------------- Mixtral: active parameters

MIXTRAL = "examples/hf/mixtral-8x7b/config.json"
# Mixtral-8x7B (its config.json): hidden 4096, 32 query / 8 key-value heads of 128, experts
# of intermediate 14336 (gate, up, down), 8 of them, 2 per token, vocabulary 32000.
HIDDEN, HEAD, KV_HEADS, FFN, EXPERTS, TOP_K, VOCAB = 4096, 128, 8, 14336, 8, 2, 32000
ATTENTION_LINEAR = 2 * HIDDEN * HIDDEN + 2 * HIDDEN * KV_HEADS * HEAD  # q, o; k, v
EXPERT = 3 * HIDDEN * FFN
ROUTER = HIDDEN * EXPERTS


def mixtral_active_linear(layers: int) -> int:
    """Weights of the nn.Linear-like products one token goes through."""
    return layers * (ATTENTION_LINEAR + ROUTER + TOP_K * EXPERT) + HIDDEN * VOCAB


def mixtral_params(layers: int) -> int:
    """Every parameter: embeddings and head, attention, router, experts, two RMSNorms a
    layer and the final one."""
    per_layer = ATTENTION_LINEAR + ROUTER + EXPERTS * EXPERT + 2 * HIDDEN
    return 2 * VOCAB * HIDDEN + layers * per_layer + HIDDEN


def test_mixtral_active_parameters_two_layers(capsys) -> None:
    code, out, err = cli(
        capsys, "analyze", MIXTRAL, "--seq-len", "64", "--convention", "flops",
        "--model-arg", "num_hidden_layers=2",
    )  # fmt: skip
    assert code == 0, err
    lines = dict(line.split(": ", 1) for line in out.splitlines() if line.count(": ") == 1)
    total = mixtral_params(2)
    active = total - (EXPERTS - TOP_K) * 2 * EXPERT
    from complexity.render.formatting import format_size

    assert lines["Model Parameters"] == format_size(total)
    assert lines["Active parameters per token"] == (
        f"{format_size(active)} of {format_size(total)} (2 of 8 routed experts)"
    )
    assert f"(2 × active params = {format_size(2 * active)})" in lines["Flops per token"]


@pytest.mark.slow
def test_mixtral_8x7b_flops_are_two_per_active_weight_per_token(capsys) -> None:
    # The full model at 512 tokens, traced on meta: 2 * T * (active linear weights) plus
    # attention, 2 * 2 * 32 heads * T^2 * 128 a layer (torch's formula: causality ignored).
    tokens, layers = 512, 32
    code, out, err = cli(capsys, "analyze", MIXTRAL, "--seq-len", str(tokens),
                         "--convention", "flops", "--json", "-")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    expected = 2 * tokens * mixtral_active_linear(layers) + layers * 4 * 32 * tokens**2 * HEAD
    flops = data["totals"]["flops"]
    assert abs(flops - expected) / expected < 0.01, (flops, expected)
    assert data["totals"]["params"] == mixtral_params(layers)  # 46.7B, as Mistral publishes
    experts = {m["name"]: m["flops"] for m in data["modules"]}["model.layers.0.mlp.experts"]
    assert experts >= 2 * tokens * TOP_K * EXPERT
    # Mistral's "12.9B active parameters" (mistral.ai/news/mixtral-of-experts)
    active = mixtral_params(layers) - (EXPERTS - TOP_K) * layers * EXPERT
    assert round(active / 1e9, 1) == 12.9


# --------------------------------------------------------------- HF vision, encoder-decoder, speech

HF = "examples/hf"


def hf_json(capsys, config: str, *args: str) -> dict:
    code, out, err = cli(capsys, "analyze", f"{HF}/{config}/config.json", *args, "--json", "-")
    assert code == 0, err
    return json.loads(out)


def test_vit_config_takes_pixel_values_and_shape(capsys) -> None:
    data = hf_json(capsys, "vit-base-patch16-224", "--convention", "macs")
    assert data["input_shapes"] == [[1, 3, 224, 224]]
    # torchvision's vit_b_16 (same architecture) publishes num_params 86,567,656 with its
    # 1000-class head (768·1000 + 1000); HF's ViTModel has a pooler (768·768 + 768) instead.
    assert data["totals"]["params"] == 86_567_656 - 769_000 + 590_592
    # ... and 17.564 GFLOPS (multiply-adds) at 224, 55.484 at 384 (IMAGENET1K_SWAG_E2E_V1).
    assert round(data["totals"]["flops"] / 1e9, 3) == 17.564
    resized = hf_json(capsys, "vit-base-patch16-224", "--convention", "macs", "--shape", "384")
    assert resized["input_shapes"] == [[1, 3, 384, 384]]
    assert round(resized["totals"]["flops"] / 1e9, 3) == 55.484


def test_clip_t5_whisper_configs_build_with_their_inputs(capsys) -> None:
    # Published sizes: CLIP ViT-B/32 151,277,313 (OpenAI's checkpoint, "151M"); T5-small
    # 60,506,624 ("60 million", Raffel et al. Table 14 rounds it); Whisper-tiny 37,760,640
    # (the openai/whisper-tiny checkpoint, 37.8M).
    clip = hf_json(capsys, "clip-vit-base-patch32")
    assert clip["totals"]["params"] == 151_277_313
    assert clip["input_shapes"] == [[1, 77], [1, 77], [1, 3, 224, 224]]  # 77: its positions
    t5 = hf_json(capsys, "t5-small", "--seq-len", "64")
    assert t5["totals"]["params"] == 60_506_624
    assert t5["input_shapes"] == [[1, 64]] * 3  # input_ids, attention_mask, decoder_input_ids
    whisper = hf_json(capsys, "whisper-tiny", "--seq-len", "32")
    assert whisper["totals"]["params"] == 37_760_640
    # 80 log-mel bins x 3000 frames (30 s; the encoder's 1500 positions after its stride 2)
    assert whisper["input_shapes"] == [[1, 80, 3000], [1, 32]]


def test_hf_inputs_refused_in_one_line(capsys) -> None:
    from helpers import assert_one_line_error

    code, _, err = cli(
        capsys, "analyze", f"{HF}/vit-base-patch16-224/config.json", "--seq-len", "8"
    )
    assert_one_line_error(code, err, 2, "is an image model; use --shape H W")
    code, _, err = cli(capsys, "analyze", f"{HF}/gpt2/config.json", "--shape", "224")
    assert_one_line_error(code, err, 2, "is a token model")
    code, _, err = cli(capsys, "analyze", f"{HF}/gpt2/config.json", "--input", "1x8:int64")
    assert_one_line_error(code, err, 2, "--input NAME=SHAPE[:DTYPE]")
    code, _, err = cli(capsys, "analyze", f"{HF}/gpt2/config.json", "--input", "pixels=1x8")
    assert_one_line_error(code, err, 2, "has no argument 'pixels'")


# --------------------------------------------------------------- keyword inputs in the CLI


def test_named_input_sets_an_hf_keyword_input(capsys) -> None:
    data = hf_json(
        capsys, "llama-2-7b", "--model-arg", "num_hidden_layers=1", "--input",
        "attention_mask=1x128:int64",
    )  # fmt: skip
    assert data["input_shapes"] == [[1, 128], [1, 128]]  # input_ids follows the mask's length


def test_model_file_inputs_may_be_keywords(capsys, tmp_path) -> None:
    model = (
        "import torch\n"
        "from torch import nn\n"
        "class Masked(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.proj = nn.Linear(16, 8)\n"
        "    def forward(self, x, mask=None):\n"
        "        y = self.proj(x)\n"
        "        return y if mask is None else y * mask\n"
        "model = Masked()\n"
    )
    # linear 2·2·16·8 and the mask's multiply over (2, 8) under flops
    expected = 2 * 2 * 16 * 8 + 2 * 8
    for inputs in (
        'inputs = {"x": torch.randn(2, 16), "mask": torch.ones(2, 8)}\n',
        'inputs = ((torch.randn(2, 16),), {"mask": torch.ones(2, 8)})\n',
    ):
        path = tmp_path / "masked.py"
        path.write_text(model + inputs)
        code, out, err = cli(capsys, "analyze", str(path), "--convention", "flops", "--json", "-")
        assert code == 0, err
        assert json.loads(out)["totals"]["flops"] == expected
    path.write_text(model + "input_shape = (2, 16)\n")
    code, out, err = cli(
        capsys, "analyze", str(path), "--convention", "flops", "--input", "2x16",
        "--input", "mask=2x8", "--json", "-",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["flops"] == expected
    assert data["input_shapes"] == {"args": [[2, 16]], "kwargs": {"mask": [2, 8]}}
