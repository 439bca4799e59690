"""train.dpig.* params: Disentangled Person Image Generation, its two stages and its data.

Named presets instead of twenty flags: `deepfashion256` is the official DeepFashion setup (the
graphs whose parameter counts the tests assert), `market128` the official Market-1501 one (128x64,
with the background branch: a 352-d appearance embedding), `demo` a network small enough to train
real steps of both stages on a CPU in seconds. A key written in params.yaml overrides the preset's
value for that key only (`adgen.models.registry.with_preset`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from adgen.config.base import Device, Section

PresetName = Literal["deepfashion256", "market128", "demo"]


class DpigParams(Section):
    preset: PresetName = "deepfashion256"

    # --- data: people with their 18 keypoints --------------------------------------------------
    # from the DPIG dataset of `adgen build-datasets` (data/datasets/dpig): people: the stripped
    # people with the pose stage's keypoints; deepfashion: the In-shop images of datasets.deepfashion
    sources: list[Literal["people", "deepfashion"]] = ["people", "deepfashion"]
    min_keypoints: int = Field(4, ge=1, le=18)  # people with fewer present keypoints are left out
    height: int = Field(256, ge=8)
    width: int = Field(256, ge=8)
    heatmap_radius: int = Field(4, ge=0)  # solid disks, values in [-1, 1]

    # --- networks (official DeepFashion widths) ------------------------------------------------
    hidden: int = Field(128, ge=1)  # conv_hidden_num
    encoder_levels: int = Field(7, ge=1)  # residual stages of the part encoder (repeat_num + 1)
    roi: int = Field(64, ge=2)  # crop-and-resize size of each body part
    part_dim: int = Field(32, ge=1)  # appearance numbers per part (7 parts)
    background_dim: int = Field(0, ge=0)  # > 0: the Market background branch, this many numbers
    decoder_levels: int = Field(5, ge=1, le=16)  # U-net stages (repeat_num - 1)
    bottleneck: int = Field(64, ge=1)  # z_num
    d_dim: int = Field(64, ge=1)  # image discriminator base width
    pose_hidden: int = Field(512, ge=1)
    pose_blocks: int = Field(4, ge=0)
    pose_dim: int = Field(32, ge=1)
    mapper_hidden: int = Field(512, ge=1)
    mapper_blocks: int = Field(4, ge=0)
    background_mapper_hidden: int = Field(256, ge=1)  # Market's background mapper
    critic_hidden: int = Field(512, ge=1)
    critic_layers: int = Field(3, ge=0)

    # --- losses --------------------------------------------------------------------------------
    l1_weight: float = Field(20.0, ge=0)  # stage I appearance: GAN + 20·L1
    pose_weight: float = Field(20.0, gt=0)  # stage I pose: 20·MSE
    clip: float = Field(0.01, gt=0, le=1)  # WGAN critic weight clipping (stage II)
    critic_steps: int = Field(5, ge=1)  # critic updates per mapper update (stage II)

    # --- optimisation (as released) ------------------------------------------------------------
    batch: int = Field(6, ge=1)  # stage I
    batch_ii: int = Field(16, ge=1)  # stage II
    lr: float = Field(2e-5, gt=0, le=1)
    lr_half_every: int = Field(50_000, ge=1)  # steps; the learning rate halves (per stage)
    adam_beta1: float = Field(0.5, ge=0, lt=1)
    adam_beta2: float = Field(0.999, ge=0, lt=1)
    stage1_steps: int = Field(120_000, ge=0)
    stage2_steps: int = Field(120_000, ge=0)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    amp: bool = True  # CUDA only; CPU stays fp32
    device: Device = "auto"
    workers: int = Field(2, ge=0)
    log_every: int = Field(100, ge=1)
    checkpoint_every: int = Field(5_000, ge=1)
    keep_checkpoints: int = Field(3, ge=1)
    sample_every: int = Field(5_000, ge=1)

    @model_validator(mode="after")
    def _sizes(self) -> DpigParams:
        f = 2 ** (self.decoder_levels - 1)
        if self.height % f or self.width % f:
            raise ValueError(
                f"height and width must be multiples of {f} (the decoder halves them {self.decoder_levels - 1} times)"
            )
        if self.stage1_steps + self.stage2_steps < 1:
            raise ValueError("stage1_steps + stage2_steps must be at least 1")
        return self

    @property
    def appearance_dim(self) -> int:
        return 7 * self.part_dim + self.background_dim


# What each preset sets; anything written explicitly in params.yaml wins over these.
PRESETS: dict[str, dict[str, Any]] = {
    "deepfashion256": {},  # the class defaults are the official DeepFashion configuration
    "market128": {
        "height": 128,
        "width": 64,
        "encoder_levels": 5,
        "roi": 48,
        "background_dim": 128,
        "batch": 16,
        "batch_ii": 32,
    },
    "demo": {
        "height": 32,
        "width": 16,
        "heatmap_radius": 1,
        "hidden": 8,
        "encoder_levels": 3,
        "roi": 8,
        "part_dim": 4,
        "decoder_levels": 3,
        "bottleneck": 8,
        "d_dim": 4,
        "pose_hidden": 16,
        "pose_blocks": 1,
        "pose_dim": 8,
        "mapper_hidden": 16,
        "mapper_blocks": 1,
        "background_mapper_hidden": 8,
        "critic_hidden": 16,
        "critic_layers": 1,
        "batch": 2,
        "batch_ii": 4,
        "lr": 1e-3,
        "stage1_steps": 4,
        "stage2_steps": 4,
        "log_every": 1,
        "checkpoint_every": 2,
        "sample_every": 4,
        "workers": 0,
    },
}
