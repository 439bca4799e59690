"""`load_compositor`: put a bag on a person with a trained ST-GAN (what `adgen generate` calls).

The person is padded to the model's aspect with white (never cropped) and resized; the bag is
placed at the canonical centre like in training; then every trained warp moves it in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.stgan import warp
from adgen.models.stgan.config import StganParams
from adgen.models.stgan.data import place_at_centre
from adgen.models.stgan.samples import interpolated_params, to_uint8, write_gif
from adgen.models.stgan.spec import WARP_FILES
from adgen.models.stgan.train import FORMAT, KIND, build_networks
from adgen.training import checkpoint as ckpt
from adgen.training.checkpoints import find


@dataclass
class CompositeResult:
    image: Image.Image  # the final composite (RGB, model resolution)
    per_warp: list[Image.Image]  # composites at p0 and after each warp
    params: list[list[float]]  # warp parameters p0, p1, ..., pN


def find_checkpoint(path: Path) -> Path:
    """A checkpoint file as given, or in a run dir the final warp's (else the newest periodic one)."""
    return find(path, KIND, WARP_FILES)


def pad_to_aspect(image: Image.Image, height: int, width: int, fill=(255, 255, 255)) -> Image.Image:
    """Pad (never crop) to the model's H:W aspect, then resize to it."""
    image = image.convert("RGB")
    w, h = image.size
    target = width / height
    new_w, new_h = (max(w, round(h * target)), h) if w / h < target else (w, max(h, round(w / target)))
    canvas = Image.new("RGB", (new_w, new_h), fill)
    canvas.paste(image, ((new_w - w) // 2, (new_h - h) // 2))
    return canvas.resize((width, height), Image.Resampling.BICUBIC)


def compositor_inputs(params, person: Image.Image, bag: Image.Image, seed: int | None, device: torch.device):
    """(background, foreground, p0) as the compositors (ST-GAN's and SF-GAN's) feed their warps:
    the person padded to the model's aspect, the bag at the canonical centre as in training, and
    p0 = 0 (seed None) or pert_fg * N(0, I) drawn from `seed`. `params` has height, width,
    fg_scale, warp_type and pert_fg."""
    h, w = params.height, params.width
    bg = np.asarray(pad_to_aspect(person, h, w), dtype=np.float32) / 255.0
    fg = place_at_centre(bag, h, w, params.fg_scale).astype(np.float32) / 255.0
    background = torch.from_numpy(bg).permute(2, 0, 1)[None].to(device)
    foreground = torch.from_numpy(fg).permute(2, 0, 1)[None].to(device)
    dim = warp.warp_dim(params.warp_type)
    if seed is None:
        p0 = torch.zeros(1, dim)
    else:
        p0 = params.pert_fg * torch.randn(1, dim, generator=torch.Generator().manual_seed(seed))
    return background, foreground, p0.to(device)


class Compositor:
    def __init__(self, params: StganParams, state: dict, device: str | torch.device = "cpu"):
        self.params = params
        self.device = torch.device(device)
        self.gens, _ = build_networks(params)
        ckpt.load_weights(self.gens, state.get("generators"), "ST-GAN checkpoint")
        self.gens.to(self.device).eval()
        self.trained_warps = max(0, min(int(state["phase"]), params.warps))

    @property
    def resolution(self) -> tuple[int, int]:
        return self.params.height, self.params.width

    @torch.no_grad()
    def warp_params(self, person: Image.Image, bag: Image.Image, seed: int | None = None):
        """(background, foreground tensors, [p0..pN]) for one person and bag."""
        background, foreground, p0 = compositor_inputs(self.params, person, bag, seed, self.device)
        ps, _ = self.gens(background, foreground, p0, self.trained_warps)
        return background, foreground, ps

    def _render(self, background, foreground, p) -> Image.Image:
        comp = warp.composite(self.gens.warp(foreground, p), background)
        return Image.fromarray(to_uint8(comp)[0])

    @torch.no_grad()
    def composite(self, person: Image.Image, bag: Image.Image, seed: int | None = None) -> CompositeResult:
        """seed None: the bag starts at the centre (p0 = 0); an int draws p0 = pert_fg * N(0, I)."""
        background, foreground, ps = self.warp_params(person, bag, seed)
        per_warp = [self._render(background, foreground, p) for p in ps]
        return CompositeResult(per_warp[-1], per_warp, [p[0].tolist() for p in ps])

    @torch.no_grad()
    def write_gif(self, person: Image.Image, bag: Image.Image, path: Path, seed: int | None = None) -> None:
        """An animated GIF of the bag moving from its start through every warp."""
        background, foreground, ps = self.warp_params(person, bag, seed)
        frames = [
            np.asarray(self._render(background, foreground, p))
            for p in interpolated_params(ps, self.params.gif_frames_per_warp)
        ]
        frames += [frames[-1]] * self.params.gif_frames_per_warp
        write_gif(Path(path), frames)


def load_compositor(checkpoint: Path, device: str = "cpu") -> Compositor:
    """A compositor from a ST-GAN checkpoint file or run dir (contracts §5)."""
    path = find_checkpoint(Path(checkpoint))
    state = ckpt.load(path, map_location=device, restore_rng=False, what="ST-GAN checkpoint")
    if state.get("format") != FORMAT:
        raise UserError(f"{path}: not an ST-GAN checkpoint (format {state.get('format')!r})")
    params = ckpt.params_from(StganParams, state.get("params"), f"ST-GAN checkpoint {path}")
    return Compositor(params, state, device)
