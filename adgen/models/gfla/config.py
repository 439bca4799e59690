"""train.gfla.* params: the GFLA pose-transfer network, its losses and its training schedule.

Named presets instead of twenty flags: `deepfashion256` is the official DeepFashion setup (the one the
parameter counts and the official checkpoints belong to), `p128` the product's 128 px people, `demo`
a network small enough to train real steps on a laptop CPU in seconds. A key written in params.yaml
overrides the preset's value for that key only (see `resolve`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator, model_validator

from adgen.config.base import Section, apply_preset

PresetName = Literal["deepfashion256", "p128", "demo"]


class GflaParams(Section):
    preset: PresetName = "p128"

    # --- data -------------------------------------------------------------------------------
    dataset: Path = Path("data/datasets/gfla")  # official layout: train/, test/, annotation + pairs CSVs
    height: int = 256  # images are resized to height x width; multiples of 32, >= 64 (flow net depth)
    width: int = 256
    annotation_height: int = 256  # the CSV keypoints' pixel frame (official DeepFashion: 256x176)
    annotation_width: int = 176
    heatmap_sigma: float = 6.0

    # --- generator (official: ngf 64, img_f 512; flow net ngf 32, img_f 256) -----------------
    ngf: int = 64
    img_f: int = 512
    num_blocks: int = 2  # res blocks per decoder stage (num_blocks - 1 plain ResBlocks + 1 up-sampler)
    attn_kernel_h8: int = 3  # local-attention window at H/8
    attn_kernel_h4: int = 5  # local-attention window at H/4
    flow_ngf: int = 32
    flow_img_f: int = 256

    # --- discriminator (official fashion: ndf 32, img_f 128, 4 layers) ------------------------
    ndf: int = 32
    d_img_f: int = 128
    d_layers: int = 4

    # --- losses (official weights) -----------------------------------------------------------
    lambda_rec: float = 5.0
    lambda_correct: float = 5.0
    lambda_g: float = 2.0
    lambda_regularization: float = 0.0025
    lambda_style: float = 500.0
    lambda_content: float = 0.5
    flow_lambda_correct: float = 20.0  # stage 1 (flow estimator alone)
    flow_lambda_regularization: float = 0.01
    vgg19_weights: Path | None = None  # torchvision's vgg19-dcbb9e9d.pth (ImageNet); needed to train

    # --- optimisation ------------------------------------------------------------------------
    batch: int = 8
    lr_g: float = 1e-4
    lr_d: float = 1e-5
    lr_flow: float = 1e-4
    adam_beta1: float = 0.0
    adam_beta2: float = 0.999
    flow_steps: int = 100_000  # stage 1; the official schedule has no stopping point (niter 5e6)
    steps: int = 400_000  # stage 2
    seed: int = 0
    amp: bool = True  # CUDA only; CPU stays fp32
    device: str = "auto"
    workers: int = 2
    log_every: int = 100
    checkpoint_every: int = 5_000
    keep_checkpoints: int = 3
    sample_every: int = 5_000

    # --- evaluation on held-out pairs ----------------------------------------------------------
    eval_pairs: int = 1_000
    lpips_weights: Path | None = None  # lpips package's weights/v0.1/alex.pth; LPIPS is skipped without it
    lpips_alexnet_weights: Path | None = None  # torchvision's alexnet-owt-7be5be79.pth (LPIPS backbone)

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


def resolve(params: GflaParams, preset: str | None = None) -> GflaParams:
    """The preset's values, overlaid by every key set explicitly in `params`."""
    return apply_preset(params, PRESETS, preset, "GFLA")
