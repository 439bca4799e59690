"""compare.* params: the fixed evaluation set and how many people each generator makes for it."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from adgen.config.base import Device, Section


class CompareParams(Section):
    """The comparison of every trained generator on one fixed evaluation set."""

    # Built by `adgen evaluate compare-set` from the GFLA dataset's held-out (test) split.
    eval_set: Path = Path("data/datasets/compare")
    poses: int = Field(16, ge=1, le=10000)  # K target poses, DeepFashion and curated in turn
    min_keypoints: int = Field(12, ge=1, le=18)  # a target pose shows at least this many of 18 points
    seeds: int = Field(4, ge=1, le=10000)  # N people per target pose (pose-controlled) — seeds seed…
    seed: int = Field(0, ge=0, le=2**31 - 1)
    truncation: float = Field(1.0, ge=0.0, le=1.0)  # StyleGAN2 psi (1: the whole distribution, fair FID)
    device: Device = "cpu"
    cell_height: int = Field(128, ge=16, le=1024)  # grid cell height in pixels (width: the set's aspect)
    # Checkpoints by model (file or run dir); a model left out = its newest run under paths.models/<model>.
    # `compare.<model>_checkpoint` is read into it; the names are checked against the declared models.
    checkpoints: dict[str, Path] = Field(default_factory=dict)
