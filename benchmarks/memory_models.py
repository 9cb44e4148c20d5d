"""Models the memory and roofline checks run on (tests/test_memory.py, gpu_memory_time.py).

Written here from the papers' descriptions: a Llama-style decoder (RMSNorm, rotary
embeddings, grouped-query attention through scaled_dot_product_attention, SwiGLU MLP), a
ResNet-50-like net (bottleneck blocks 3-4-6-3) and a small conv net for fp16 checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class LlamaShape:
    vocab: int = 1000
    dim: int = 256
    layers: int = 2
    heads: int = 8
    kv_heads: int = 2
    hidden: int = 688
    tie_embeddings: bool = False


# Llama-3-70B's published shape (Meta's model card / config.json).
LLAMA_70B = LlamaShape(
    vocab=128256, dim=8192, layers=80, heads=64, kv_heads=8, hidden=28672, tie_embeddings=False
)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return x * scale * self.weight


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-second, first), dim=-1) * sin


class Attention(nn.Module):
    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.heads, self.kv_heads = shape.heads, shape.kv_heads
        self.head_dim = shape.dim // shape.heads
        self.q_proj = nn.Linear(shape.dim, shape.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(shape.dim, shape.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(shape.dim, shape.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(shape.heads * self.head_dim, shape.dim, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        q = self.q_proj(x).view(batch, length, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        repeat = self.heads // self.kv_heads
        k = k.repeat_interleave(repeat, dim=1)
        v = v.repeat_interleave(repeat, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(out.transpose(1, 2).reshape(batch, length, -1))


class MLP(nn.Module):
    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(shape.dim, shape.hidden, bias=False)
        self.up_proj = nn.Linear(shape.dim, shape.hidden, bias=False)
        self.down_proj = nn.Linear(shape.hidden, shape.dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(shape.dim)
        self.self_attn = Attention(shape)
        self.post_attention_layernorm = RMSNorm(shape.dim)
        self.mlp = MLP(shape)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaDecoder(nn.Module):
    """Token ids (batch, length) -> logits (batch, length, vocab)."""

    def __init__(self, shape: LlamaShape = LlamaShape()) -> None:
        super().__init__()
        self.head_dim = shape.dim // shape.heads
        self.embed_tokens = nn.Embedding(shape.vocab, shape.dim)
        self.layers = nn.ModuleList(DecoderLayer(shape) for _ in range(shape.layers))
        self.norm = RMSNorm(shape.dim)
        self.lm_head = nn.Linear(shape.dim, shape.vocab, bias=False)
        if shape.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed_tokens(ids)
        length = ids.shape[1]
        inverse = 1.0 / (
            10000.0 ** (torch.arange(0, self.head_dim, 2, device=ids.device) / self.head_dim)
        )
        angles = torch.outer(torch.arange(length, device=ids.device), inverse)
        angles = torch.cat((angles, angles), dim=-1).to(x.dtype)
        cos, sin = angles.cos(), angles.sin()
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.norm(x))


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: 1x1 reduce, 3x3 (strided), 1x1 expand, residual add."""

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * 4
        self.conv1 = ConvBNReLU(cin, width, 1)
        self.conv2 = ConvBNReLU(width, width, 3, stride)
        self.conv3 = nn.Sequential(nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv3(self.conv2(self.conv1(x))) + self.downsample(x))


class ResNetLike(nn.Module):
    """ResNet-50's layout (He et al. 2016, table 1): stem, 3-4-6-3 bottlenecks, fc."""

    def __init__(self, blocks: tuple[int, ...] = (3, 4, 6, 3), classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(ConvBNReLU(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], 64
        for number, count in enumerate(blocks):
            width = 64 * 2**number
            for block in range(count):
                stages.append(Bottleneck(cin, width, 2 if block == 0 and number > 0 else 1))
                cin = width * 4
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def small_conv_net() -> nn.Module:
    """A few conv stages with a residual block: the fp16 conv net of the memory tests."""
    return nn.Sequential(
        ConvBNReLU(3, 32, 3, 2),
        Bottleneck(32, 16, 1),
        ConvBNReLU(64, 64, 3, 2),
        Bottleneck(64, 32, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, 10),
    )
