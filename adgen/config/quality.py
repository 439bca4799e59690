"""metrics.*, generate.* and report.* params."""

from pathlib import Path

from pydantic import Field, field_validator

from adgen.config.base import Device, Section


class MetricsParams(Section):
    """metrics.*: the standard networks (local files; nothing is downloaded) and batch sizes."""

    # Keras InceptionV3 ImageNet weights (inception_v3_weights_tf_dim_ordering_tf_kernels.h5)
    inception_v3_weights: Path | None = None
    # The FID Inception graph classify_image_graph_def.pb (inception-2015-12-05.tgz), as TTUR uses
    fid_inception_graph: Path | None = None
    # LPIPS v0.1 AlexNet-lin (pose-transfer pairs): the lpips package's weights/v0.1/alex.pth and
    # torchvision's alexnet-owt-7be5be79.pth (train.gfla.lpips_* are the older place, still read)
    lpips_weights: Path | None = None
    lpips_alexnet_weights: Path | None = None
    batch_size: int = Field(32, ge=1)
    is_splits: int = Field(10, ge=1)
    fid_images: int = Field(10000, ge=2)  # images per set for FID (the fewer of this and the set)


class GenerateParams(Section):
    """generate.*: the chain new person → in the requested pose → the bag composited on them.

    `checkpoints` names a checkpoint (file or run dir) per model; a model left out means its newest
    run under paths.models/<model>. The older spelling `generate.<model>_checkpoint` (params.yaml's)
    is read into it; the model names, `approach` and `compositor` are checked against the models'
    declarations (adgen.models.registry). GFLA's may also be the official `latest_net_G.pth`. The pose
    estimator (pose.model unless set here) finds the sampled person's own pose, reads a pose from an
    image, and scores the output (pose MSE).
    """

    checkpoints: dict[str, Path] = Field(default_factory=dict)
    pose_model: str | None = None  # default: pose.model
    truncation: float = Field(0.7, ge=0.0, le=1.0)
    n: int = Field(4, ge=1)  # ads per run (seeds seed … seed + n - 1)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    bag_seed: bool = (
        True  # give the compositor the ad's seed (random start for the bag) instead of the centre
    )
    device: Device = "cpu"
    inception_score: bool = True  # IS of the generated people when metrics.inception_v3_weights is set
    # a chain id (registry.chains(): the declared approaches 1: StyleGAN2 → GFLA, 2: DPIG, 3: StyleGAN2 →
    # PIDM, and the combined <people>-<transfer> such as dcgan-gfla), or best: each ad from the chain
    # whose person is nearest the pose, among every chain whose models are trained
    approach: str = "1"
    # a declared compositor (stgan: the bag placed by ST-GAN's warps; sfgan: placed and relit to the scene)
    compositor: str = "stgan"

    @field_validator("approach", mode="before")
    @classmethod
    def _approach(cls, v: object) -> str:
        return str(v)  # YAML's 1 is the approach "1"


class ReportParams(Section):
    """report/index.html: what the pipeline did, for a human to check at a glance."""

    title: str = "AdGen pipeline report"
    # Ground truth of the fixture stock site (`/ground-truth.json`), written by `make demo`;
    # when the file exists the report scores the filter against it. Unused for real sites.
    ground_truth: Path | None = None
    thumbnails: int = Field(24, ge=0)  # per contact sheet
    thumb_px: int = Field(96, ge=16)
    sample_grids: int = Field(5, ge=1, le=12)  # a model's sample grids shown over training steps
