"""metrics.*, generate.* and report.* params."""

from pathlib import Path

from pydantic import Field

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
    pass


class ReportParams(Section):
    """report/index.html: what the pipeline did, for a human to check at a glance."""

    title: str = "AdGen pipeline report"
    # Ground truth of the fixture stock site (`/ground-truth.json`), written by `make demo`;
    # when the file exists the report scores the filter against it. Unused for real sites.
    ground_truth: Path | None = None
    thumbnails: int = Field(24, ge=0)  # per contact sheet
    thumb_px: int = Field(96, ge=16)
