"""Small building blocks shared by several slots: ShuffleNetV2 units, Conv1d stages, attention blocks."""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu_1d(c_in: int, c_out: int, padding: str = "same", pool: bool = False) -> nn.Sequential:
    """Conv1d(k=3) -> BN -> ReLU (-> MaxPool1d(2, 1)); 'valid' + pool shortens L by 3, as in the released audio net."""
    layers: list[nn.Module] = [nn.Conv1d(c_in, c_out, 3, padding=padding), nn.BatchNorm1d(c_out), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool1d(2, 1))
    return nn.Sequential(*layers)


def depthwise(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    """3x3 grouped conv with groups=c_in (c_out must be a multiple of c_in), no bias."""
    return nn.Conv2d(c_in, c_out, 3, stride, 1, groups=c_in, bias=False)


def channel_shuffle(x: torch.Tensor, groups: int = 2) -> torch.Tensor:
    """Interleave channel groups: (B, g*c, H, W) -> (B, c*g, H, W)."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2 unit: stride 2 splits into two downsampling branches, stride 1 keeps half the channels."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        half = c_out // 2
        self.stride = stride
        if stride > 1:
            self.branch1 = nn.Sequential(
                depthwise(c_in, c_in, stride),
                nn.BatchNorm2d(c_in),
                nn.Conv2d(c_in, half, 1, bias=False),
                nn.BatchNorm2d(half),
                nn.ReLU(inplace=True),
            )
        self.branch2 = nn.Sequential(
            nn.Conv2d(c_in if stride > 1 else half, half, 1, bias=False),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
            depthwise(half, half, stride),
            nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            keep, x2 = x.chunk(2, dim=1)
            out = torch.cat((keep, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


def shuffle_stage(c_in: int, c_out: int, repeats: int) -> nn.Sequential:
    """One downsampling unit followed by `repeats - 1` stride-1 units."""
    return nn.Sequential(ShuffleUnit(c_in, c_out, 2), *[ShuffleUnit(c_out, c_out, 1) for _ in range(repeats - 1)])


class CrossAttention(nn.Module):
    """Multi-head attention with separate query/key widths: q from (B, Nq, Cq), k/v from (B, Nk, Ck) -> (B, Nq, D)."""

    def __init__(self, dim_q: int, dim_k: int, dim: int, heads: int, project: bool = True):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Linear(dim_q, dim, bias=False)
        self.kv = nn.Linear(dim_k, 2 * dim, bias=False)
        # the 'ia' fusion uses only the attention map, so it builds no output projection
        self.proj = nn.Linear(dim, dim) if project else None

    def attention_map(self, x_q: torch.Tensor, x_k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Softmax attention (B, heads, Nq, Nk) and values (B, heads, Nk, D/heads)."""
        b, nq, _ = x_q.shape
        nk = x_k.shape[1]
        q = self.q(x_q).reshape(b, nq, self.heads, -1).transpose(1, 2)
        k, v = self.kv(x_k).reshape(b, nk, 2, self.heads, -1).permute(2, 0, 3, 1, 4)
        return ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1), v

    def forward(self, x_q: torch.Tensor, x_k: torch.Tensor) -> torch.Tensor:
        attn, v = self.attention_map(x_q, x_k)
        out = (attn @ v).transpose(1, 2).reshape(x_q.shape[0], x_q.shape[1], -1)
        return self.proj(out)


class AttentionBlock(nn.Module):
    """Pre-norm cross attention then a GELU MLP added to the attention output (no residual to the query)."""

    def __init__(self, dim_q: int, dim_k: int, dim: int, heads: int, mlp_ratio: float = 2.0):
        super().__init__()
        self.norm_q = nn.LayerNorm(dim_q)
        self.norm_k = nn.LayerNorm(dim_k)
        self.attn = CrossAttention(dim_q, dim_k, dim, heads)
        self.norm_mlp = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x_q: torch.Tensor, x_k: torch.Tensor) -> torch.Tensor:
        """(B, Nq, dim_q), (B, Nk, dim_k) -> (B, Nq, dim)."""
        x = self.attn(self.norm_q(x_q), self.norm_k(x_k))
        return x + self.mlp(self.norm_mlp(x))
