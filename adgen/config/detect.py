"""detect.* params (owned by the filter stage): which detector, and every threshold of the keep rule.

The defaults follow the reference run (person >= 0.75, bag >= 0.30 on a COCO detector) and add the
full-body checks the reference never made. Boxes and margins are fractions of the image.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from adgen.config.base import Section

MASK_RCNN_HANDLE = "https://tfhub.dev/tensorflow/mask_rcnn/inception_resnet_v2_1024x1024/1"
# The faster alternative (no instance masks, so strip falls back to its own matting):
SSD_HANDLE = "https://tfhub.dev/tensorflow/ssd_mobilenet_v2/fpnlite_640x640/1"


class DetectParams(Section):
    # --- the detector ---------------------------------------------------------------------------
    model: str = Field(
        MASK_RCNN_HANDLE,
        description="TF Hub handle (URL) or a local SavedModel directory with the TF Hub "
        "object-detection signature",
    )
    max_side: int = Field(
        1024,
        ge=0,
        description="images are shrunk (aspect kept) so the longer side is at most this before "
        "inference, in the input pipeline; 0 = feed full size",
    )
    batch_size: int = Field(
        1, ge=1, description="images per model call when the signature's batch dim is free"
    )
    chunk_size: int = Field(64, ge=1, description="decisions written per part file (the resume unit)")
    decode_parallelism: int = Field(0, ge=0, description="parallel decode calls; 0 = tf.data AUTOTUNE")
    calls_in_flight: int = Field(
        1,
        ge=1,
        le=64,
        description="model calls run at once (threads): >1 where one call leaves CPU cores idle; "
        "each call in flight holds its own activations in memory",
    )

    # --- the keep rule (adgen.detect.rule.keep_full_body_with_bag) ------------------------------
    person_class: int = Field(1, ge=0)
    person_min_score: float = Field(0.75, ge=0, le=1)
    bag_classes: dict[str, int] = Field(
        default_factory=lambda: {"handbag": 31, "backpack": 27, "suitcase": 33},
        description="COCO ids that count as a bag, by name",
    )
    bag_min_score: float = Field(0.30, ge=0, le=1)
    dominant_area_ratio: float = Field(
        0.25,
        ge=0,
        le=1,
        description="other people above person_min_score are tolerated when their box area is below "
        "this fraction of the main person's (background passers-by); otherwise several_people",
    )
    edge_margin: float = Field(
        0.01, ge=0, lt=0.5, description="head top / feet bottom must stay this far from the frame edge"
    )
    min_person_height: float = Field(0.35, gt=0, le=1, description="person box height / image height")
    min_aspect: float = Field(1.3, gt=0, description="person box height / width (pixels), lower bound")
    max_aspect: float = Field(6.0, gt=0, description="person box height / width (pixels), upper bound")
    bag_near_margin: float = Field(
        0.10,
        ge=0,
        description="a bag is near the person when it overlaps the person box grown by this "
        "fraction of the person's height on every side",
    )

    # --- keypoints: the head/ankle check of a pose (the rule's, compare's full-body share) -------
    # The filter itself reads no pose table: pose runs after strip, which runs on the filter's output.
    keypoint_min_conf: float = Field(0.3, ge=0, le=1)
    ankles_required: int = Field(2, ge=1, le=2, description="visible ankles needed (1 or 2)")

    # --- outputs --------------------------------------------------------------------------------
    ground_truth: Path | None = Field(
        None,
        description="ground-truth JSON ({'images': {sha256: {'expected_keep': bool}}}); adds "
        "precision/recall of keep to filter_stats.json",
    )
    contact_sheet_per_reason: int = Field(12, ge=0, description="samples per reason on the sheet")

    @model_validator(mode="before")
    @classmethod
    def _no_pose_table(cls, data: object) -> object:
        """`pose_table: null` from an older params.yaml is dropped; a table is refused: reading pose's
        output would close a loop (filter -> strip -> pose -> filter) that dvc.yaml cannot show."""
        if isinstance(data, dict) and "pose_table" in data:
            data = dict(data)
            if data.pop("pose_table") is not None:
                raise ValueError(
                    "pose_table: the filter no longer reads a pose table (pose runs after strip, on the "
                    "filter's output, so it would be a loop dvc.yaml cannot show); remove the key"
                )
        return data

    @model_validator(mode="after")
    def _aspect_range(self) -> DetectParams:
        if self.min_aspect >= self.max_aspect:
            raise ValueError("min_aspect must be below max_aspect")
        return self
