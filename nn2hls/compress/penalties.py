"""Sparsity-inducing penalties to add to a training loss.

L1:  lambda * sum_i |w_i|                         (subgradient sign(w), 0 at w = 0)
L_p: lambda * sum_i [ (w_i^2 + eps^2)^(p/2) - eps^p ],   0 < p < 1

The L_p term is |w|^p smoothed near zero: exactly 0 at w = 0, within eps^p of |w|^p everywhere,
and differentiable with gradient lambda * p * w * (w^2 + eps^2)^(p/2 - 1), bounded by
lambda * p * eps^(p-1) near zero (the bare |w|^p has an infinite slope there). With p = 0.1 it pulls
small weights to zero much harder than large ones, which is why it prunes deeper than L1.
The penalties apply to the weights of Linear/Conv layers (masked effective weights when pruned),
never to biases.
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from nn2hls.errors import ConfigError


def l1(weights: Iterable[torch.Tensor]) -> torch.Tensor:
    """sum |w| over all given tensors."""
    terms = [w.abs().sum() for w in weights]
    return torch.stack(terms).sum() if terms else torch.zeros(())


def lp(weights: Iterable[torch.Tensor], p: float, eps: float = 1e-3) -> torch.Tensor:
    """sum ((w^2 + eps^2)^(p/2) - eps^p) over all given tensors (smoothed |w|^p)."""
    if not 0.0 < p < 1.0:
        raise ConfigError(f"L_p penalty needs 0 < p < 1, got p={p}")
    if eps <= 0:
        raise ConfigError(f"L_p smoothing eps must be > 0, got {eps}")
    terms = [((w * w + eps * eps) ** (p / 2) - eps ** p).sum() for w in weights]
    return torch.stack(terms).sum() if terms else torch.zeros(())


def _weights(model: nn.Module) -> list[torch.Tensor]:
    from nn2hls.compress.masks import masked_parameters

    return list(masked_parameters(model))


class L1Penalty:
    """Callable penalty: `loss = task_loss + L1Penalty(1e-4)(model)`."""

    def __init__(self, lam: float) -> None:
        if lam < 0:
            raise ConfigError(f"penalty strength lambda must be >= 0, got {lam}")
        self.lam = lam

    def __call__(self, model: nn.Module) -> torch.Tensor:
        return self.lam * l1(_weights(model))

    def __repr__(self) -> str:
        return f"L1Penalty(lam={self.lam})"


class LpPenalty:
    """Callable smoothed L_p penalty: `loss = task_loss + LpPenalty(1e-3, p=0.1)(model)`."""

    def __init__(self, lam: float, p: float = 0.1, eps: float = 1e-3) -> None:
        if lam < 0:
            raise ConfigError(f"penalty strength lambda must be >= 0, got {lam}")
        lp(torch.zeros(1), p, eps)  # validates p and eps
        self.lam, self.p, self.eps = lam, p, eps

    def __call__(self, model: nn.Module) -> torch.Tensor:
        return self.lam * lp(_weights(model), self.p, self.eps)

    def __repr__(self) -> str:
        return f"LpPenalty(lam={self.lam}, p={self.p}, eps={self.eps})"
