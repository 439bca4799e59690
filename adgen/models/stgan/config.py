"""train.stgan.* params: ST-GAN's knobs, with the official glasses values as defaults, and presets.

A preset is a named set of values (`exp1`, `exp2`, `exp3`, `demo`). `train.stgan.preset` in
params.yaml (or `--preset` on the command line) picks one; every key written explicitly under
`train.stgan` in params.yaml wins over the preset, so a preset is a starting point, not a lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from adgen.config.base import Device, Section

PresetName = Literal["exp1", "exp2", "exp3", "demo"]


class StganParams(Section):
    """ST-GAN training and architecture; defaults are the official implementation's (glasses/)."""

    preset: PresetName = "exp2"

    # --- data -------------------------------------------------------------------------------
    # The ST-GAN dataset index built by the datasets stage (contracts §4): role real|background|
    # foreground, size, path, image_id, optional anchor_x/anchor_y (where the bag should sit).
    index: Path = Path("data/datasets/stgan/index.parquet")
    height: int = Field(144, ge=16)
    width: int = Field(144, ge=16)
    # The bag is scaled so its longer side is this fraction of the image, and centred (the canonical
    # position every warp starts from, like the official 144x144 glasses canvas).
    fg_scale: float = Field(0.5, gt=0.0, le=1.0)
    # What background pixels perturbed in from outside the image read: zero (official, black) or
    # white (people stripped onto white, exp3).
    bg_fill: Literal["zero", "white"] = "zero"

    # --- model --------------------------------------------------------------------------------
    warp_type: Literal["homography", "affine"] = "homography"
    warps: int = Field(5, ge=1, le=20)
    d_norm: Literal["none", "layer"] = "none"
    init_std: float = Field(0.01, gt=0.0)
    exp_terms: int = Field(20, ge=2)

    # --- optimisation (WGAN-GP) ---------------------------------------------------------------
    batch: int = Field(20, ge=2)
    lr_g: float = Field(1e-5, gt=0.0)
    lr_d: float = Field(1e-5, gt=0.0)
    adam_betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = (
        0.9,
        0.999,
    )  # TensorFlow's Adam defaults
    gp_lambda: float = Field(10.0, ge=0.0)
    dp_lambda: float = Field(1.0, ge=0.0)
    g_steps: int = Field(1, ge=1)
    d_steps: int = Field(2, ge=1)
    # History of old fakes shown to D: a ring of history_size composites; each D batch mixes
    # history_mix drawn from the ring with batch - history_mix fresh ones (0 = no history).
    history_size: int = Field(10000, ge=0)
    history_mix: int = Field(10, ge=0)

    # --- schedule -----------------------------------------------------------------------------
    iters_d_only: int = Field(50000, ge=0)  # D pre-training with bags at the centre (warp 0)
    iters_per_warp: int = Field(50000, ge=1)
    pert_fg: float = Field(0.1, ge=0.0)  # p0 = pert_fg * N(0, I)
    pert_fg_d_only: float = Field(0.2, ge=0.0)
    pert_bg: float = Field(0.1, ge=0.0)  # rotation/translation noise of real and fake backgrounds

    # --- bookkeeping --------------------------------------------------------------------------
    seed: int = Field(0, ge=0, le=2**32 - 1)
    log_every: int = Field(20, ge=1)
    checkpoint_every: int = Field(2000, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    sample_every: int = Field(2000, ge=1)
    samples: int = Field(8, ge=1)
    gif_frames_per_warp: int = Field(6, ge=1)
    eval_images: int = Field(64, ge=1)  # backgrounds with anchors used for the placement error
    device: Device = "auto"
    amp: bool = True

    @model_validator(mode="after")
    def _history_fits_batch(self) -> StganParams:
        if self.history_size and self.history_mix >= self.batch:
            raise ValueError(f"history_mix ({self.history_mix}) must be smaller than batch ({self.batch})")
        if self.history_size and self.history_size < self.batch:
            raise ValueError(f"history_size ({self.history_size}) must hold at least one batch")
        return self

    @property
    def total_iters(self) -> int:
        return self.iters_d_only + self.warps * self.iters_per_warp


# Values each preset sets; keys not named keep the official defaults above.
PRESETS: dict[str, dict[str, Any]] = {
    # The original architecture and schedule at 144x144.
    "exp1": {"height": 144, "width": 144, "d_norm": "none"},
    # 128x128 and LayerNorm in D.
    "exp2": {"height": 128, "width": 128, "d_norm": "layer"},
    # exp2 on background-stripped people: the built index holds people on white (contracts §4),
    # so perturbed-in borders are white too.
    "exp3": {"height": 128, "width": 128, "d_norm": "layer", "bg_fill": "white"},
    # Minutes on a CPU: tiny images, two warps, a short schedule, faster learning rates.
    "demo": {
        "height": 32,
        "width": 32,
        "d_norm": "layer",
        "bg_fill": "white",
        "warps": 2,
        "batch": 8,
        "lr_g": 1e-4,
        "lr_d": 1e-4,
        "history_size": 400,
        "history_mix": 4,
        "iters_d_only": 50,
        "iters_per_warp": 100,
        "log_every": 10,
        "checkpoint_every": 50,
        "sample_every": 100,
        "samples": 6,
        "eval_images": 16,
    },
}
