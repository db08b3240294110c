"""Output heads: mean-pool each modality over time, concatenate, one linear layer."""

from __future__ import annotations

import torch
from torch import nn

from avtca.config.model import Classification, MultiLabel, Regression, n_outputs
from avtca.registry import Registry

HEADS: Registry[nn.Module] = Registry("model.head")


class PooledLinear(nn.Module):
    """Sequences (B, C_i, L_i) -> mean over L_i -> concat (B, sum C_i) -> (B, n_outputs)."""

    def __init__(self, in_dim: int, n_out: int, dropout: float):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.linear = nn.Linear(in_dim, n_out)

    def forward(self, *sequences: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([s.mean(-1) for s in sequences], dim=-1)
        return self.linear(self.drop(pooled))


@HEADS.register(Classification)
@HEADS.register(Regression)
@HEADS.register(MultiLabel)
def _pooled_linear(cfg, in_dim: int) -> nn.Module:
    return PooledLinear(in_dim, n_outputs(cfg), cfg.dropout)
