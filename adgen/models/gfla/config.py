"""train.gfla.* params: the GFLA pose-transfer network, its losses and its training schedule.

Named presets instead of twenty flags: `deepfashion256` is the official DeepFashion setup (the one the
parameter counts and the official checkpoints belong to), `p128` the product's 128 px people, `demo`
a network small enough to train real steps on a laptop CPU in seconds. A key written in params.yaml
overrides the preset's value for that key only (see `adgen.models.registry.with_preset`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from adgen.config.base import Device, Section

PresetName = Literal["deepfashion256", "p128", "demo"]


# What `dvc plots` and the report draw (stats.jsonl's `stage` column marks the phases, not a loss).
LOSS_COLUMNS = (
    "correctness",
    "regularization",
    "l1",
    "adversarial",
    "style",
    "content",
    "g_total",
    "d",
    "flow_total",
)


class GflaParams(Section):
    preset: PresetName = "p128"

    # --- data -------------------------------------------------------------------------------
    dataset: Path = Path("data/datasets/gfla")  # official layout: train/, test/, annotation + pairs CSVs
    height: int = 256  # images are resized to height x width; multiples of 32, >= 64 (flow net depth)
    width: int = 256
    # the CSV keypoints' pixel frame (official DeepFashion: 256x176)
    annotation_height: int = Field(256, ge=8)
    annotation_width: int = Field(176, ge=8)
    heatmap_sigma: float = Field(6.0, gt=0)

    # --- generator (official: ngf 64, img_f 512; flow net ngf 32, img_f 256) -----------------
    ngf: int = Field(64, ge=1)
    img_f: int = Field(512, ge=1)
    # res blocks per decoder stage (num_blocks - 1 plain ResBlocks + 1 up-sampler)
    num_blocks: int = Field(2, ge=1)
    attn_kernel_h8: int = Field(3, ge=1)  # local-attention window at H/8
    attn_kernel_h4: int = Field(5, ge=1)  # local-attention window at H/4
    flow_ngf: int = Field(32, ge=1)
    flow_img_f: int = Field(256, ge=1)

    # --- discriminator (official fashion: ndf 32, img_f 128, 4 layers) ------------------------
    ndf: int = Field(32, ge=1)
    d_img_f: int = Field(128, ge=1)
    d_layers: int = Field(4, ge=1)

    # --- losses (official weights) -----------------------------------------------------------
    lambda_rec: float = Field(5.0, ge=0)
    lambda_correct: float = Field(5.0, ge=0)
    lambda_g: float = Field(2.0, ge=0)
    lambda_regularization: float = Field(0.0025, ge=0)
    lambda_style: float = Field(500.0, ge=0)
    lambda_content: float = Field(0.5, ge=0)
    flow_lambda_correct: float = Field(20.0, ge=0)  # stage 1 (flow estimator alone)
    flow_lambda_regularization: float = Field(0.01, ge=0)
    vgg19_weights: Path | None = None  # torchvision's vgg19-dcbb9e9d.pth (ImageNet); needed to train

    # --- optimisation ------------------------------------------------------------------------
    batch: int = Field(8, ge=1)
    lr_g: float = Field(1e-4, gt=0, le=1)
    lr_d: float = Field(1e-5, gt=0, le=1)
    lr_flow: float = Field(1e-4, gt=0, le=1)
    adam_beta1: float = Field(0.0, ge=0, lt=1)
    adam_beta2: float = Field(0.999, ge=0, lt=1)
    flow_steps: int = Field(100_000, ge=0)  # stage 1; the official schedule has no stopping point (niter 5e6)
    steps: int = Field(400_000, ge=0)  # stage 2
    seed: int = Field(0, ge=0, le=2**32 - 1)
    amp: bool = True  # CUDA only; CPU stays fp32
    device: Device = "auto"
    workers: int = Field(2, ge=0)
    log_every: int = Field(100, ge=1)
    checkpoint_every: int = Field(5_000, ge=1)
    keep_checkpoints: int = Field(3, ge=1)
    sample_every: int = Field(5_000, ge=1)

    # --- evaluation on held-out pairs ----------------------------------------------------------
    eval_pairs: int = Field(1_000, ge=1)
    # The older place of metrics.lpips_weights / metrics.lpips_alexnet_weights, read when those are unset
    lpips_weights: Path | None = None
    lpips_alexnet_weights: Path | None = None

    @field_validator("height", "width")
    @classmethod
    def _multiple_of_32(cls, v: int) -> int:
        if v < 64 or v % 32:
            # the flow estimator halves it 5 times and instance-normalises each level: at least 2 px left
            raise ValueError(
                "must be a multiple of 32 and at least 64 (the flow estimator halves it 5 times)"
            )
        return v

    @field_validator("attn_kernel_h8", "attn_kernel_h4")
    @classmethod
    def _odd_kernel(cls, v: int) -> int:
        if v < 1 or v % 2 == 0:
            raise ValueError("must be a positive odd number (the window is centred on the flow target)")
        return v

    @model_validator(mode="after")
    def _widths(self) -> GflaParams:
        for name in ("ngf", "img_f", "flow_ngf", "flow_img_f", "ndf", "d_img_f", "d_layers", "batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        return self


# What each preset sets; anything written explicitly in params.yaml wins over these.
PRESETS: dict[str, dict[str, Any]] = {
    "deepfashion256": {},  # the class defaults are the official DeepFashion configuration
    "p128": {"height": 128, "width": 128},
    "demo": {
        "height": 64,
        "width": 64,
        "ngf": 8,
        "img_f": 32,
        "flow_ngf": 8,
        "flow_img_f": 32,
        "ndf": 8,
        "d_img_f": 16,
        "batch": 2,
        "flow_steps": 4,
        "steps": 4,
        "log_every": 1,
        "checkpoint_every": 2,
        "sample_every": 2,
        "workers": 0,
        "eval_pairs": 8,
    },
}
