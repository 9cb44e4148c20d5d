"""A Llama-2 decoder in plain PyTorch, 7B and 70B shapes, for `complexity analyze`.

Written from the Llama 2 paper (Touvron et al., 2023, table 1 and section 2.2) and the
shapes of Meta's published checkpoints: RMSNorm before attention and MLP, rotary position
embeddings, a SwiGLU MLP, no biases, grouped-query attention for 70B (8 key/value heads),
an untied output projection, vocabulary 32,000.

    complexity analyze examples/llama.py                   # 7B, tokens (1, 4096)
    complexity analyze examples/llama_70b.py               # 70B

27 GB (7B) or 276 GB (70B) of fp32 weights: the CLI builds the model on the meta device,
so nothing is allocated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class LlamaShape:
    dim: int
    layers: int
    heads: int
    kv_heads: int
    hidden: int  # SwiGLU inner width
    vocab: int = 32000
    norm_eps: float = 1e-5


LLAMA2_7B = LlamaShape(dim=4096, layers=32, heads=32, kv_heads=32, hidden=11008)
LLAMA2_70B = LlamaShape(dim=8192, layers=80, heads=64, kv_heads=8, hidden=28672)
SEQUENCE = 4096  # Llama 2's context length


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class Attention(nn.Module):
    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.heads, self.kv_heads = shape.heads, shape.kv_heads
        self.head_dim = shape.dim // shape.heads
        self.wq = nn.Linear(shape.dim, shape.heads * self.head_dim, bias=False)
        self.wk = nn.Linear(shape.dim, shape.kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(shape.dim, shape.kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(shape.heads * self.head_dim, shape.dim, bias=False)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        batch, length, _ = x.shape
        q = self.wq(x).view(batch, length, self.heads, self.head_dim).transpose(1, 2)
        k = self.wk(x).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        repeat = self.heads // self.kv_heads
        if repeat > 1:  # grouped-query attention: each key/value head serves `repeat` heads
            k = k.repeat_interleave(repeat, dim=1)
            v = v.repeat_interleave(repeat, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        weights = F.softmax(scores + mask, dim=-1)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(batch, length, -1)
        return self.wo(out)


class FeedForward(nn.Module):
    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.w1 = nn.Linear(shape.dim, shape.hidden, bias=False)
        self.w2 = nn.Linear(shape.hidden, shape.dim, bias=False)
        self.w3 = nn.Linear(shape.dim, shape.hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class DecoderLayer(nn.Module):
    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(shape.dim, shape.norm_eps)
        self.attention = Attention(shape)
        self.ffn_norm = RMSNorm(shape.dim, shape.norm_eps)
        self.feed_forward = FeedForward(shape)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x), cos, sin, mask)
        return x + self.feed_forward(self.ffn_norm(x))


class Llama(nn.Module):
    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.head_dim = shape.dim // shape.heads
        self.tok_embeddings = nn.Embedding(shape.vocab, shape.dim)
        self.layers = nn.ModuleList(DecoderLayer(shape) for _ in range(shape.layers))
        self.norm = RMSNorm(shape.dim, shape.norm_eps)
        self.output = nn.Linear(shape.dim, shape.vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        length = tokens.shape[1]
        x = self.tok_embeddings(tokens)
        # Rotary embeddings (theta 10000) and the causal mask, made where the tokens live.
        inverse = 1.0 / 10000 ** (
            torch.arange(0, self.head_dim, 2, device=tokens.device).float() / self.head_dim
        )
        angles = torch.outer(torch.arange(length, device=tokens.device).float(), inverse)
        angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        mask = torch.full((length, length), float("-inf"), device=tokens.device).triu(1)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.output(self.norm(x))


def llama2_7b() -> Llama:
    return Llama(LLAMA2_7B).eval()


def llama2_70b() -> Llama:
    return Llama(LLAMA2_70B).eval()


def inputs() -> torch.Tensor:
    """One sequence of 4096 token ids (int64), as Llama 2 reads them."""
    return torch.randint(0, LLAMA2_7B.vocab, (1, SEQUENCE))


model = llama2_7b
