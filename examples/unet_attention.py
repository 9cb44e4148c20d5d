"""A small UNet with self-attention at the bottleneck (`nn.MultiheadAttention`).

`complexity analyze examples/unet_attention.py`: fvcore counts no attention (its table has
no rule for `scaled_dot_product_attention`), so the summary says what it leaves out.
"""

import torch
from torch import nn


class AttentionBlock(nn.Module):
    """GroupNorm, then multi-head self-attention over the pixels, added back."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(8, channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)
        y, _ = self.attn(tokens, tokens, tokens, need_weights=False)
        return x + y.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.SiLU(), nn.Conv2d(64, 128, 3, stride=2, padding=1)
        )
        self.mid = AttentionBlock(128, heads=4)
        self.up = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 2, stride=2), nn.SiLU(), nn.Conv2d(64, 3, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.mid(self.down(x)))


model = UNet()
input_shape = (1, 3, 64, 64)
