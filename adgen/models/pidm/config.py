"""train.pidm.* params: the PIDM network, its diffusion, its training recipe and schedule.

Named presets fill in every architecture/training knob; keys written explicitly in params.yaml win
over the preset (`adgen.models.registry.with_preset`).

- `deepfashion256`: the official DeepFashion configuration (config/diffconfig.py, diffusion.conf,
  train.py of ankanbhunia/PIDM): 256x256, 128 base channels, levels (1, 1, 2, 2, 4, 4), cross-attention
  at 32/16/8 px, 512-wide time embedding, dropout 0.1, Adam 2e-5 after 5k warm-up steps, EMA 0.9999,
  16 images a step (8 pairs, each both ways). 180,355,718 parameters, the released checkpoint's.
- `single_gpu`: the same network at half the width (64 base channels, ~45 M parameters), 8 images a
  step: trains at 256 px on one 24 GB card.
- `demo`: a 32x32 network with two levels that trains real steps in seconds on a CPU (tests, make demo).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from adgen.config.base import Device, Section

PresetName = Literal["deepfashion256", "single_gpu", "demo"]
# Columns of <paths.metrics>/pidm_loss.csv: the objective and its two terms (official names).
LOSS_COLUMNS = ("loss", "mse", "vb")
# The pose map the UNet reads beside the noisy image: the drawn skeleton (RGB) and one distance map
# per OpenPose limb (17), as the official data loader builds it.
POSE_CHANNELS = 3 + 17


class PidmParams(Section):
    """Every knob of one PIDM run (defaults = the `deepfashion256` preset)."""

    preset: PresetName = "deepfashion256"

    # --- data: GFLA pairs of DeepFashion (adgen/datasets/gfla.py layout) ---------------------------
    dataset: Path = Path("data/datasets/gfla")
    height: int = Field(256, ge=8, le=1024)  # images are resized to height x width
    width: int = Field(256, ge=8, le=1024)
    annotation_height: int = Field(256, ge=8, le=4096)  # the CSV keypoints' pixel frame (DeepFashion 256x176)
    annotation_width: int = Field(176, ge=8, le=4096)

    # --- network (official names in comments) ---------------------------------------------------
    model_channels: int = Field(128, ge=32, le=1024)  # model_channels
    channel_mult: tuple[int, ...] = (1, 1, 2, 2, 4, 4)  # channel_mult: one entry per resolution level
    num_res_blocks: int = Field(2, ge=1, le=8)
    attention_resolutions: tuple[int, ...] = (32, 16, 8)  # feature heights with cross-attention
    embed_channels: int = Field(512, ge=8, le=4096)  # time embedding width
    dropout: float = Field(0.1, ge=0, lt=1)

    # --- diffusion ---------------------------------------------------------------------------------
    timesteps: int = Field(1000, ge=2, le=10_000)
    beta_start: float = Field(1e-4, gt=0, lt=1)
    beta_end: float = Field(2e-2, gt=0, lt=1)
    # condition dropout (classifier-free guidance): the source image is replaced by zeros with this
    # probability (official guidance_prob 0.1); the pose map likewise (paper; 0 in the official code)
    style_drop_prob: float = Field(0.1, ge=0, le=1)
    pose_drop_prob: float = Field(0.0, ge=0, le=1)

    # --- optimisation -----------------------------------------------------------------------------
    batch: int = Field(16, ge=2, le=4096)  # images a step, all GPUs: batch/2 pairs, each both ways
    lr: float = Field(2e-5, gt=0, le=1)
    warmup_steps: int = Field(
        5000, ge=0, le=100_000_000
    )  # linear lr warm-up; EMA copies the weights until then
    grad_clip: float = Field(1.0, gt=0, le=1e6)
    ema_decay: float = Field(0.9999, ge=0, lt=1)
    scale_param: float = Field(0.05, ge=0, le=1)  # random up-scale + crop of each pair (official 0.05)

    # --- sampling (sample grids while training; `adgen generate` has its own) ----------------------
    sample_steps_ddim: int = Field(50, ge=1, le=10_000)
    guidance_style: float = Field(2.0, ge=0, le=100)  # appearance scale (official cond_scale 2)
    # pose scale; None: the official guidance (pose always given, appearance guided alone)
    guidance_pose: float | None = Field(None, ge=0, le=100)
    # clamp each DDIM step's x̂0 to [-1, 1] (improved-diffusion's clip_denoised); the official sampler
    # does not, and a weakly trained network's samples then saturate into noise (docs/pidm.md)
    sample_clip_x0: bool = False

    # --- `adgen evaluate pidm`: quality and speed against the DDIM step count ---------------------
    eval_pairs: int = Field(100, ge=1, le=100_000)  # held-out (test) pairs, the same at every step count
    eval_steps: tuple[int, ...] = (1000, 100, 50, 25)  # DDIM step counts; the largest is the reference
    eval_batch: int = Field(8, ge=1, le=1024)  # pairs sampled at once

    # --- schedule / outputs -------------------------------------------------------------------------
    total_steps: int = Field(2_400_000, ge=1, le=100_000_000)  # official scheduler n_iter
    tick_steps: int = Field(50, ge=1, le=100_000_000)
    checkpoint_steps: int = Field(2000, ge=1, le=100_000_000)
    sample_every: int = Field(20_000, ge=0, le=100_000_000)  # sample grid every N steps (0: at the end)
    grid_pairs: int = Field(4, ge=1, le=64)
    keep_checkpoints: int = Field(3, ge=1, le=1000)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    device: Device = "auto"
    amp: bool = True  # bf16 autocast on GPU
    workers: int = Field(2, ge=0, le=64)

    @field_validator("channel_mult")
    @classmethod
    def _levels(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not 1 <= len(v) <= 8 or any(not 1 <= m <= 16 for m in v):
            raise ValueError("1 to 8 levels, each a multiplier from 1 to 16")
        return v

    @field_validator("eval_steps")
    @classmethod
    def _eval_steps(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not 1 <= len(v) <= 16 or any(not 1 <= s <= 10_000 for s in v):
            raise ValueError("1 to 16 DDIM step counts, each 1 to 10000")
        return v

    @field_validator("attention_resolutions")
    @classmethod
    def _attention(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if len(v) > 8 or any(not 1 <= r <= 1024 for r in v):
            raise ValueError("at most 8 feature heights, each 1 to 1024")
        return v

    @model_validator(mode="after")
    def _shapes(self) -> PidmParams:
        down = 2 ** (len(self.channel_mult) - 1)
        if self.height % down or self.width % down:
            raise ValueError(
                f"height and width must be multiples of {down} (the UNet halves them {down.bit_length() - 1} times)"
            )
        if any(m * self.model_channels % 32 for m in self.channel_mult):
            # GroupNorm's 32 groups must divide every width, the decoder's concatenations included
            raise ValueError("model_channels x each channel_mult entry must be a multiple of 32")
        if self.batch % 2:
            raise ValueError("batch must be even (each pair is trained both ways)")
        if max(self.eval_steps) > self.timesteps:
            raise ValueError(f"eval_steps: at most {self.timesteps} DDIM steps (the timesteps)")
        if self.beta_end <= self.beta_start:
            raise ValueError("beta_end must be above beta_start")
        return self


PRESETS: dict[str, dict[str, Any]] = {
    "deepfashion256": {},  # the class defaults are the official configuration
    "single_gpu": dict(model_channels=64, batch=8),
    "demo": dict(
        height=32,
        width=32,
        model_channels=32,
        channel_mult=(1, 2),
        num_res_blocks=1,
        attention_resolutions=(16,),
        embed_channels=64,
        dropout=0.0,
        batch=4,
        warmup_steps=2,
        total_steps=8,
        tick_steps=2,
        checkpoint_steps=4,
        sample_every=0,
        sample_steps_ddim=4,
        grid_pairs=2,
        workers=0,
        eval_pairs=4,  # the demo's DDIM step curve: a few seconds on a CPU (1000 steps would take minutes)
        eval_steps=(10, 5, 2),
        eval_batch=4,
    ),
}


__all__ = ["LOSS_COLUMNS", "POSE_CHANNELS", "PRESETS", "PidmParams", "preset"]


def preset(name: str, **explicit: Any) -> PidmParams:
    """The preset `name`, overlaid by `explicit` keys (as params.yaml keys overlay it)."""
    from adgen.config.base import apply_preset

    return apply_preset(PidmParams(**explicit), PRESETS, name, "PIDM")
