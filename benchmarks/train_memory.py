"""Training-step memory: our estimate against live tensor storage measured on CPU.

For each model, with and without a frozen backbone, one real training step (forward, loss =
sum of the outputs, backward, optimizer.step()) runs on CPU under a TorchDispatchMode that
follows every tensor storage from the op that makes it to its last reference, parameters,
buffers, gradients and optimizer state included. The step measured is the second one, so
the optimizer's state exists already (the steady state of training); gradients are set to
None between steps, as `zero_grad()` does by default.

Our figure is `TrainingMemory.peak_estimate` from `analyze(..., train_step=...)` on the
meta device (docs/memory.md, "Training step"). The script prints both and their ratio.

    python benchmarks/train_memory.py            # RTMDet-s at 320, Llama-style at 512, ViT
    python benchmarks/train_memory.py --quick    # smaller inputs
"""

from __future__ import annotations

import argparse
import sys
import time
import weakref
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakIdKeyDictionary

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_models import LlamaDecoder, LlamaShape

from complexity.analyzer import TrainStep, analyze
from complexity.analyzer.backward import frozen_by

REPO = Path(__file__).resolve().parents[1]


class StepTracker(TorchDispatchMode):
    """Peak bytes of live tensor storage, everything the step holds included."""

    def __init__(self, held: list[torch.Tensor]) -> None:
        super().__init__()
        self._seen = WeakIdKeyDictionary()
        self.live = self.peak = 0
        for tensor in held:
            self._add(tensor)

    def _free(self, size: int) -> None:
        self.live -= size

    def _add(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        if storage in self._seen:
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


def _loss(outputs: Any) -> torch.Tensor:
    return sum(
        t.sum() for t in tree_leaves(outputs) if isinstance(t, torch.Tensor) and t.requires_grad
    )


def measured_peak(model: nn.Module, inputs: tuple[Any, ...], optimizer: str) -> int:
    trainable = [p for p in model.parameters() if p.requires_grad]
    make = {
        "sgd": lambda p: torch.optim.SGD(p, lr=1e-3),
        "momentum": lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9),
        "adam": lambda p: torch.optim.Adam(p, lr=1e-3, foreach=False),
        "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3, foreach=False),
    }[optimizer]
    opt = make(trainable)
    _loss(model(*inputs)).backward()  # the first step creates the optimizer state
    opt.step()
    opt.zero_grad(set_to_none=True)
    state = [t for s in opt.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
    held = [*model.parameters(), *model.buffers(), *state, *tree_leaves(inputs)]
    tracker = StepTracker([t for t in held if isinstance(t, torch.Tensor)])
    with tracker:
        _loss(model(*inputs)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return tracker.peak


class ViT(nn.Module):
    """A ViT-style classifier: 16x16 patches, pre-norm blocks through sdpa, a linear head."""

    def __init__(self, dim: int = 192, depth: int = 6, heads: int = 3, classes: int = 100):
        super().__init__()
        self.heads = heads
        self.patch = nn.Conv2d(3, dim, 16, 16)
        self.blocks = nn.ModuleList(
            nn.ModuleDict(
                {
                    "norm1": nn.LayerNorm(dim),
                    "qkv": nn.Linear(dim, 3 * dim),
                    "proj": nn.Linear(dim, dim),
                    "norm2": nn.LayerNorm(dim),
                    "fc1": nn.Linear(dim, 4 * dim),
                    "fc2": nn.Linear(4 * dim, dim),
                }
            )
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.patch(image).flatten(2).transpose(1, 2)
        b, n, d = x.shape
        for block in self.blocks:
            q, k, v = block["qkv"](block["norm1"](x)).view(b, n, 3, self.heads, -1).unbind(2)
            y = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            )
            x = x + block["proj"](y.transpose(1, 2).reshape(b, n, d))
            x = x + block["fc2"](F.gelu(block["fc1"](block["norm2"](x))))
        return self.head(self.norm(x).mean(1))


def rtmdet_s(size: int) -> tuple[nn.Module, tuple[Any, ...]]:
    from complexity.targets import TargetSpec, load_target

    config = REPO / "configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py"
    loaded = load_target(TargetSpec(str(config), (size, size), {}, training_form=True))
    return loaded.model, (torch.randn(1, 3, size, size),)


def cases(quick: bool) -> list[tuple[str, Any, tuple[str, ...]]]:
    size, seq = (160, 128) if quick else (320, 512)

    def llama() -> tuple[nn.Module, tuple[Any, ...]]:
        return LlamaDecoder(LlamaShape()), (torch.randint(0, 1000, (1, seq)),)

    def vit() -> tuple[nn.Module, tuple[Any, ...]]:
        return ViT(), (torch.randn(2, 3, 224, 224),)

    return [
        (f"RTMDet-s at {size}", lambda: rtmdet_s(size), ("backbone",)),
        (f"Llama-style decoder at {seq}", llama, ("embed_tokens", "layers")),
        ("ViT-style (dim 192, 6 blocks) at 224, batch 2", vit, ("patch", "blocks")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs")
    parser.add_argument(
        "--optimizer", default="adamw", choices=("sgd", "momentum", "adam", "adamw")
    )
    options = parser.parse_args()
    torch.manual_seed(0)
    print(f"optimizer {options.optimizer}; measured: second step on CPU; ours: meta, no run")
    print(f"{'case':68} {'ours':>12} {'measured':>12} {'ratio':>6}")
    for name, build, backbone in cases(options.quick):
        for freeze in ((), backbone):
            model, inputs = build()
            model.train()
            step = TrainStep(freeze=freeze, optimizer=options.optimizer)
            start = time.perf_counter()
            report = analyze(model, inputs, train_step=step)
            seconds = time.perf_counter() - start
            assert report.train_memory is not None
            ours = report.train_memory.peak_estimate
            for key, parameter in model.named_parameters():
                parameter.requires_grad_(frozen_by(key, freeze) is None)
            measured = measured_peak(model, inputs, options.optimizer)
            label = f"{name}{', frozen ' + '+'.join(freeze) if freeze else ''}"
            print(
                f"{label:68} {ours / 2**20:10.1f}Mi {measured / 2**20:10.1f}Mi "
                f"{ours / measured:6.3f}  (analysis {seconds:.1f} s)"
            )


if __name__ == "__main__":
    main()
