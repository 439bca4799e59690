"""What `adgen generate` needs from StyleGAN2: new people as PIL images, one per seed."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from adgen.models.stylegan2.train import generate, load_generator


class StyleGAN2Sampler:
    """A trained G_ema; the same seed and truncation always give the same image."""

    def __init__(self, checkpoint: Path, device: str = "cpu"):
        self.G, self.params = load_generator(Path(checkpoint), device)
        self.device = torch.device(device)

    @property
    def resolution(self) -> tuple[int, int]:
        """(height, width) of every sample."""
        return tuple(self.G.resolution)

    def sample(self, seeds: list[int], truncation: float = 1.0) -> list[Image.Image]:
        return [Image.fromarray(a) for a in generate(self.G, list(seeds), truncation)]


def load_sampler(checkpoint: Path, device: str = "cpu") -> StyleGAN2Sampler:
    """Load a StyleGAN2 training checkpoint for sampling (contract used by `adgen generate`)."""
    return StyleGAN2Sampler(checkpoint, device)
