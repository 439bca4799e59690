"""`adgen evaluate gfla`: GFLA on held-out (test) pairs, SSIM always, FID and LPIPS when their
weights are configured (else recorded as skipped with the reason).

GFLA's own scoring, beside the model it scores; the shared metrics (SSIM, FID, LPIPS) are in
adgen/metrics/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from adgen.errors import UserError
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


def score_gfla(
    generated: list[Image.Image],
    real: list[Image.Image],
    params,
    lpips_weights: Path | None,
    lpips_alexnet_weights: Path | None = None,
) -> dict[str, Any]:
    from adgen.metrics.ssim import ssim

    if not generated:
        raise UserError("GFLA evaluation: no held-out pairs")
    out: dict[str, Any] = {
        "pairs": len(generated),
        "ssim": float(np.mean([ssim(a, b) for a, b in zip(generated, real, strict=True)])),
    }
    m = params.metrics
    if m.fid_inception_graph is None:
        out["fid_skipped"] = "metrics.fid_inception_graph is not set"
    elif len(generated) < 2:
        out["fid_skipped"] = "FID needs at least 2 pairs"
    else:
        from adgen.metrics.fid import fid

        out["fid"] = float(fid(real, generated, params.path(m.fid_inception_graph), batch_size=m.batch_size))
    if lpips_weights is None:
        out["lpips_skipped"] = "train.gfla.lpips_weights is not set"
    else:
        from adgen.metrics.lpips import lpips_distance

        out["lpips"] = float(np.mean(lpips_distance(generated, real, lpips_weights, lpips_alexnet_weights)))
    return out
