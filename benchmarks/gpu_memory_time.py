"""Our peak activation memory and roofline time against a real GPU (needs CUDA).

    python benchmarks/gpu_memory_time.py                      # all cases, device from its name
    python benchmarks/gpu_memory_time.py --device-spec "H100 SXM" --cases llama-block
    python benchmarks/gpu_memory_time.py --dry-run            # our figures only, on meta

For each case (RTMDet-s at 640, a ResNet-50-like net, a Llama-style decoder block):
- peak activation memory: ours (`Report.peak_activation_bytes`) against
  `torch.cuda.max_memory_allocated()` during a no_grad forward, minus the weights and
  buffers (the input is counted by both);
- time: our roofline time (a lower bound) against the forward's time measured with CUDA
  events after warm-up.
Figures and ratios are printed; nothing is asserted (docs/memory.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_models import DecoderLayer, LlamaShape, ResNetLike

from complexity.analyzer import DEVICES, AnalysisError, analyze, parse_device_spec, roofline

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], nn.Module]  # on the current default device
    inputs: Callable[[torch.device], tuple[Any, ...]]
    dtype: torch.dtype


def _rtmdet() -> nn.Module:
    from mmengine.config import Config

    from complexity.zoo import build_model

    config = REPO / "configs" / "rtmdet" / "rtmdet_s_syncbn_fast_8xb32-300e_coco.py"
    return build_model(Config.fromfile(str(config)).model)


def _image(size: int, batch: int = 1) -> Callable[[torch.device], tuple[Any, ...]]:
    return lambda device: (torch.randn(batch, 3, size, size, device=device),)


LLAMA_8B = LlamaShape(vocab=128256, dim=4096, layers=1, heads=32, kv_heads=8, hidden=14336)
LLAMA_TOKENS = 2048


def _block_inputs(device: torch.device) -> tuple[Any, ...]:
    head = LLAMA_8B.dim // LLAMA_8B.heads
    x = torch.randn(1, LLAMA_TOKENS, LLAMA_8B.dim, device=device, dtype=torch.bfloat16)
    angles = torch.randn(LLAMA_TOKENS, head, device=device, dtype=torch.bfloat16)
    return x, angles.cos(), angles.sin()


CASES = {
    "rtmdet-s": Case("RTMDet-s 640, fp32", _rtmdet, _image(640), torch.float32),
    "resnet50": Case(
        "ResNet-50-like 224, batch 32, fp32", ResNetLike, _image(224, 32), torch.float32
    ),
    "llama-block": Case(
        f"Llama-3-8B-shaped block, {LLAMA_TOKENS} tokens, bf16",
        lambda: DecoderLayer(LLAMA_8B),
        _block_inputs,
        torch.bfloat16,
    ),
}


def device_from_name(name: str) -> str:
    """A `--device-spec` name for the GPU torch reports, e.g. 'NVIDIA H100 80GB HBM3'."""
    lowered = name.lower().replace(" ", "")
    for needle, spec in (
        ("h200", "H200"),
        ("h100", "H100 SXM"),
        ("a100", "A100 80GB"),
        ("l4", "L4"),
        ("t4", "T4"),
        ("4090", "RTX 4090"),
    ):
        if needle in lowered:
            return spec
    raise SystemExit(f"no table entry for {name!r}: pass --device-spec flops=...,bandwidth=...")


def state_bytes(model: nn.Module) -> int:
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    return sum(t.numel() * t.element_size() for t in tensors.values())


def measure(model: nn.Module, inputs: tuple[Any, ...], runs: int) -> tuple[int, float]:
    """(peak bytes allocated beyond weights and buffers, mean forward ms after warm-up)."""
    with torch.no_grad():
        for _ in range(5):
            model(*inputs)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        model(*inputs)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - state_bytes(model)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(runs):
            model(*inputs)
        end.record()
        torch.cuda.synchronize()
    return peak, start.elapsed_time(end) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--device-spec", help="a name of docs/memory.md's table, or flops=,...")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--dry-run", action="store_true", help="our figures only, on meta")
    args = parser.parse_args()

    if not args.dry_run and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run this on a GPU machine, or pass --dry-run")
    if args.device_spec:
        spec = parse_device_spec(args.device_spec)
    elif args.dry_run:
        spec = DEVICES["H100 SXM"]
    else:
        spec = parse_device_spec(device_from_name(torch.cuda.get_device_name()))
    device = torch.device("meta" if args.dry_run else "cuda")
    print(f"device: {'meta (dry run)' if args.dry_run else torch.cuda.get_device_name()}")
    print(f"roofline figures: {spec.name} ({spec.source})")
    if not args.dry_run:
        print(
            f"torch {torch.__version__}, TF32 matmul {torch.backends.cuda.matmul.allow_tf32}, "
            f"TF32 cuDNN {torch.backends.cudnn.allow_tf32}"
        )
    header = (
        f"{'case':44} {'our peak':>10} {'measured':>10} {'ratio':>6} "
        f"{'roofline':>10} {'measured':>10} {'ratio':>6}"
    )
    print(header)
    for key in args.cases:
        case = CASES[key]
        with device:
            model = case.build().to(case.dtype).eval()
        inputs = case.inputs(device)
        try:
            report = analyze(model, inputs)
        except AnalysisError as error:  # e.g. a conv on meta before meta tracing lands
            print(f"{case.name:44} not analysed: {error}")
            continue
        ours = report.peak_activation_bytes
        ours_ms = roofline(report, spec).seconds() * 1e3
        if args.dry_run:
            print(f"{case.name:44} {ours / MIB:>8.1f}Mi {'-':>10} {'-':>6} {ours_ms:>8.3f}ms")
            continue
        measured, measured_ms = measure(model, inputs, args.runs)
        print(
            f"{case.name:44} {ours / MIB:>8.1f}Mi {measured / MIB:>8.1f}Mi "
            f"{ours / measured:>6.2f} {ours_ms:>8.3f}ms {measured_ms:>8.3f}ms "
            f"{ours_ms / measured_ms:>6.2f}"
        )
    print(
        "peak ratio = ours / (max_memory_allocated - weights and buffers); "
        "time ratio = roofline / CUDA-event time (a lower bound: expect <= 1)"
    )


if __name__ == "__main__":
    main()
