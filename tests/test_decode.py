"""`--decode`: one decode step with a KV cache, beside the prefill (issue #20).

Every expected number is derived by hand from the published configs in examples/hf/:
KV bytes = 2 · layers · kv_heads · head_dim · tokens · batch · bytes per element, and the
decode step's multiply-adds = batch · (Σ in·out of every Linear + layers · 2 · heads ·
(N + 1) · head_dim): q·kᵀ and p·v over the N cached positions and the new token itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import REPO, assert_one_line_error, cli

HF = REPO / "examples" / "hf"
LLAMA_7B = str(HF / "llama-2-7b" / "config.json")
LLAMA_70B = str(HF / "llama-2-70b" / "config.json")
MISTRAL = str(HF / "mistral-7b" / "config.json")
MIXTRAL = str(HF / "mixtral-8x7b" / "config.json")
FALCON = str(HF / "falcon-7b" / "config.json")
FP16 = BF16 = 2  # bytes per element


def decode_json(capsys: pytest.CaptureFixture[str], target: str, *options: str) -> Any:
    code, out, err = cli(capsys, "analyze", target, "--decode", *options, "--json", "-")
    assert code == 0, err
    return json.loads(out)


def kv_bytes(layers: int, kv_heads: int, head_dim: int, tokens: int, batch: int, size: int) -> int:
    return 2 * layers * kv_heads * head_dim * tokens * batch * size


def llama_linear_macs(layers: int, dim: int, kv_dim: int, hidden: int, vocab: int) -> int:
    """Σ in·out of every Linear: q, k, v, o, gate, up, down per layer, and the LM head."""
    per_layer = 2 * dim * dim + 2 * dim * kv_dim + 3 * dim * hidden
    return layers * per_layer + dim * vocab


# ----------------------------------------------------------------- KV cache bytes


def test_kv_cache_of_llama_2_7b_two_layers(capsys: pytest.CaptureFixture[str]) -> None:
    data = decode_json(
        capsys, LLAMA_7B, "--context", "1000", "--batch", "3", "--seq-len", "8",
        "--model-arg", "num_hidden_layers=2",
    )  # fmt: skip
    expected = kv_bytes(2, 32, 128, 1000, 3, FP16)
    assert data["totals"]["kv_cache_bytes"] == expected
    kv = data["serving"]["kv_cache"]
    assert kv["bytes"] == expected
    assert kv["bytes_per_token"] == kv_bytes(2, 32, 128, 1, 1, FP16)
    # The step reads the N cached tokens and the new one; it writes the new one.
    assert data["totals"]["kv_bytes_read"] == kv_bytes(2, 32, 128, 1001, 3, FP16)
    assert data["totals"]["kv_bytes_written"] == kv_bytes(2, 32, 128, 1, 3, FP16)
    # The cache is not an activation: the step's activations are those of one token.
    assert data["totals"]["peak_activation_bytes"] < expected / 100


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "layers", "kv_heads", "context", "held"),
    [
        (LLAMA_7B, 32, 32, 4000, 4000),  # MHA
        (LLAMA_70B, 80, 8, 4000, 4000),  # GQA: 8 KV heads for 64 query heads
        (MISTRAL, 32, 8, 8192, 4096),  # GQA and a 4096-token sliding window
        (MISTRAL, 32, 8, 3000, 3000),
    ],
)
def test_kv_cache_bytes_equal_the_closed_form(
    capsys: pytest.CaptureFixture[str],
    target: str,
    layers: int,
    kv_heads: int,
    context: int,
    held: int,
) -> None:
    data = decode_json(capsys, target, "--context", str(context), "--batch", "2", "--seq-len", "8")
    assert data["totals"]["kv_cache_bytes"] == kv_bytes(layers, kv_heads, 128, held, 2, FP16)


def test_sliding_window_cache_stops_growing_at_the_window(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Mistral's 4096-token window, on two layers: the step attends to the window's tokens.
    data = decode_json(
        capsys, MISTRAL, "--context", "8192", "--seq-len", "8", "--model-arg", "num_hidden_layers=2"
    )
    assert data["totals"]["kv_cache_bytes"] == kv_bytes(2, 8, 128, 4096, 1, BF16)
    assert data["totals"]["kv_bytes_read"] == kv_bytes(2, 8, 128, 4096, 1, BF16)
    assert data["serving"]["kv_cache"]["sliding_windows"] == [4096]


def test_multi_query_attention_caches_one_head(capsys: pytest.CaptureFixture[str]) -> None:
    # Falcon-7B: 71 query heads of 64 share one key/value head (multi_query).
    data = decode_json(
        capsys, FALCON, "--context", "2000", "--seq-len", "8", "--model-arg", "num_hidden_layers=2"
    )
    assert data["totals"]["kv_cache_bytes"] == kv_bytes(2, 1, 64, 2000, 1, BF16)


def test_kv_dtype_sets_the_bytes_per_element(capsys: pytest.CaptureFixture[str]) -> None:
    data = decode_json(
        capsys, LLAMA_7B, "--context", "512", "--seq-len", "8", "--kv-dtype", "float8_e4m3fn",
        "--model-arg", "num_hidden_layers=2",
    )  # fmt: skip
    assert data["totals"]["kv_cache_bytes"] == kv_bytes(2, 32, 128, 512, 1, 1)
    assert data["totals"]["kv_bytes_read"] == kv_bytes(2, 32, 128, 513, 1, 1)


# ----------------------------------------------------------------- flops


def test_decode_macs_of_llama_two_layers(capsys: pytest.CaptureFixture[str]) -> None:
    layers, batch, context = 2, 3, 700
    data = decode_json(
        capsys, LLAMA_7B, "--context", str(context), "--batch", str(batch), "--seq-len", "8",
        "--convention", "macs", "--model-arg", f"num_hidden_layers={layers}",
    )  # fmt: skip
    attention = layers * 2 * 32 * (context + 1) * 128
    linear = llama_linear_macs(layers, 4096, 4096, 11008, 32000)
    assert data["totals"]["flops"] == batch * (linear + attention)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "layers", "dim", "kv_dim", "hidden", "heads"),
    [(LLAMA_7B, 32, 4096, 4096, 11008, 32), (LLAMA_70B, 80, 8192, 1024, 28672, 64)],
)
def test_decode_macs_equal_the_closed_form(
    capsys: pytest.CaptureFixture[str],
    target: str,
    layers: int,
    dim: int,
    kv_dim: int,
    hidden: int,
    heads: int,
) -> None:
    batch, context = 2, 3000
    data = decode_json(
        capsys, target, "--context", str(context), "--batch", str(batch), "--seq-len", "8",
        "--convention", "macs",
    )  # fmt: skip
    attention = layers * 2 * heads * (context + 1) * 128
    linear = llama_linear_macs(layers, dim, kv_dim, hidden, 32000)
    assert data["totals"]["flops"] == batch * (linear + attention)


def test_mixtral_counts_the_routed_top_2_experts(capsys: pytest.CaptureFixture[str]) -> None:
    layers, batch = 2, 3
    data = decode_json(
        capsys, MIXTRAL, "--context", "256", "--seq-len", "8", "--batch", str(batch),
        "--convention", "macs", "--model-arg", f"num_hidden_layers={layers}",
    )  # fmt: skip
    # Each token's 2 experts: gate and up (4096 -> 2 · 14336), down (14336 -> 4096).
    experts = batch * layers * 2 * (4096 * 2 * 14336 + 14336 * 4096)
    assert data["modules"][0]["flops_by_operator"]["bmm"] == experts
    assert any("top-2 of 8 experts" in note for note in data["serving"]["notes"])


# ----------------------------------------------------------------- roofline


@pytest.mark.slow
def test_llama_7b_decode_is_memory_bound_at_weights_plus_kv_over_bandwidth(
    capsys: pytest.CaptureFixture[str],
) -> None:
    context, bandwidth = 4000, 3.35e12  # H100 SXM datasheet
    data = decode_json(
        capsys, LLAMA_7B, "--context", str(context), "--seq-len", "8", "--device-spec", "H100 SXM"
    )
    params = 6_738_415_616  # published Llama-2-7B size
    # Weights a step reads: all of them, but only the new token's row of the embedding.
    weights = FP16 * (params - 32000 * 4096 + 4096)
    assert data["totals"]["weight_bytes_read"] == weights
    cache = kv_bytes(32, 32, 128, context, 1, FP16)
    decode = data["serving"]["decode"]
    assert decode["bound"] == "memory"
    assert decode["seconds_per_step"] == pytest.approx((weights + cache) / bandwidth, rel=0.01)
    assert decode["tokens_per_second"] == pytest.approx(1 / decode["seconds_per_step"])
    assert data["totals"]["roofline_seconds"] == decode["seconds_per_step"]
    # What fits 80 GB beside the weights: whole sequences of `context` tokens.
    free = 80e9 - FP16 * params
    assert data["serving"]["fit"]["max_batch_at_context"] == int(free // cache)


def test_decode_step_bytes_per_module(capsys: pytest.CaptureFixture[str]) -> None:
    data = decode_json(
        capsys, LLAMA_7B, "--context", "100", "--seq-len", "8", "--device-spec", "H100 SXM",
        "--model-arg", "num_hidden_layers=1",
    )  # fmt: skip
    modules = {m["name"]: m for m in data["modules"]}
    q_proj = modules["model.layers.0.self_attn.q_proj"]
    assert q_proj["weight_bytes_read"] == 4096 * 4096 * FP16
    assert q_proj["bytes_written"] == 4096 * FP16  # one token's query
    assert q_proj["bound"] == "memory"
    attention = modules["model.layers.0.self_attn"]
    assert attention["kv_bytes_read"] == kv_bytes(1, 32, 128, 101, 1, FP16)
    assert attention["kv_bytes_written"] == kv_bytes(1, 32, 128, 1, 1, FP16)
    assert modules["lm_head"]["kv_bytes_read"] == 0


# ----------------------------------------------------------------- prefill, summary


def test_prefill_beside_decode_is_the_plain_analysis(capsys: pytest.CaptureFixture[str]) -> None:
    layers, tokens = 2, 64
    linear = llama_linear_macs(layers, 4096, 4096, 11008, 32000)
    model_arg = ("--model-arg", f"num_hidden_layers={layers}")
    code, out, err = cli(
        capsys, "analyze", LLAMA_7B, "--seq-len", str(tokens), *model_arg, "--json", "-"
    )
    assert code == 0, err
    plain = json.loads(out)
    assert plain["totals"]["flops"] == tokens * linear  # fvcore: linear layers only
    assert "kv_cache_bytes" not in plain["totals"] and "serving" not in plain
    data = decode_json(capsys, LLAMA_7B, "--context", "100", "--seq-len", str(tokens), *model_arg)
    assert data["serving"]["prefill"]["flops"] == tokens * linear
    assert data["serving"]["prefill"]["seq_len"] == tokens


def test_summary_shows_prefill_and_decode(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys, "analyze", LLAMA_7B, "--decode", "--context", "1024", "--seq-len", "16",
        "--device-spec", "A100 80GB", "--model-arg", "num_hidden_layers=2", "--depth", "1",
    )  # fmt: skip
    assert code == 0, err
    for text in (
        "prefill (1 × 16 tokens)",
        "decode (1 token, cache 1024)",
        "to first token",
        "memory-bound",
        "tokens/s",
        "KV cache (float16): 32.00 KiB per token",  # 2·2·32·128·2 bytes
        "KV read",
        "Fits A100 80GB",
    ):
        assert text in out, text


# ----------------------------------------------------------------- sweep, compare


def test_sweep_contexts_decode(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page = tmp_path / "sweep.html"
    code, out, err = cli(
        capsys, "sweep", MISTRAL, "--decode", "--contexts", "512,2048", "--json", "-",
        "--model-arg", "num_hidden_layers=2", "--model-arg", "sliding_window=1024",
        "--html", str(page),
    )  # fmt: skip
    assert code == 0, err
    assert "<th>KV cache</th>" in page.read_text(encoding="utf-8")
    points = json.loads(out)["points"]
    assert [p["axis"] for p in points] == ["context", "context"]
    assert [p["totals"]["kv_cache_bytes"] for p in points] == [
        kv_bytes(2, 8, 128, 512, 1, BF16),
        kv_bytes(2, 8, 128, 1024, 1, BF16),  # the window, not 2048
    ]


@pytest.mark.slow
def test_compare_decode(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page = tmp_path / "compare.html"
    code, out, err = cli(
        capsys, "compare", LLAMA_7B, MISTRAL, "--decode", "--context", "300", "--json", "-",
        "--html", str(page),
    )  # fmt: skip
    assert code == 0, err
    assert "B: serving" in page.read_text(encoding="utf-8")
    data = json.loads(out)
    assert data["a"]["totals"]["kv_cache_bytes"] == kv_bytes(32, 32, 128, 300, 1, FP16)
    assert data["b"]["totals"]["kv_cache_bytes"] == kv_bytes(32, 8, 128, 300, 1, BF16)


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["analyze", LLAMA_7B, "--context", "10"], "add --decode"),
        (["analyze", str(REPO / "examples/tiny_lm.py"), "--decode"], "config.json"),
        (["analyze", LLAMA_7B, "--decode", "--kv-dtype", "fp4"], "unknown --kv-dtype"),
        (["analyze", LLAMA_7B, "--decode", "--device", "cpu"], "traces on meta"),
        (["sweep", LLAMA_7B, "--contexts", "512"], "--decode and --contexts"),
    ],
)
def test_bad_decode_options_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, _, err = cli(capsys, *argv)
    assert_one_line_error(code, err, 2, fragment)


@pytest.mark.parametrize("context", ["4096", "8000"])  # Llama-2 has 4096 positions
def test_context_beyond_the_positions_is_one_line(
    capsys: pytest.CaptureFixture[str], context: str
) -> None:
    code, _, err = cli(
        capsys, "analyze", LLAMA_7B, "--decode", "--context", context,
        "--model-arg", "num_hidden_layers=1",
    )  # fmt: skip
    assert_one_line_error(code, err, 2, f"--context {context}", "4096", "no position")


def test_html_carries_the_serving_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "decode.html"
    code, _, err = cli(
        capsys, "analyze", LLAMA_7B, "--decode", "--context", "100", "--seq-len", "8",
        "--device-spec", "H200", "--model-arg", "num_hidden_layers=1", "--html", str(page),
    )  # fmt: skip
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    assert "Serving: prefill and decode" in text
    assert "KV written" in text and "to first token" in text


def test_fit_beside_the_weights_and_the_position_limit(capsys: pytest.CaptureFixture[str]) -> None:
    # GPT-2 fp32 on a T4 (16 GB): 124,439,808 parameters (tied head once), 12 layers of
    # 12 heads × 64, 1024 positions.
    data = decode_json(
        capsys, str(HF / "gpt2" / "config.json"), "--context", "512", "--seq-len", "16",
        "--device-spec", "T4",
    )  # fmt: skip
    weights = 124_439_808 * 4
    cache = kv_bytes(12, 12, 64, 512, 1, 4)
    fit = data["serving"]["fit"]
    assert fit["memory_bytes"] == 16e9
    assert fit["max_batch_at_context"] == int((16e9 - weights) // cache)
    assert fit["max_context_at_batch"] == 1024  # memory would hold far more
    assert fit["max_context_is_the_position_limit"] is True
