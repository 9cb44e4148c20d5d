"""Operator census of the Hugging Face architectures transformers ships, built on meta.

    python tools/op_census.py                   # every architecture, the Markdown table
    python tools/op_census.py --only llama vit  # some of them

Each architecture is built by transformers from a config written here from the published
model's own config.json (the model named beside it; no download), with 2 layers (blocks
per stage for Swin) so that it builds and traces in seconds: per-layer op shares are those
of the full model, the embeddings' and heads' a little larger. It is analysed once per
convention on the meta device, and every operator left uncounted is listed with its share:
its count under `--convention flops` (`UncountedOp.would_be_flops`) over the model's
`flops` total. `-` is nothing uncounted; ops free under `flops` (views) never appear.
The table in docs/conventions.md ("Operator census") is this script's output.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

import torch

from complexity.analyzer import CONVENTIONS, AnalysisError, Report, analyze

SEQ_LEN = 128


@dataclass(frozen=True)
class Architecture:
    """A model_type, the published model its fields come from, and how it is fed."""

    model_type: str
    published: str
    fields: dict[str, Any]
    feed: str = "tokens"  # tokens, seq2seq, pixels, text+pixels, speech, audio
    auto: str = "AutoModel"
    extra: dict[str, Any] = field(default_factory=dict)


LAYERS = {"num_hidden_layers": 2}
ARCHITECTURES: dict[str, Architecture] = {
    "llama": Architecture(
        "llama",
        "meta-llama/Llama-2-7b-hf",
        {
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "vocab_size": 32000,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "mistral": Architecture(
        "mistral",
        "mistralai/Mistral-7B-v0.1",
        {
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "vocab_size": 32000,
            "sliding_window": 4096,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "mixtral": Architecture(
        "mixtral",
        "mistralai/Mixtral-8x7B-v0.1",
        {
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "vocab_size": 32000,
            "num_local_experts": 8,
            "num_experts_per_tok": 2,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "qwen2_moe": Architecture(
        "qwen2_moe",
        "Qwen/Qwen1.5-MoE-A2.7B",
        {
            "hidden_size": 2048,
            "intermediate_size": 5632,
            "moe_intermediate_size": 1408,
            "shared_expert_intermediate_size": 5632,
            "num_experts": 60,
            "num_experts_per_tok": 4,
            "num_attention_heads": 16,
            "num_key_value_heads": 16,
            "vocab_size": 151936,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "qwen2": Architecture(
        "qwen2",
        "Qwen/Qwen2-7B",
        {
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "num_attention_heads": 28,
            "num_key_value_heads": 4,
            "vocab_size": 152064,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "gemma": Architecture(
        "gemma",
        "google/gemma-2b",
        {
            "hidden_size": 2048,
            "intermediate_size": 16384,
            "num_attention_heads": 8,
            "num_key_value_heads": 1,
            "head_dim": 256,
            "vocab_size": 256000,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "gemma2": Architecture(
        "gemma2",
        "google/gemma-2-2b",
        {
            "hidden_size": 2304,
            "intermediate_size": 9216,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "vocab_size": 256000,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "phi": Architecture(
        "phi",
        "microsoft/phi-2",
        {
            "hidden_size": 2560,
            "intermediate_size": 10240,
            "num_attention_heads": 32,
            "vocab_size": 51200,
            "partial_rotary_factor": 0.4,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "phi3": Architecture(
        "phi3",
        "microsoft/Phi-3-mini-4k-instruct",
        {
            "hidden_size": 3072,
            "intermediate_size": 8192,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "vocab_size": 32064,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "falcon": Architecture(
        "falcon",
        "tiiuae/falcon-7b",
        {
            "hidden_size": 4544,
            "num_attention_heads": 71,
            "multi_query": True,
            "parallel_attn": True,
            "vocab_size": 65024,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "gpt_neox": Architecture(
        "gpt_neox",
        "EleutherAI/pythia-1.4b",
        {
            "hidden_size": 2048,
            "intermediate_size": 8192,
            "num_attention_heads": 16,
            "rotary_pct": 0.25,
            "vocab_size": 50304,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "gpt2": Architecture(
        "gpt2",
        "openai-community/gpt2",
        {"n_embd": 768, "n_head": 12, "n_layer": 2},
        auto="AutoModelForCausalLM",
    ),
    "gptj": Architecture(
        "gptj",
        "EleutherAI/gpt-j-6b",
        {"n_embd": 4096, "n_head": 16, "rotary_dim": 64, "vocab_size": 50400, "n_layer": 2},
        auto="AutoModelForCausalLM",
    ),
    "opt": Architecture(
        "opt",
        "facebook/opt-1.3b",
        {
            "hidden_size": 2048,
            "ffn_dim": 8192,
            "num_attention_heads": 32,
            "word_embed_proj_dim": 2048,
            "vocab_size": 50272,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "bloom": Architecture(
        "bloom",
        "bigscience/bloom-560m",
        {"hidden_size": 1024, "n_head": 16, "vocab_size": 250880, "n_layer": 2},
        auto="AutoModelForCausalLM",
    ),
    "starcoder2": Architecture(
        "starcoder2",
        "bigcode/starcoder2-3b",
        {
            "hidden_size": 3072,
            "intermediate_size": 12288,
            "num_attention_heads": 24,
            "num_key_value_heads": 2,
            "vocab_size": 49152,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "olmo": Architecture(
        "olmo",
        "allenai/OLMo-1B-hf",
        {
            "hidden_size": 2048,
            "intermediate_size": 8192,
            "num_attention_heads": 16,
            "num_key_value_heads": 16,
            "vocab_size": 50304,
            **LAYERS,
        },
        auto="AutoModelForCausalLM",
    ),
    "bert": Architecture(
        "bert",
        "google-bert/bert-base-uncased",
        {"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, **LAYERS},
    ),
    "roberta": Architecture(
        "roberta",
        "FacebookAI/roberta-base",
        {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_attention_heads": 12,
            "vocab_size": 50265,
            "max_position_embeddings": 514,
            **LAYERS,
        },
    ),
    "distilbert": Architecture(
        "distilbert",
        "distilbert/distilbert-base-uncased",
        {"dim": 768, "hidden_dim": 3072, "n_heads": 12, "n_layers": 2},
    ),
    "t5": Architecture(
        "t5",
        "google-t5/t5-small",
        {
            "d_model": 512,
            "d_ff": 2048,
            "d_kv": 64,
            "num_heads": 8,
            "vocab_size": 32128,
            "num_layers": 2,
            "num_decoder_layers": 2,
        },
        feed="seq2seq",
    ),
    "bart": Architecture(
        "bart",
        "facebook/bart-base",
        {
            "d_model": 768,
            "encoder_ffn_dim": 3072,
            "decoder_ffn_dim": 3072,
            "encoder_attention_heads": 12,
            "decoder_attention_heads": 12,
            "vocab_size": 50265,
            "encoder_layers": 2,
            "decoder_layers": 2,
        },
        feed="seq2seq",
    ),
    "whisper": Architecture(
        "whisper",
        "openai/whisper-tiny",
        {
            "d_model": 384,
            "encoder_ffn_dim": 1536,
            "decoder_ffn_dim": 1536,
            "encoder_attention_heads": 6,
            "decoder_attention_heads": 6,
            "num_mel_bins": 80,
            "vocab_size": 51865,
            "encoder_layers": 2,
            "decoder_layers": 2,
        },
        feed="speech",
    ),
    "wav2vec2": Architecture(
        "wav2vec2",
        "facebook/wav2vec2-base",
        {"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, **LAYERS},
        feed="audio",
    ),
    "vit": Architecture(
        "vit",
        "google/vit-base-patch16-224",
        {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_attention_heads": 12,
            "image_size": 224,
            "patch_size": 16,
            **LAYERS,
        },
        feed="pixels",
    ),
    "deit": Architecture(
        "deit",
        "facebook/deit-small-patch16-224",
        {
            "hidden_size": 384,
            "intermediate_size": 1536,
            "num_attention_heads": 6,
            "image_size": 224,
            "patch_size": 16,
            **LAYERS,
        },
        feed="pixels",
    ),
    "dinov2": Architecture(
        "dinov2",
        "facebook/dinov2-small",
        {
            "hidden_size": 384,
            "num_attention_heads": 6,
            "image_size": 518,
            "patch_size": 14,
            **LAYERS,
        },
        feed="pixels",
        extra={"image_size": 224},
    ),
    "clip": Architecture(
        "clip",
        "openai/clip-vit-base-patch32",
        {
            "text_config": {
                "hidden_size": 512,
                "intermediate_size": 2048,
                "num_attention_heads": 8,
                **LAYERS,
            },
            "vision_config": {
                "hidden_size": 768,
                "intermediate_size": 3072,
                "num_attention_heads": 12,
                "image_size": 224,
                "patch_size": 32,
                **LAYERS,
            },
            "projection_dim": 512,
        },
        feed="text+pixels",
    ),
    "swin": Architecture(
        "swin",
        "microsoft/swin-tiny-patch4-window7-224",
        {
            "embed_dim": 96,
            "depths": [2, 2, 2, 2],
            "num_heads": [3, 6, 12, 24],
            "window_size": 7,
            "image_size": 224,
        },
        feed="pixels",
        extra={"device": "cpu"},
    ),
    "convnext": Architecture(
        "convnext",
        "facebook/convnext-tiny-224",
        {"hidden_sizes": [96, 192, 384, 768], "depths": [2, 2, 2, 2]},
        feed="pixels",
        extra={"image_size": 224},
    ),
    "resnet": Architecture(
        "resnet",
        "microsoft/resnet-50",
        {
            "hidden_sizes": [256, 512, 1024, 2048],
            "depths": [1, 1, 1, 1],
            "layer_type": "bottleneck",
        },
        feed="pixels",
        extra={"image_size": 224},
    ),
    "segformer": Architecture(
        "segformer",
        "nvidia/mit-b0",
        {"hidden_sizes": [32, 64, 160, 256], "depths": [1, 1, 1, 1]},
        feed="pixels",
        extra={"image_size": 512},
    ),
    "detr": Architecture(
        "detr",
        "facebook/detr-resnet-50",
        {
            "use_timm_backbone": False,
            "use_pretrained_backbone": False,
            "backbone_config": {
                "model_type": "resnet",
                "depths": [1, 1, 1, 1],
                "hidden_sizes": [256, 512, 1024, 2048],
                "layer_type": "bottleneck",
                "out_features": ["stage4"],
            },
            "encoder_layers": 2,
            "decoder_layers": 2,
            "d_model": 256,
            "num_queries": 100,
        },
        feed="pixels",
        extra={"image_size": 512},
    ),
}


def build(
    arch: Architecture, device: str = "meta"
) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    """The model on `device` and its keyword inputs, batch 1."""
    import transformers

    config = transformers.AutoConfig.for_model(arch.model_type, **arch.fields)
    config.use_cache = False
    auto = getattr(transformers, arch.auto)
    with torch.device(device):
        model = auto.from_config(config).eval()
    text = getattr(config, "text_config", config)
    seq_len = min(SEQ_LEN, getattr(text, "max_position_embeddings", None) or SEQ_LEN)
    ids = torch.zeros(1, seq_len, dtype=torch.int64, device=device)
    mask = torch.ones(1, seq_len, dtype=torch.int64, device=device)

    def pixels(cfg: Any) -> torch.Tensor:
        size = arch.extra.get("image_size") or cfg.image_size
        channels = getattr(cfg, "num_channels", 3)
        return torch.zeros(1, channels, size, size, device=device)

    if arch.feed == "tokens":
        return model, {"input_ids": ids, "attention_mask": mask}
    if arch.feed == "seq2seq":
        return model, {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": ids}
    if arch.feed == "pixels":
        return model, {"pixel_values": pixels(config)}
    if arch.feed == "text+pixels":
        return model, {"input_ids": ids, "pixel_values": pixels(config.vision_config)}
    if arch.feed == "speech":  # log-mel frames: twice the encoder's positions (stride-2 conv)
        frames = 2 * config.max_source_positions
        features = torch.zeros(1, config.num_mel_bins, frames, device=device)
        return model, {"input_features": features, "decoder_input_ids": ids[:, :16]}
    if arch.feed == "audio":  # one second at 16 kHz
        return model, {"input_values": torch.zeros(1, 16000, device=device)}
    raise ValueError(f"unknown feed {arch.feed!r}")


def census(name: str) -> dict[str, Any]:
    """Per convention: (op, share of the flops total under `flops`, unpriced?) uncounted."""
    arch = ARCHITECTURES[name]
    # Swin reads values on meta (.item()), and once a trace failed there transformers keeps
    # traced values cached that break the next trace: build it on cpu from the start.
    on_cpu = arch.extra.get("device") == "cpu"
    model, inputs = build(arch, device="cpu" if on_cpu else "meta")
    reports: dict[str, Report] = {}
    meta: bool | None = False if on_cpu else None  # False once a forward needed values
    for convention in CONVENTIONS:
        keywords = {**inputs, "return_dict": False}
        try:
            reports[convention] = analyze(
                model, (), kwargs=keywords, convention=convention, meta=meta
            )
        except AnalysisError as error:
            if not error.value_needed or meta is False:
                raise
            # A forward that reads values (Swin's padding) traces on cpu, as the CLI does.
            model, inputs = build(arch, device="cpu")
            meta = False
            keywords = {**inputs, "return_dict": False}
            reports[convention] = analyze(
                model, (), kwargs=keywords, convention=convention, meta=meta
            )
    total = reports["flops"].total("flops")
    rows: dict[str, list[tuple[str, float | None]]] = {}
    for convention, report in reports.items():
        rows[convention] = [
            (
                entry.op.split("::")[-1],
                None if entry.would_be_flops is None else entry.would_be_flops / total,
            )
            for entry in report.uncounted
        ]
    return {"total": total, "rows": rows, "params": reports["flops"].total("params")}


def cell(rows: list[tuple[str, float | None]]) -> str:
    """`sdpa 2.1%, silu 0.3%, 4 more < 0.1%`, biggest first; `-` when nothing."""
    if not rows:
        return "-"
    ranked = sorted(rows, key=lambda row: -(row[1] if row[1] is not None else 1.0))
    shown = [(op, share) for op, share in ranked if share is None or share >= 0.001]
    small = len(ranked) - len(shown)
    parts = [
        f"{op} {'unpriced' if share is None else f'{100 * share:.1f}%'}" for op, share in shown
    ]
    if small:
        parts.append(f"{small} more < 0.1%")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(ARCHITECTURES), metavar="NAME")
    args = parser.parse_args(argv)
    names = args.only or list(ARCHITECTURES)
    print("| architecture (fields of) | flops total | fvcore | macs | flops |")
    print("| --- | --- | --- | --- | --- |")
    failed = 0
    for name in names:
        arch = ARCHITECTURES[name]
        try:
            result = census(name)
        except (AnalysisError, Exception) as error:  # one line per architecture, go on
            failed += 1
            line = str(error).strip().splitlines()[0][:160]
            print(f"| {name} (`{arch.published}`) | failed: {line} | | | |")
            continue
        rows = result["rows"]
        total = f"{result['total'] / 1e9:.3f}G"
        cells = " | ".join(cell(rows[c]) for c in ("fvcore", "macs", "flops"))
        print(f"| {name} (`{arch.published}`) | {total} | {cells} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
