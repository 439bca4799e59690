"""`load_compositor`: put a bag on a person with a trained SF-GAN (same interface as ST-GAN's).

The person is padded to the model's aspect with white and resized, the bag placed at the canonical
centre (both exactly as ST-GAN's compositor does), every warp moves it, then the appearance
synthesizer relights it to the scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen.models.sfgan.config import SfganParams
from adgen.models.sfgan.train import KIND, build_networks, load_state
from adgen.models.stgan import warp
from adgen.models.stgan.api import CompositeResult, compositor_inputs
from adgen.models.stgan.samples import interpolated_params, to_uint8, write_gif
from adgen.training.checkpoints import find


@dataclass
class FusionResult(CompositeResult):
    geometry_image: Image.Image | None = None  # the warped bag pasted as it is (before relighting)
    alpha: np.ndarray | None = None  # [H, W] float alpha of the placed bag


class Compositor:
    def __init__(self, params: SfganParams, state: dict, device: str | torch.device = "cpu"):
        self.params = params
        self.device = torch.device(device)
        nets = build_networks(params)
        self.fusion = nets.fusion
        self.fusion.geometry.load_state_dict(state["geometry"])
        self.fusion.appearance.load_state_dict(state["appearance"])
        self.fusion.to(self.device).eval()

    @property
    def resolution(self) -> tuple[int, int]:
        return self.params.height, self.params.width

    def _inputs(self, person: Image.Image, bag: Image.Image, seed: int | None):
        return compositor_inputs(self.params, person, bag, seed, self.device)

    @torch.no_grad()
    def warp_params(self, person: Image.Image, bag: Image.Image, seed: int | None = None):
        """(background, foreground tensors, [p0..pN]), as ST-GAN's compositor gives them."""
        background, foreground, p0 = self._inputs(person, bag, seed)
        ps, _ = self.fusion.geometry(background, foreground, p0, len(self.fusion.geometry.generators))
        return background, foreground, ps

    def _image(self, x: torch.Tensor) -> Image.Image:
        return Image.fromarray(to_uint8(x)[0])

    @torch.no_grad()
    def composite(self, person: Image.Image, bag: Image.Image, seed: int | None = None) -> FusionResult:
        """seed None: the bag starts at the centre (p0 = 0); an int draws p0 = pert_fg * N(0, I)."""
        background, foreground, p0 = self._inputs(person, bag, seed)
        out = self.fusion(background, foreground, p0)
        per_warp = [
            self._image(warp.composite(self.fusion.geometry.warp(foreground, p), background)) for p in out.ps
        ]
        return FusionResult(
            self._image(out.composite),
            per_warp,
            [p[0].tolist() for p in out.ps],
            geometry_image=per_warp[-1],
            alpha=out.warped[0, 3].cpu().numpy(),
        )

    @torch.no_grad()
    def write_gif(self, person: Image.Image, bag: Image.Image, path: Path, seed: int | None = None) -> None:
        """The bag moving through every warp, then relit (the last frames)."""
        background, foreground, p0 = self._inputs(person, bag, seed)
        out = self.fusion(background, foreground, p0)
        frames_per_warp = 6
        frames = [
            to_uint8(warp.composite(self.fusion.geometry.warp(foreground, p), background))[0]
            for p in interpolated_params(out.ps, frames_per_warp)
        ]
        frames += [to_uint8(out.composite)[0]] * frames_per_warp
        write_gif(Path(path), frames)


def load_compositor(checkpoint: Path, device: str = "cpu") -> Compositor:
    """A compositor from an SF-GAN checkpoint file or run dir."""
    path = find(checkpoint, KIND)
    state = load_state(path, device)
    return Compositor(SfganParams(**state["params"]), state, device)
