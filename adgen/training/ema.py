"""Exponential moving average of a model's weights (StyleGAN2's G_ema and friends)."""

from __future__ import annotations

import torch


@torch.no_grad()
def update(ema: torch.nn.Module, model: torch.nn.Module, beta: float) -> None:
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        p_ema.lerp_(p.detach(), 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)
