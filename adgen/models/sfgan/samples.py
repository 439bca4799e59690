"""What a person looks at to judge an SF-GAN run: ST-GAN's composite next to SF-GAN's.

Rows are fixed samples; columns: a real photo, the bag at the centre, the warped bag pasted as it is
(geometry only, what ST-GAN gives), and SF-GAN's composite (geometry + appearance). Samples use
p0 = 0 and never touch the global RNG, so writing them does not change training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen import atomic
from adgen.models.stgan import warp
from adgen.models.stgan.data import as_float
from adgen.models.stgan.samples import grid, to_uint8


def write_png(path: Path, image: np.ndarray) -> None:
    with atomic.atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


@torch.no_grad()
def write_samples(trainer, final: bool) -> None:
    """`samples-latest.png`, and `samples-final.png` at the end of the run."""
    params, data, fusion = trainer.params, trainer.data, trainer.nets.fusion
    n = min(params.samples, len(data.background))
    device = trainer.rt.device
    background = as_float(data.background[torch.arange(n).to(device)])
    foreground = as_float(data.foreground[(torch.arange(n) % len(data.foreground)).to(device)])
    real = as_float(data.real[(torch.arange(n) % len(data.real)).to(device)])
    p0 = torch.zeros(n, warp.warp_dim(params.warp_type), device=device)
    out = fusion(background, foreground, p0)
    centred = warp.composite(foreground, background)
    columns = [to_uint8(x) for x in (real, centred, out.geometry_composite, out.composite)]
    image = grid([[col[i] for col in columns] for i in range(n)])
    run_dir = Path(trainer.run_dir)
    write_png(run_dir / "samples-latest.png", image)
    if final:
        write_png(run_dir / "samples-final.png", image)
