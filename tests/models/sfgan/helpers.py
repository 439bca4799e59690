"""Shared set-up for the SF-GAN tests: a tiny relit dataset and tiny but real params."""

from __future__ import annotations

from pathlib import Path

from adgen.models.registry import with_preset
from adgen.models.sfgan.config import SfganParams
from adgen.models.sfgan.data import make_relit_dataset

TINY = {
    "fg_scale": 0.35,
    "warps": 1,
    "batch": 4,
    "geometry_iters_d_only": 4,
    "geometry_iters_per_warp": 4,
    "geometry_history": 0,
    "app_channels": 8,
    "app_levels": 2,
    "d_app_channels": 8,
    "iters": 6,
    "log_every": 1,
    "checkpoint_every": 3,
    "sample_every": 3,
    "samples": 2,
    "eval_images": 4,
    "device": "cpu",
}


def make_dataset(root: Path) -> Path:
    index = root / "ds" / "index.parquet"
    if not index.exists():
        make_relit_dataset(root / "ds", size=32, n_real=12, n_background=12, n_foreground=2, fg_scale=0.35)
    return index


def tiny_params(root: Path, **overrides) -> SfganParams:
    return with_preset(SfganParams(index=make_dataset(root), **{**TINY, **overrides}), "demo")
