"""train.dcgan.* params: the DCGAN network shape, the paper's recipe, the schedule and the data.

Named presets fill in every architecture/training knob; keys written explicitly in params.yaml
override the preset (`adgen.models.registry.with_preset`, as for StyleGAN2).

- `dcgan64`: the paper's 64x64 network and recipe (batch 128, Adam 2e-4, beta1 0.5).
  G 3,576,704 / D 2,765,568 parameters (BatchNorm running statistics not counted).
- `dcgan128`: 128x128, one more stride-2 layer on each side (G starts at 4x4x1024).
- `fullbody`: the product's 2:1 full-body frame, 128x64 (H x W): G starts at 8x4x512 and D ends
  with an 8x4 convolution, so the layers in between are the paper's.
- `demo`: a tiny 32x16 network (100 steps of batch 8) that trains in seconds on a CPU (tests, make demo).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from adgen.config.base import Device, Section

PresetName = Literal["dcgan64", "dcgan128", "fullbody", "demo"]
# Columns of <paths.metrics>/dcgan_loss.csv (DVC plots, the report's curves), one per stats.jsonl key.
LOSS_COLUMNS = ("loss_G", "loss_D_real", "loss_D_fake")


class DcganParams(Section):
    """Every knob of one DCGAN run (defaults = the `dcgan64` preset)."""

    preset: PresetName = "dcgan64"

    # --- data: the StyleGAN2 NVlabs zip, each image resized to the DCGAN frame ------------------
    dataset: Path = Path("data/datasets/stylegan2/people-bags.zip")
    mirror: bool = True  # also show each image flipped left-right

    # --- architecture -------------------------------------------------------------------------
    resolution: tuple[int, int] = (64, 64)  # (height, width); H:W 1:1 or 2:1, powers of two
    z_dim: int = Field(100, ge=1, le=4096)
    g_channels: int = Field(64, ge=1, le=1024)  # channels of G's last hidden layer (x2 per layer up)
    d_channels: int = Field(64, ge=1, le=1024)  # channels of D's first layer (x2 per layer down)

    # --- the paper's recipe --------------------------------------------------------------------
    batch: int = Field(128, ge=2, le=65536)  # images per optimiser step (all GPUs together)
    lr: float = Field(2e-4, gt=0, le=1.0)
    beta1: float = Field(0.5, ge=0, lt=1.0)
    beta2: float = Field(0.999, ge=0, lt=1.0)
    init_std: float = Field(0.02, gt=0, le=1.0)  # N(0, std) weights; BatchNorm scale N(1, std)

    # --- schedule / outputs -----------------------------------------------------------------
    total_steps: int = Field(20000, ge=1, le=100_000_000)
    tick_steps: int = Field(100, ge=1, le=100_000_000)  # one stats.jsonl record + log line per tick
    checkpoint_steps: int = Field(1000, ge=1, le=100_000_000)
    sample_steps: int = Field(1000, ge=0, le=100_000_000)  # sample grid every N steps (0: at the end)
    keep_checkpoints: int = Field(3, ge=1, le=1000)
    grid_seeds: int = Field(64, ge=1, le=1024)  # people in each sample grid (seeds 0 … n-1)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    device: Device = "auto"
    amp: bool = True  # mixed precision on GPU (bf16 where supported, else fp16 + grad scaling)
    workers: int = Field(2, ge=0, le=64)

    @field_validator("resolution")
    @classmethod
    def _resolution_is_tall_or_square(cls, v: tuple[int, int]) -> tuple[int, int]:
        h, w = v
        pow2 = all(x >= 2 and x & (x - 1) == 0 for x in v)
        if not pow2 or w < 8 or h > 1024 or h not in (w, 2 * w):
            raise ValueError("resolution must be [H, W], powers of two, W >= 8, H <= 1024, H:W = 1:1 or 2:1")
        return v


PRESETS: dict[str, dict[str, Any]] = {
    "dcgan64": dict(resolution=(64, 64), z_dim=100, g_channels=64, d_channels=64, batch=128),
    "dcgan128": dict(resolution=(128, 128), z_dim=100, g_channels=64, d_channels=64, batch=128),
    "fullbody": dict(resolution=(128, 64), z_dim=100, g_channels=64, d_channels=64, batch=128),
    "demo": dict(
        resolution=(32, 16),
        z_dim=16,
        g_channels=8,
        d_channels=8,
        batch=8,
        total_steps=100,
        tick_steps=20,
        checkpoint_steps=50,
        sample_steps=50,
        grid_seeds=16,
        workers=0,
    ),
}


__all__ = ["LOSS_COLUMNS", "PRESETS", "DcganParams"]
