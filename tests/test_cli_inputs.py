"""Inputs from the command line (`--input`, `--seq-len`, `--batch`, `--model-arg`) and
Hugging Face `config.json` targets.

Expectations are hand arithmetic from the shapes and the published architectures'
parameter counts (GPT-2 124,439,808; BERT-base 109,482,240; Llama-2 7B 6,738,415,616 and
70B 68,976,648,192, as their model cards and papers give them).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, cli

HF = "examples/hf"


def assert_one_line_error(code: int, err: str, *fragments: str, expected_code: int = 2) -> None:
    assert code == expected_code
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.py"
    path.write_text(
        "from torch import nn\n"
        "model = nn.Sequential(nn.Embedding(100, 16), nn.Linear(16, 8))\n"
        "input_shape = (1, 128)\n"
    )
    return path


def summary(out: str) -> dict[str, str]:
    return dict(
        line.split(": ", 1) for line in out.splitlines() if ": " in line and "│" not in line
    )


# --------------------------------------------------------------- --input, --seq-len, --batch


def test_input_with_dtype_feeds_token_ids(capsys, token_file: Path) -> None:
    code, out, _ = cli(
        capsys, "analyze", str(token_file), "--input", "1x128:int64", "--convention", "macs"
    )
    assert code == 0
    lines = summary(out)
    assert lines["Input shape"] == "torch.Size([1, 128]) int64"
    assert lines["Sequence length"] == "128"
    assert lines["Model MACs"] == "16.384K"  # 128 tokens * Linear(16, 8)
    assert lines["MACs per token"] == "0.128K"  # 16 * 8


def test_seq_len_and_batch_make_token_ids(capsys, token_file: Path) -> None:
    code, out, _ = cli(
        capsys, "analyze", str(token_file), "--seq-len", "32", "--batch", "4", "--json", "-"
    )
    assert code == 0
    data = json.loads(out)
    assert data["input_shapes"] == [[4, 32]]
    assert data["totals"]["flops"] == 4 * 32 * 16 * 8


def test_float_input_to_an_embedding_says_how_to_give_tokens(capsys, token_file: Path) -> None:
    code, _, err = cli(capsys, "analyze", str(token_file))
    assert_one_line_error(code, err, "'indices'", "--seq-len N or --input", expected_code=1)


def test_the_library_says_how_to_give_tokens_too(token_file: Path) -> None:
    """The hint is made where the inputs are known (targets), as a new error raised from
    the trace's: tools and benchmarks that call load_and_analyze get it as well."""
    from complexity.analyzer import AnalysisError
    from complexity.targets import TargetSpec, load_and_analyze

    with pytest.raises(AnalysisError) as caught:
        load_and_analyze(TargetSpec(str(token_file)), "fvcore", "auto")
    assert "--seq-len N or --input SHAPE:int64" in str(caught.value)
    assert isinstance(caught.value.__cause__, AnalysisError)
    assert "'indices'" in str(caught.value.__cause__)
    assert caught.value.module == caught.value.__cause__.module


def test_several_inputs_one_per_positional_argument(capsys, tmp_path: Path) -> None:
    path = tmp_path / "two.py"
    path.write_text(
        "import torch\nfrom torch import nn\n"
        "class Two(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a, self.b = nn.Linear(4, 6), nn.Linear(5, 6)\n"
        "    def forward(self, x, y):\n"
        "        return self.a(x) + self.b(y)\n"
        "model = Two\n"
    )
    code, out, _ = cli(
        capsys, "analyze", str(path), "--input", "2x4", "--input", "2x5:float32", "--json", "-"
    )
    assert code == 0
    data = json.loads(out)
    assert data["input_shapes"] == [[2, 4], [2, 5]]
    assert data["totals"]["flops"] == 2 * 4 * 6 + 2 * 5 * 6


def test_import_spec_defaults_to_a_224_image_and_takes_batch(capsys) -> None:
    code, out, _ = cli(
        capsys, "analyze", "examples.transformer:build", "--batch", "2", "--json", "-"
    )
    assert code == 0
    assert json.loads(out)["input_shapes"] == [[2, 3, 224, 224]]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--shape", "256"], ("--shape sets an image", "(1, 128)", "--seq-len")),
        (["--input", "1x16:int64", "--seq-len", "16"], ("--input gives whole shapes", "--seq-len")),
        (["--input", "1x16", "--shape", "32"], ("--input gives whole shapes", "--shape")),
        (["--shape", "32", "--seq-len", "16"], ("--shape sets an image size and --seq-len",)),
        (["--input", "1x16:complex"], ("unknown dtype 'complex'",)),
        (["--input", "1xa"], ("--input 1xa is not SHAPE[:DTYPE]",)),
        (["--seq-len", "0"], ("--seq-len 0 is not a positive integer",)),
        (["--model-arg", "vocab"], ("--model-arg 'vocab' is not KEY=VALUE",)),
        (["--model-arg", "n=1"], ("--model-arg needs", "a model already")),
    ],
    ids=[
        "shape-on-token-file",
        "input-and-seq-len",
        "input-and-shape",
        "shape-and-seq-len",
        "bad-dtype",
        "bad-shape",
        "zero-seq-len",
        "model-arg-no-value",
        "model-arg-on-instance",
    ],
)
def test_conflicting_or_bad_input_options(capsys, token_file: Path, args, fragments) -> None:
    code, _, err = cli(capsys, "analyze", str(token_file), *args)
    assert_one_line_error(code, err, *fragments)


