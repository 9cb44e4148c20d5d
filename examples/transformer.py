"""An import-spec target: `complexity analyze examples.transformer:build`.

`build` takes keyword arguments: `--model-arg depth=2 --model-arg dim=96`.
"""

from __future__ import annotations

import torch
from torch import nn


class Block(nn.Module):
    """Pre-norm transformer block: attention and a GELU MLP, each with a residual add."""

    def __init__(self, dim: int = 192, heads: int = 3, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim * mlp_ratio), nn.GELU(), nn.Linear(dim * mlp_ratio, dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class PatchTransformer(nn.Module):
    """A small ViT-style encoder over 16x16 patches of an image."""

    def __init__(self, dim: int = 192, depth: int = 4, patch: int = 16) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.blocks = nn.Sequential(*[Block(dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(images).flatten(2).transpose(1, 2)
        return self.norm(self.blocks(tokens))


def build(dim: int = 192, depth: int = 4) -> nn.Module:
    return PatchTransformer(dim=dim, depth=depth)
