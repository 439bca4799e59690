"""train.stylegan2.* params: the StyleGAN2 network shape, losses, schedule and data.

Named presets (as NVlabs' `--cfg`) fill in every architecture/training knob; keys written
explicitly in params.yaml override the preset, so `preset: auto` plus `batch: 7` is the
product's original set-up. Resolve with `adgen.models.registry.with_preset(params, preset=None)`.

- `paper`: NVlabs' `stylegan2` cfg (= rosinality config-f): channel base 32768, max 512,
  8-layer mapping, minibatch-stddev group 4. At 128x128: 29,328,669 G / 28,389,121 D params.
- `auto`: NVlabs' `auto` cfg at 128: channel base 16384, 2-layer mapping, EMA ramp-up.
  22,949,277 G / 23,882,369 D params.
- `demo`: a tiny 32x16 (H:W 2:1) network that trains in seconds on a CPU (tests, make demo).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from adgen.config.base import Device, Section

PresetName = Literal["paper", "auto", "demo"]


class StyleGAN2Params(Section):
    """Every knob of one StyleGAN2 run (defaults = the `auto` preset, 128x64 full bodies)."""

    preset: PresetName = "auto"

    # --- data -------------------------------------------------------------------------------
    dataset: Path = Path("data/datasets/stylegan2/people-bags.zip")  # NVlabs zip (PNGs + dataset.json)
    mirror: bool = True  # also show each image flipped left-right (x-flip dataset augmentation)

    # --- architecture -------------------------------------------------------------------------
    resolution: tuple[int, int] = (128, 64)  # (height, width); H:W must be 1:1 or 2:1
    z_dim: int = Field(512, ge=1)
    w_dim: int = Field(512, ge=1)
    mapping_layers: int = Field(2, ge=1)
    mapping_lr_mult: float = Field(0.01, gt=0)
    channel_base: int = Field(16384, ge=1)
    channel_max: int = Field(512, ge=1)
    mbstd_group: int = Field(4, ge=1)
    mbstd_channels: int = Field(1, ge=0)

    # --- optimisation -----------------------------------------------------------------------
    batch: int = Field(32, ge=1)  # images per optimiser step (all GPUs together)
    # images per forward pass; batch/batch_gpu steps are accumulated
    batch_gpu: int | None = Field(None, ge=1)
    # both G and D (Adam betas 0, 0.99; corrected for lazy regularisation)
    lr: float = Field(0.002, gt=0, le=1)
    r1_gamma: float | None = Field(None, ge=0)  # None: NVlabs' auto formula 0.0002 * H * W / batch
    r1_interval: int = Field(16, ge=1)  # lazy R1: every N minibatches
    pl_weight: float = Field(2.0, ge=0)
    pl_interval: int = Field(4, ge=1)  # lazy path-length regularisation: every N minibatches
    pl_batch_shrink: int = Field(2, ge=1)
    pl_decay: float = Field(0.01, gt=0, le=1)
    style_mixing: float = Field(0.9, ge=0, le=1)
    ema_kimg: float | None = Field(None, ge=0)  # None: batch * 10 / 32 (NVlabs auto)
    ema_rampup: float | None = Field(0.05, ge=0)

    # --- small-data augmentation (ADA) ------------------------------------------------------------
    augment: Literal["ada", "none"] = "ada"
    ada_target: float = Field(0.6, gt=0, le=1)  # r_t = E[sign(D(real))] target
    ada_interval: int = Field(4, ge=1)  # adjust p every N minibatches
    ada_kimg: float = Field(500.0, gt=0)  # p can go 0 -> 1 in this many kimg

    # --- schedule / outputs -----------------------------------------------------------------
    total_kimg: float = Field(25000.0, ge=0)
    tick_kimg: float = Field(4.0, gt=0)  # one log line + stats.jsonl record per tick
    checkpoint_kimg: float = Field(200.0, gt=0)
    sample_kimg: float = Field(200.0, ge=0)  # sample grid every N kimg (0: only at the end)
    keep_checkpoints: int = Field(3, ge=1)
    fid_kimg: float = Field(0.0, ge=0)  # FID of G_ema vs the dataset every N kimg into stats.jsonl (0: off)
    fid_images: int = Field(10000, ge=1)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    device: Device = "auto"
    amp: bool = True  # mixed precision on GPU (bf16 where supported, else fp16 + grad scaling)
    # bfloat16 autocast for the G/D main phases on CPU (R1 and path length stay float32). Needs a
    # CPU with native bf16 (AVX512-BF16 or AMX): 1.8x faster convolutions on this project's EPYC.
    cpu_bf16: bool = False
    workers: int = Field(2, ge=0)

    @field_validator("resolution")
    @classmethod
    def _resolution_is_tall_or_square(cls, v: tuple[int, int]) -> tuple[int, int]:
        h, w = v
        pow2 = all(x >= 2 and x & (x - 1) == 0 for x in v)
        if not pow2 or h < 8 or h not in (w, 2 * w):
            raise ValueError("resolution must be [H, W], powers of two, H >= 8, H:W = 1:1 or 2:1")
        return v

    @property
    def gamma(self) -> float:
        """R1 weight: the configured value or NVlabs' auto heuristic (by image area)."""
        if self.r1_gamma is not None:
            return self.r1_gamma
        h, w = self.resolution
        return 0.0002 * h * w / self.batch

    @property
    def ema_nimg(self) -> float:
        kimg = self.ema_kimg if self.ema_kimg is not None else self.batch * 10 / 32
        return kimg * 1000


PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(
        channel_base=32768,
        channel_max=512,
        mapping_layers=8,
        mbstd_group=4,
        lr=0.002,
        ema_kimg=10.0,
        ema_rampup=None,
        r1_gamma=10.0,
        batch=32,
    ),
    "auto": dict(
        channel_base=16384,
        channel_max=512,
        mapping_layers=2,
        mbstd_group=4,
        lr=0.002,
        ema_kimg=None,
        ema_rampup=0.05,
        r1_gamma=None,
        batch=32,
    ),
    "demo": dict(
        resolution=(32, 16),
        z_dim=32,
        w_dim=32,
        mapping_layers=2,
        channel_base=256,
        channel_max=32,
        mbstd_group=2,
        batch=4,
        lr=0.002,
        ema_kimg=None,
        ema_rampup=0.05,
        r1_gamma=None,
        r1_interval=4,
        pl_interval=2,
        total_kimg=0.2,
        tick_kimg=0.02,
        checkpoint_kimg=0.04,
        sample_kimg=0.1,
        workers=0,
    ),
}


__all__ = ["PRESETS", "StyleGAN2Params"]
