"""`adgen evaluate gfla`: GFLA's images for the held-out (test) pairs, beside the real targets.

Scored by adgen.metrics.pairs (SSIM always, FID and LPIPS when their weights are configured), the
code every pose transfer's pairs are scored with.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from adgen.models.gfla.data import GflaPairs, tensor_to_image


@torch.no_grad()
def gfla_held_out(
    transfer, dataset: Path, data_params, n_pairs: int, batch: int = 8
) -> tuple[list[Image.Image], list[Image.Image]]:
    """(generated, real) target images for the first n held-out (test) pairs, at the network's size."""
    p = transfer.params.model_copy(
        update={
            "annotation_height": data_params.annotation_height,
            "annotation_width": data_params.annotation_width,
            "heatmap_sigma": data_params.heatmap_sigma,
        }
    )
    data = GflaPairs(dataset, "test", p)
    n = min(n_pairs, len(data))
    generated, real = [], []
    for start in range(0, n, batch):
        items = [data[i] for i in range(start, min(n, start + batch))]
        stack = {
            k: torch.stack([it[k] for it in items]).to(transfer.device) for k in ("P1", "BP1", "P2", "BP2")
        }
        image, _, _ = transfer.g(stack["P1"], stack["BP1"], stack["BP2"])
        generated += [tensor_to_image(t) for t in image]
        real += [tensor_to_image(t) for t in stack["P2"]]
    return generated, real
