"""Output heads: mean-pool each modality over time, concatenate, one linear layer."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field, PositiveInt
from torch import nn

from avtca.config.base import Strict
from avtca.registry import Registry

HEADS: Registry[nn.Module] = Registry("model.head")

# ---------------------------------------------------------------- configs (one per kind)


class Classification(Strict):
    """Single-label classification logits (B, n_classes)."""

    kind: Literal["classification"] = "classification"
    n_classes: Annotated[int, Field(ge=2)] = 8
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0

    @property
    def n_outputs(self) -> int:
        """Width of the model output."""
        return self.n_classes


class Regression(Strict):
    """One real value per sample (B, 1), e.g. MOSEI sentiment."""

    kind: Literal["regression"] = "regression"
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0

    @property
    def n_outputs(self) -> int:
        """Width of the model output."""
        return 1


class MultiLabel(Strict):
    """Independent per-label outputs (B, n_labels), e.g. MOSEI's six emotion intensities."""

    kind: Literal["multilabel"] = "multilabel"
    n_labels: PositiveInt = 6
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0

    @property
    def n_outputs(self) -> int:
        """Width of the model output."""
        return self.n_labels


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
    return PooledLinear(in_dim, cfg.n_outputs, cfg.dropout)
