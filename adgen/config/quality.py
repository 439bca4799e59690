"""metrics.*, generate.* and report.* params."""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from adgen.config.base import Section


class MetricsParams(Section):
    """metrics.*: the standard networks (local files; nothing is downloaded) and batch sizes."""

    # Keras InceptionV3 ImageNet weights (inception_v3_weights_tf_dim_ordering_tf_kernels.h5)
    inception_v3_weights: Path | None = None
    # The FID Inception graph classify_image_graph_def.pb (inception-2015-12-05.tgz), as TTUR uses
    fid_inception_graph: Path | None = None
    batch_size: int = Field(32, ge=1)
    is_splits: int = Field(10, ge=1)
    fid_images: int = Field(10000, ge=2)  # images per set for FID (the fewer of this and the set)


class GenerateParams(Section):
    """generate.*: the chain StyleGAN2 person → GFLA to the requested pose → ST-GAN bag composite.

    A checkpoint left unset means the newest run under paths.models/<model>. `gfla_checkpoint` may also
    be the official `latest_net_G.pth`. The pose estimator (pose.model unless set here) finds the
    sampled person's own pose, reads a pose from an image, and scores the output (pose MSE).
    """

    stylegan2_checkpoint: Path | None = None
    gfla_checkpoint: Path | None = None
    stgan_checkpoint: Path | None = None
    pose_model: str | None = None  # default: pose.model
    truncation: float = Field(0.7, ge=0.0, le=1.0)
    n: int = Field(4, ge=1)  # ads per run (seeds seed … seed + n - 1)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    bag_seed: bool = True  # give ST-GAN the ad's seed (random start for the bag) instead of the centre
    device: str = "cpu"
    inception_score: bool = True  # IS of the generated people when metrics.inception_v3_weights is set
    # 1: StyleGAN2 → GFLA → ST-GAN; 2: DPIG → ST-GAN; best: both, each ad from the one nearer the pose
    approach: str = "1"
    dpig_checkpoint: Path | None = None
    # stgan: the bag is placed by ST-GAN's warps; sfgan: placed and relit to the scene (SF-GAN)
    compositor: Literal["stgan", "sfgan"] = "stgan"
    sfgan_checkpoint: Path | None = None

    @field_validator("approach", mode="before")
    @classmethod
    def _approach(cls, v: object) -> str:
        if str(v) not in ("1", "2", "best"):
            raise ValueError("must be 1, 2 or best")
        return str(v)


class ReportParams(Section):
    """report/index.html: what the pipeline did, for a human to check at a glance."""

    title: str = "AdGen pipeline report"
    # Ground truth of the fixture stock site (`/ground-truth.json`), written by `make demo`;
    # when the file exists the report scores the filter against it. Unused for real sites.
    ground_truth: Path | None = None
    thumbnails: int = Field(24, ge=0)  # per contact sheet
    thumb_px: int = Field(96, ge=16)
    sample_grids: int = Field(5, ge=1, le=12)  # a model's sample grids shown over training steps
