"""What the comparison (and anything else) needs from DCGAN: new people as PIL images, one per seed."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from adgen.models.dcgan.train import generate, load_generator


class DcganSampler:
    """A trained G in eval mode; the same seed always gives the same image."""

    def __init__(self, path: Path, device: str = "cpu"):
        self.G, self.params, self.checkpoint = load_generator(Path(path), device)
        self.device = torch.device(device)

    @property
    def resolution(self) -> tuple[int, int]:
        """(height, width) of every sample."""
        return tuple(self.G.resolution)

    def sample(self, seeds: list[int], truncation: float = 1.0) -> list[Image.Image]:
        """One image per seed. DCGAN has no truncation trick: `truncation` (the people-generator
        role's argument, adgen.models.roles) is accepted and every z is used as drawn."""
        return [Image.fromarray(a) for a in generate(self.G, list(seeds))]


def load_sampler(path: str | Path, device: str = "cpu") -> DcganSampler:
    """A DCGAN checkpoint (or a run dir: its newest checkpoint) ready to sample."""
    return DcganSampler(Path(path), device)