def test_mmyolo_config_refuses_token_options(capsys) -> None:
    config = "configs/rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py"
    code, _, err = cli(capsys, "analyze", config, "--seq-len", "16")
    assert_one_line_error(code, err, "--seq-len does not apply", "--shape")


# --------------------------------------------------------------- --model-arg


def test_model_arg_reaches_the_factory_as_a_python_literal(capsys) -> None:
    code, out, _ = cli(
        capsys,
        "analyze",
        "examples.transformer:build",
        "--model-arg",
        "depth=1",
        "--model-arg",
        "dim=48",
        "--shape",
        "32",
        "--json",
        "-",
    )
    assert code == 0
    d = 48  # patch conv d*3*16*16 + d; one block: 2 LayerNorms 4d, attention in 3d*d + 3d,
    # out d*d + d, MLP d*4d + 4d + 4d*d + d; final LayerNorm 2d
    block = 4 * d + 3 * d * d + 3 * d + d * d + d + d * 4 * d + 4 * d + 4 * d * d + d
    params = d * 3 * 16 * 16 + d + block + 2 * d
    assert json.loads(out)["totals"]["params"] == params


def test_model_arg_the_factory_rejects_is_one_line(capsys) -> None:
    code, _, err = cli(capsys, "analyze", "examples.transformer:build", "--model-arg", "width=3")
    assert_one_line_error(code, err, "calling examples.transformer:build failed", "width")


# --------------------------------------------------------------- Hugging Face config.json

needs_hf = pytest.mark.skipif(
    importlib.util.find_spec("transformers") is None, reason='needs pip install -e ".[hf]"'
)


def gpt2_macs(tokens: int, layers: int = 12, dim: int = 768, vocab: int = 50257) -> int:
    """GPT-2 by hand: per layer c_attn (d x 3d), c_proj (d x d), MLP (d x 4d, 4d x d), then
    the tied LM head (d x vocab); attention q.k^T and p.v over every head (head_dim 64)."""
    per_token = layers * (dim * 3 * dim + dim * dim + 2 * dim * 4 * dim) + dim * vocab
    return tokens * per_token + layers * 2 * tokens * tokens * dim


@needs_hf
@pytest.mark.slow
def test_gpt2_config_macs_and_summary(capsys) -> None:
    code, out, _ = cli(
        capsys, "analyze", f"{HF}/gpt2/config.json", "--seq-len", "16", "--convention", "macs"
    )
    assert code == 0
    lines = summary(out)
    assert lines["Input shape"] == "input_ids [1, 16] int64, attention_mask [1, 16] int64"
    assert lines["Sequence length"] == "16"
    total = gpt2_macs(16)
    assert total == 1_981_231_104
    assert lines["Model MACs"] == "1.981G"
    # 123,826,944 per token; GPT-2's 124,439,808 parameters (tied head once) are all active
    assert lines["MACs per token"].startswith("0.124G (2 × active params = 0.249G;")
    assert lines["Active parameters per token"] == "0.124G (all of them)"
    assert "transformer.wte" in out  # HF's own module names
    assert "GPT2LMHeadModel built by transformers" in out and "meta device" in out
    code, out, _ = cli(
        capsys, "analyze", f"{HF}/gpt2", "--seq-len", "16", "--convention", "macs", "--json", "-"
    )
    assert code == 0  # the folder of a downloaded model works too
    assert json.loads(out)["totals"]["flops"] == total


@needs_hf
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "params", "model_type"),
    [
        ("gpt2", 124_439_808, "GPT2LMHeadModel"),
        ("bert-base", 109_482_240, "BertModel"),
        ("llama-2-7b", 6_738_415_616, "LlamaForCausalLM"),
        ("llama-2-70b", 68_976_648_192, "LlamaForCausalLM"),
    ],
)
def test_published_parameter_counts(capsys, name: str, params: int, model_type: str) -> None:
    code, out, _ = cli(
        capsys, "analyze", f"{HF}/{name}/config.json", "--seq-len", "8", "--json", "-"
    )
    assert code == 0
    data = json.loads(out)
    assert data["totals"]["params"] == params
    assert data["modules"][0]["type"] == model_type


