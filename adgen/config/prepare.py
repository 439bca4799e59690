"""strip.*, pose.* and datasets.* params (owned by the strip/pose/build-datasets stages)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from adgen.config.base import Section


class StripParams(Section):
    """How people and bags are cut out of kept photos (`adgen strip`)."""

    # detector: the filter's instance masks (Mask R-CNN); grabcut: OpenCV GrabCut seeded by the boxes;
    # rembg: a local u2net_human_seg.onnx under U2NET_HOME (optional extra, never downloads).
    backend: Literal["detector", "grabcut", "rembg"] = "detector"
    # When the detector gave no mask for an image: cut it out with GrabCut, or drop it (reason no_person_mask).
    fallback: Literal["grabcut", "drop"] = "grabcut"
    # Also strip filter rejects whose only fault is "no_bag": people without bags (ST-GAN backgrounds).
    include_no_bag: bool = True
    # Sharpen the detector's coarse masks (Mask R-CNN: 28-33 px grids) to the photo's edges with GrabCut.
    refine_detector_masks: bool = True
    grabcut_iterations: int = Field(5, ge=1, le=50)
    # Margin around the person's mask box in the person cut-out, as a fraction of the box size.
    crop_margin: float = Field(0.05, ge=0.0, le=1.0)
    # Mask-quality rules; a mask failing one is dropped with the rule's name as its reason.
    min_person_area_ratio: float = Field(0.15, ge=0.0, le=1.0)  # mask area / person box area
    max_person_area_ratio: float = Field(1.3, gt=0.0)
    max_person_hole_ratio: float = Field(0.15, ge=0.0, le=1.0)  # enclosed holes / mask area
    min_bag_area_ratio: float = Field(0.15, ge=0.0, le=1.0)  # bag mask area / bag box area
    drop_person_touching_edge: bool = False
    # The fixture site's ground-truth.json: when set, `adgen strip` also prints mask IoU against it
    # (demo only; real crawls have no ground truth).
    ground_truth: Path | None = None


class PoseParams(Section):
    """Keypoint estimation (`adgen pose`, after strip): 18 OpenPose keypoints per stripped person and
    DeepFashion image."""

    # A TF Hub handle or a local SavedModel dir with MoveNet's signature (int32 [1,S,S,3] -> output_0
    # [1,1,17,3] as y, x, score). `adgen fixture-models pose DIR` builds the offline FIXTURE stand-in.
    model: str = "https://tfhub.dev/google/movenet/singlepose/thunder/4"
    # The model's input side: 256 for thunder, 192 for lightning; 0 = read it from the handle name.
    input_size: int = Field(0, ge=0)
    # Keypoints scoring below this are stored as missing (conf 0, x = y = -1).
    min_score: float = Field(0.2, ge=0.0, le=1.0)
    # Margin around the person box for the crop given to the model, as a fraction of the box size.
    crop_margin: float = Field(0.1, ge=0.0, le=1.0)
    # Estimate on DeepFashion images too (needs datasets.deepfashion); 0 = all of them.
    deepfashion: bool = True
    deepfashion_max_images: int = Field(0, ge=0)
    # The fixture site's ground-truth.json: when set, `adgen pose` also prints the keypoint error.
    ground_truth: Path | None = None


class DatasetsParams(Section):
    """Training sets built from the stripped people and bags (`adgen build-datasets`)."""

    # A local DeepFashion In-shop folder (img/<MEN|WOMEN>/<category>/id_*/NN_K_view.jpg and the GFLA
    # 256x176 pairs/annotation CSVs); null = not used.
    deepfashion: Path | None = None
    # User bag PNGs added with `adgen bags import`.
    user_bags: Path = Path("data/user_bags")
    stgan_sizes: list[Annotated[int, Field(ge=8)]] = Field(default_factory=lambda: [64, 128], min_length=1)
    # ST-GAN backgrounds: DeepFashion people (when configured), stripped people without bags, and kept
    # people with the bag region painted white.
    background_from_kept: bool = True
    stylegan2_name: str = "people-bags"
    stylegan2_resolution: int = Field(128, ge=8)
    stylegan2_aspect: Literal["square", "2:1"] = "2:1"  # H:W of the padded images
    gfla_test_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    # GFLA pairs need the same person twice: from DeepFashion item ids, and optionally from
    # near-duplicate groups (same phash group / duplicate_of) of the curated set.
    gfla_pairs_from_duplicates: bool = True
    gfla_max_pairs_per_person: int = Field(20, ge=1)
    # DPIG (data/datasets/dpig): people with fewer present keypoints are not written (train.dpig's
    # own min_keypoints may ask for more).
    dpig_min_keypoints: int = Field(1, ge=1, le=18)
    seed: int = Field(0, ge=0, le=2**32 - 1)
