"""Scores of images made for a known answer: a person moved into a pose, beside the real photo of
that person in that pose (a held-out pair). SSIM always; FID and LPIPS when their networks are
configured (`metrics.fid_inception_graph`, `metrics.lpips_weights` + `metrics.lpips_alexnet_weights`),
else recorded as skipped with the reason, so a table can still be written.

One code path for every pose transfer (GFLA's own evaluation, PIDM's step curve, the comparison's
pair columns), so their numbers can stand side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from adgen.errors import UserError


@dataclass(frozen=True)
class PairMetricFiles:
    """The metric networks' files (None: that metric is skipped) and the batch size."""

    fid_graph: Path | None = None
    lpips_weights: Path | None = None
    lpips_alexnet_weights: Path | None = None
    batch_size: int = 32
    lpips_setting: str = "metrics.lpips_weights"  # named in the "skipped" reason


def pair_metric_files(params, lpips_from=None) -> PairMetricFiles:
    """The files named in params.metrics. `lpips_from` (GFLA's section) is the older place of the
    LPIPS weights, still read when metrics.lpips_weights is unset."""
    m = params.metrics
    lp, la, setting = m.lpips_weights, m.lpips_alexnet_weights, "metrics.lpips_weights"
    if lp is None and lpips_from is not None and getattr(lpips_from, "lpips_weights", None):
        lp, la, setting = (
            lpips_from.lpips_weights,
            lpips_from.lpips_alexnet_weights,
            "train.gfla.lpips_weights",
        )
    return PairMetricFiles(
        fid_graph=params.path(m.fid_inception_graph) if m.fid_inception_graph else None,
        lpips_weights=params.path(lp) if lp else None,
        lpips_alexnet_weights=params.path(la) if la else None,
        batch_size=m.batch_size,
        lpips_setting=setting,
    )


def same_size(generated: list[Image.Image], real: list[Image.Image]) -> list[Image.Image]:
    """The real photos at the generated images' sizes (a network's frame may differ from the photo's)."""
    return [
        r.convert("RGB") if r.size == g.size else r.convert("RGB").resize(g.size, Image.BICUBIC)
        for g, r in zip(generated, real, strict=True)
    ]


def score_pairs(
    generated: list[Image.Image], real: list[Image.Image], files: PairMetricFiles
) -> dict[str, Any]:
    """{pairs, ssim, fid | fid_skipped, lpips | lpips_skipped}: `generated[i]` against `real[i]`."""
    from adgen.metrics.ssim import ssim

    if not generated:
        raise UserError("pair scoring: no held-out pairs to score")
    real = same_size(generated, real)
    out: dict[str, Any] = {
        "pairs": len(generated),
        "ssim": float(np.mean([ssim(a, b) for a, b in zip(generated, real, strict=True)])),
    }
    if files.fid_graph is None:
        out["fid_skipped"] = "metrics.fid_inception_graph is not set"
    elif len(generated) < 2:
        out["fid_skipped"] = "FID needs at least 2 pairs"
    else:
        from adgen.metrics.fid import fid

        out["fid"] = float(fid(real, generated, files.fid_graph, batch_size=files.batch_size))
    if files.lpips_weights is None:
        out["lpips_skipped"] = f"{files.lpips_setting} is not set"
    else:
        from adgen.metrics.lpips import lpips_distance

        out["lpips"] = float(
            np.mean(lpips_distance(generated, real, files.lpips_weights, files.lpips_alexnet_weights))
        )
    return out