@needs_hf
@pytest.mark.slow
def test_default_seq_len_is_shown_and_fvcore_points_to_macs_for_attention(capsys) -> None:
    code, out, _ = cli(capsys, "analyze", f"{HF}/bert-base/config.json", "--depth", "0")
    assert code == 0
    assert summary(out)["Sequence length"] == "512 (the default; set it with --seq-len)"
    assert "aten::scaled_dot_product_attention" in out  # uncounted under fvcore, as in fvcore
    assert "--convention macs counts attention as matmuls" in out


@needs_hf
@pytest.mark.slow
def test_model_arg_overrides_config_fields(capsys) -> None:
    code, out, _ = cli(
        capsys,
        "analyze",
        f"{HF}/llama-2-7b/config.json",
        "--model-arg",
        "num_hidden_layers=2",
        "--seq-len",
        "4",
        "--json",
        "-",
    )
    assert code == 0
    # embeddings and head 2 * 32000 * 4096; per layer 4 * 4096^2 + 3 * 4096 * 11008 + 2 * 4096
    layer = 4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096
    assert json.loads(out)["totals"]["params"] == 2 * 32000 * 4096 + 2 * layer + 4096


@needs_hf
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["--seq-len", "2048"],
            ("--seq-len 2048 is longer than the 1024 positions", "1024 or less"),
        ),
        (["--shape", "224"], ("--shape sets an image size", "--seq-len")),
        (["--input", "1x8:int64"], ("--input gives", "--input NAME=SHAPE[:DTYPE]")),
        (["--cfg-options", "a=1"], ("--cfg-options applies to MMYOLO", "--model-arg")),
        (["--model-arg", "n_bogus=1"], ("has no field 'n_bogus'",)),
    ],
    ids=["too-long", "shape", "input", "cfg-options", "unknown-field"],
)
def test_config_json_bad_options(capsys, args, fragments) -> None:
    code, _, err = cli(capsys, "analyze", f"{HF}/gpt2/config.json", *args)
    assert_one_line_error(code, err, *fragments)


def test_json_without_model_type_is_refused(capsys, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"hidden_size": 8}')
    code, _, err = cli(capsys, "analyze", str(path))
    assert_one_line_error(code, err, "has no `model_type`")
    path.write_text("{not json")
    code, _, err = cli(capsys, "analyze", str(path))
    assert_one_line_error(code, err, "cannot parse")


def test_without_transformers_the_error_names_the_extra(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers -> ImportError
    code, _, err = cli(capsys, "analyze", f"{HF}/gpt2/config.json")
    assert_one_line_error(code, err, "needs transformers", 'pip install -e ".[hf]"')


@needs_hf
@pytest.mark.slow
def test_llm_benchmark_smoke_run() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/bench_llm_configs.py", "--seq-len", "16", "--configs", "gpt2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "| `complexity analyze examples/hf/gpt2/config.json --seq-len 16` | 0 |" in result.stdout
    assert "| 0.124G |" in result.stdout  # 124,439,808 parameters


@needs_hf
@pytest.mark.slow
def test_device_cpu_builds_real_weights_with_the_same_counts(capsys) -> None:
    small = ["--model-arg", "n_layer=1", "--seq-len", "8", "--convention", "macs", "--json", "-"]
    target = f"{HF}/gpt2/config.json"
    totals = {}
    for device in ("meta", "cpu"):
        code, out, _ = cli(capsys, "analyze", target, "--device", device, *small)
        assert code == 0
        totals[device] = json.loads(out)["totals"]
    assert totals["cpu"] == totals["meta"]
    # one block: c_attn, c_proj, MLP over 8 tokens; head 8 * 768 * 50257; attention 2*8*8*768
    assert (
        totals["cpu"]["flops"]
        == 8 * (4 * 768 * 768 + 2 * 768 * 3072) + 8 * 768 * 50257 + 2 * 8 * 8 * 768
    )


@needs_hf
def test_device_cpu_refuses_weights_that_do_not_fit(capsys, monkeypatch) -> None:
    import os

    real = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda name: 1 if name == "SC_AVPHYS_PAGES" else real(name))
    code, _, err = cli(capsys, "analyze", f"{HF}/gpt2/config.json", "--device", "cpu")
    assert_one_line_error(code, err, "building GPT2LMHeadModel on cpu needs about", "--device auto")
