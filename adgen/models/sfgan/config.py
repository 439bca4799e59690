"""train.sfgan.* params: SF-GAN's knobs and presets (`default` 128 px, `demo` tiny).

The geometry part is ST-GAN: the keys it shares with `train.stgan` (size, bag scale, warp type,
warps, D norm, perturbations, WGAN-GP weights) have the same names and meanings, and
`geometry_params()` turns them into the `StganParams` its networks and pre-training take. As for
ST-GAN, a preset is a starting point: every key written under `train.sfgan` in params.yaml wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from adgen.config.base import Device, Section
from adgen.models.stgan.config import StganParams

PresetName = Literal["default", "demo"]

# Columns of <paths.metrics>/sfgan_loss.csv (declared here, without torch, so the spec stays light).
LOSS_COLUMNS = (
    "loss_d_geometry",
    "loss_d_appearance",
    "loss_g_geometry",
    "loss_g_appearance",
    "loss_cycle",
)
# Written beside them in stats.jsonl, not losses (ST-GAN's convention): the WGAN distance estimate and
# the warp-update norm.
DIAGNOSTIC_COLUMNS = ("w_dist", "dp_norm")


class SfganParams(Section):
    """SF-GAN: ST-GAN's warps (pre-trained or loaded), then joint training with the appearance part."""

    preset: PresetName = "default"

    # --- data (the ST-GAN dataset: real people with bags, people, bag cut-outs) ------------------
    index: Path = Path("data/datasets/stgan/index.parquet")
    height: int = Field(128, ge=16, le=1024)
    width: int = Field(128, ge=16, le=1024)
    fg_scale: float = Field(0.5, gt=0.0, le=1.0)
    bg_fill: Literal["zero", "white"] = "white"  # the datasets stage puts people on white

    # --- geometry synthesizer (ST-GAN) --------------------------------------------------------
    # A trained ST-GAN (checkpoint file or run dir) to start from; None = pre-train one here, in
    # <run dir>/geometry, with the schedule below. Its size and warp type must match these keys.
    stgan_checkpoint: Path | None = None
    warp_type: Literal["homography", "affine"] = "homography"
    warps: int = Field(5, ge=1, le=20)
    d_norm: Literal["none", "layer"] = "layer"
    init_std: float = Field(0.01, gt=0.0, le=1.0)
    exp_terms: int = Field(20, ge=2, le=50)
    geometry_iters_d_only: int = Field(50000, ge=0, le=10_000_000)
    geometry_iters_per_warp: int = Field(50000, ge=1, le=10_000_000)
    geometry_lr: float = Field(1e-5, gt=0.0, le=1.0)  # pre-training lr of the warps and their D
    geometry_history: int = Field(10000, ge=0, le=1_000_000)
    pert_fg: float = Field(0.1, ge=0.0, le=1.0)
    pert_fg_d_only: float = Field(0.2, ge=0.0, le=1.0)
    pert_bg: float = Field(0.1, ge=0.0, le=1.0)
    gp_lambda: float = Field(10.0, ge=0.0, le=1000.0)
    dp_lambda: float = Field(1.0, ge=0.0, le=1000.0)

    # --- appearance synthesizer --------------------------------------------------------------
    app_channels: int = Field(32, ge=4, le=256)  # width of the first encoder level (x2 per level)
    app_levels: int = Field(4, ge=1, le=7)
    style_residual: bool = True  # a per-pixel correction on top of the global colour transform
    gf_radius: int = Field(2, ge=0, le=64)  # guided filter window radius, px
    gf_eps: float = Field(1e-3, gt=0.0, le=1.0)  # guided filter regulariser (images in [0, 1])
    d_app_channels: int = Field(64, ge=4, le=512)

    # --- joint training ----------------------------------------------------------------------
    iters: int = Field(50000, ge=1, le=10_000_000)
    batch: int = Field(16, ge=2, le=4096)
    lr_geometry: float = Field(1e-6, ge=0.0, le=1.0)  # fine-tuning the warps (0 = frozen)
    lr_appearance: float = Field(1e-4, gt=0.0, le=1.0)
    lr_d_geometry: float = Field(1e-5, gt=0.0, le=1.0)
    lr_d_appearance: float = Field(1e-4, gt=0.0, le=1.0)
    adam_betas_app: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = (
        0.5,
        0.999,
    )
    geometry_weight: float = Field(1.0, ge=0.0, le=1000.0)  # WGAN loss of the warped composite
    appearance_weight: float = Field(1.0, ge=0.0, le=1000.0)  # LSGAN loss of the final composite
    # Joint steps over which that weight ramps up from 0: the appearance D first learns placement
    # cues the translator cannot fix, and its early gradients undo what the relight cycle teaches.
    appearance_warmup: int = Field(10000, ge=0, le=10_000_000)
    # The relight cycle: a bag-shaped patch of a real photo, relit by a random known light, must come
    # back as it was; identity_share of the draws use no relighting (a fitting bag is left alone).
    cycle_lambda: float = Field(10.0, ge=0.0, le=1000.0)
    identity_share: float = Field(0.25, ge=0.0, le=1.0)
    light_strength: float = Field(0.3, ge=0.0, le=1.0)
    cycle_pert: float = Field(0.25, ge=0.0, le=1.0)  # how far from the centre the patch may sit

    # --- bookkeeping -------------------------------------------------------------------------
    seed: int = Field(0, ge=0, le=2**31 - 1)
    log_every: int = Field(20, ge=1, le=1_000_000)
    checkpoint_every: int = Field(2000, ge=1, le=10_000_000)
    keep_checkpoints: int = Field(2, ge=1, le=1000)
    sample_every: int = Field(2000, ge=1, le=10_000_000)
    samples: int = Field(8, ge=1, le=64)
    eval_images: int = Field(64, ge=1, le=100_000)
    device: Device = "auto"
    amp: bool = True

    def geometry_params(self) -> StganParams:
        """The ST-GAN params of the geometry part (pre-training schedule, networks, perturbations)."""
        history_mix = self.batch // 2 if self.geometry_history else 0
        return StganParams(
            preset="exp2",
            index=self.index,
            height=self.height,
            width=self.width,
            fg_scale=self.fg_scale,
            bg_fill=self.bg_fill,
            warp_type=self.warp_type,
            warps=self.warps,
            d_norm=self.d_norm,
            init_std=self.init_std,
            exp_terms=self.exp_terms,
            batch=self.batch,
            lr_g=self.geometry_lr,
            lr_d=self.geometry_lr,
            gp_lambda=self.gp_lambda,
            dp_lambda=self.dp_lambda,
            history_size=max(self.geometry_history, self.batch) if self.geometry_history else 0,
            history_mix=history_mix,
            iters_d_only=self.geometry_iters_d_only,
            iters_per_warp=self.geometry_iters_per_warp,
            pert_fg=self.pert_fg,
            pert_fg_d_only=self.pert_fg_d_only,
            pert_bg=self.pert_bg,
            seed=self.seed,
            log_every=self.log_every,
            checkpoint_every=self.checkpoint_every,
            keep_checkpoints=self.keep_checkpoints,
            sample_every=self.sample_every,
            samples=self.samples,
            eval_images=self.eval_images,
            device=self.device,
            amp=self.amp,
        )


PRESETS: dict[str, dict[str, Any]] = {
    # 128x128 on background-stripped people; ST-GAN's official geometry schedule, then 50k joint.
    "default": {},
    # Minutes on a CPU: 32 px, short schedules, fast learning rates. Two warps and LayerNorm, as
    # ST-GAN's demo preset, so a demo ST-GAN can be loaded through stgan_checkpoint.
    "demo": {
        "height": 32,
        "width": 32,
        "warps": 2,
        "batch": 8,
        "geometry_iters_d_only": 50,
        "geometry_iters_per_warp": 100,
        "geometry_lr": 1e-4,
        "geometry_history": 400,
        "app_channels": 16,
        "app_levels": 3,
        "d_app_channels": 32,
        "gf_radius": 1,
        "iters": 200,
        "appearance_weight": 0.1,
        "appearance_warmup": 200,
        "lr_geometry": 1e-5,
        "lr_appearance": 1e-3,
        "lr_d_geometry": 1e-4,
        "lr_d_appearance": 2e-4,
        "log_every": 10,
        "checkpoint_every": 50,
        "sample_every": 100,
        "samples": 6,
        "eval_images": 16,
    },
}
