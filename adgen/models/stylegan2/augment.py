"""Adaptive discriminator augmentation (ADA, Karras et al. 2020b), small and in pure torch.

With only ~7k curated images D memorises the training set and G collapses. ADA shows D every
image (real and generated alike) through random, differentiable transforms, each applied with
probability p, and tunes p from the overfitting heuristic r_t = E[sign(D(real))]: above the
target (D too sure of reals) p goes up, below it p goes down.

The pipeline is the cheap, non-leaking subset of NVlabs' `bgc`: x-flip, integer translation
(up to 1/8 of the image, reflect padding), brightness, contrast, saturation. Every transform is
differentiable w.r.t. the image, so G's gradients pass through it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class AugmentPipe(torch.nn.Module):
    """Random transforms applied to each image independently with probability `p`."""

    def __init__(self, p: float = 0.0, translate: float = 0.125):
        super().__init__()
        self.register_buffer("p", torch.tensor(float(p)))
        self.translate = translate

    def _chosen(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return (torch.rand(n, device=like.device) < self.p).to(like.dtype).view(n, 1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(self.p) <= 0:
            return x
        n, c, h, w = x.shape
        # x-flip
        on = self._chosen(n, x)
        x = on * x.flip(3) + (1 - on) * x
        # integer translation with reflect padding
        on = self._chosen(n, x).view(n)
        tx = (torch.rand(n, device=x.device) * 2 - 1) * self.translate * w * on
        ty = (torch.rand(n, device=x.device) * 2 - 1) * self.translate * h * on
        x = translate_integer(x, tx.round().long(), ty.round().long())
        # brightness: add N(0, 0.2)
        on = self._chosen(n, x)
        x = x + torch.randn(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 0.2 * on
        # contrast: scale around the mean by lognormal(0, 0.5 ln 2)
        on = self._chosen(n, x)
        factor = torch.exp2(torch.randn(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 0.5)
        mean = x.mean(dim=[1, 2, 3], keepdim=True)
        x = (x - mean) * (on * factor + (1 - on)) + mean
        # saturation: scale the offset from the grey (luma) image by lognormal(0, ln 2)
        if c == 3:
            on = self._chosen(n, x)
            factor = torch.exp2(torch.randn(n, 1, 1, 1, device=x.device, dtype=x.dtype))
            grey = x.mean(dim=1, keepdim=True)
            x = (x - grey) * (on * factor + (1 - on)) + grey
        return x


def translate_integer(x: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    """Shift each image by (tx, ty) whole pixels, filling from a reflection of the image."""
    n, c, h, w = x.shape
    ph, pw = int(ty.abs().max()), int(tx.abs().max())
    if ph == 0 and pw == 0:
        return x
    ph, pw = min(ph, h - 1), min(pw, w - 1)
    padded = F.pad(x, [pw, pw, ph, ph], mode="reflect")
    rows = (torch.arange(h, device=x.device).view(1, h) - ty.clamp(-ph, ph).view(n, 1) + ph).view(n, 1, h, 1)
    cols = (torch.arange(w, device=x.device).view(1, w) - tx.clamp(-pw, pw).view(n, 1) + pw).view(n, 1, 1, w)
    out = padded.gather(2, rows.expand(n, c, h, padded.shape[3]))
    return out.gather(3, cols.expand(n, c, h, w))


class AdaController:
    """Tunes the augmentation probability from the sign of D's outputs on real images."""

    def __init__(self, pipe: AugmentPipe, target: float, interval: int, kimg: float, batch: int):
        self.pipe, self.target, self.interval = pipe, target, interval
        self.step_size = batch * interval / (kimg * 1000)
        self.signs = 0.0
        self.count = 0
        self.rt = math.nan

    def accumulate(self, real_logits: torch.Tensor) -> None:
        self.signs += float(real_logits.detach().sign().sum())
        self.count += real_logits.numel()

    def maybe_adjust(self, step: int) -> None:
        """Every `interval` minibatches: p += sign(r_t - target) * step size, clamped to [0, 1]."""
        if (step + 1) % self.interval != 0 or self.count == 0:
            return
        self.rt = self.signs / self.count
        delta = math.copysign(self.step_size, self.rt - self.target) if self.rt != self.target else 0.0
        self.pipe.p.copy_((self.pipe.p + delta).clamp(0.0, 1.0))
        self.signs, self.count = 0.0, 0

    def state_dict(self) -> dict:
        return {"signs": self.signs, "count": self.count, "rt": self.rt}

    def load_state_dict(self, state: dict) -> None:
        self.signs, self.count, self.rt = state["signs"], state["count"], state["rt"]
