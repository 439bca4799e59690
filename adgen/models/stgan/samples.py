"""What a person looks at to judge an ST-GAN run: per-warp sample grids and a GIF of bags moving.

Samples use fixed backgrounds and bags with p0 = 0 (the bag at the canonical centre, the official
test setting) and never touch the global RNG, so writing them does not change training.
"""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from PIL import Image

from adgen import atomic
from adgen.models.stgan import warp
from adgen.models.stgan.data import as_float


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[B, C, H, W] float in [0, 1] -> [B, H, W, C] uint8."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def grid(rows: list[list[np.ndarray]], pad: int = 2) -> np.ndarray:
    """Tile equally sized HxWx3 images into a grid with a white border."""
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            out[y : y + h, x : x + w] = im
    return out


def _write_png(path: Path, image: np.ndarray) -> None:
    with atomic.atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def write_gif(path: Path, frames: list[np.ndarray], fps: float = 8.0) -> None:
    with atomic.atomic_path(path) as tmp:
        iio.imwrite(tmp, np.stack(frames), extension=".gif", duration=1000.0 / fps, loop=0)


def interpolated_params(ps: list[torch.Tensor], frames_per_warp: int) -> list[torch.Tensor]:
    """Warp parameters moving linearly from each warp's result to the next (additive composition)."""
    out = [ps[0]]
    for a, b in zip(ps[:-1], ps[1:], strict=True):
        for k in range(1, frames_per_warp + 1):
            out.append(a + (b - a) * (k / frames_per_warp))
    return out


@torch.no_grad()
def write_phase_samples(trainer, phase: int, final: bool) -> None:
    """`samples-latest.png` (and `samples-warp<k>.png` at a phase's end); `warps.gif` after warp phases."""
    params, data, gens = trainer.params, trainer.data, trainer.gens
    n = min(params.samples, len(data.background))
    device = trainer.rt.device
    bg_idx = torch.arange(n)
    fg_idx = torch.arange(n) % len(data.foreground)
    background = as_float(data.background[bg_idx.to(device)])
    foreground = as_float(data.foreground[fg_idx.to(device)])
    real = as_float(data.real[(torch.arange(n) % len(data.real)).to(device)])
    p0 = torch.zeros(n, warp.warp_dim(params.warp_type), device=device)
    ps, _ = gens(background, foreground, p0, phase)
    columns = [to_uint8(real)] + [to_uint8(warp.composite(gens.warp(foreground, p), background)) for p in ps]
    image = grid([[col[i] for col in columns] for i in range(n)])
    run_dir = Path(trainer.run_dir)
    _write_png(run_dir / "samples-latest.png", image)
    if final:
        _write_png(run_dir / f"samples-warp{phase}.png", image)
    if final and phase > 0:
        frames = []
        for p in interpolated_params(ps, params.gif_frames_per_warp):
            comp = to_uint8(warp.composite(gens.warp(foreground, p), background))
            frames.append(grid([list(comp)]))
        frames += [frames[-1]] * params.gif_frames_per_warp  # rest on the final placement
        write_gif(run_dir / "warps.gif", frames)
