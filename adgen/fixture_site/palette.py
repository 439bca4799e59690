"""The colour contract between the fixture stock site's synthetic photos and the fixture models.

The fixture site draws each person as a flat silhouette in one instance colour, each bag in its
class colour, and a small disc in a keypoint colour at each of the 17 COCO joints. Backgrounds are
muted (max-min over RGB <= BACKGROUND_MAX_SPREAD), so no background pixel is within
TOLERANCE of a palette colour. The *fixture* detector and pose stand-ins (clearly named as such,
for the offline demo and tests only) find people, bags and joints by these colours; real runs use
real TF Hub models.

The palette is the 24 non-grey colours of the grid {0, 128, 255}^3: any two differ by >= 127 in
some channel, so with TOLERANCE 40 (L-infinity) an edge blend of two colours rarely matches a third
and JPEG noise (quality 95, 4:4:4) never breaks a match.
"""

from __future__ import annotations

import itertools

import numpy as np

TOLERANCE = 40
BACKGROUND_MAX_SPREAD = 40

_GRID = [c for c in itertools.product((0, 128, 255), repeat=3) if len(set(c)) > 1]
assert len(_GRID) == 24

# COCO keypoint order (MoveNet's too); OpenPose-18 adds neck = mid-shoulder at index 1.
COCO_KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip

PERSON_COLOURS: list[tuple[int, int, int]] = [
    (255, 0, 0),  # person 0: red
    (0, 0, 255),  # person 1: blue
    (0, 128, 0),  # person 2: dark green
    (128, 0, 128),  # person 3: purple
]
BAG_COLOURS: dict[str, tuple[int, int, int]] = {
    "handbag": (255, 255, 0),  # yellow
    "backpack": (0, 255, 255),  # cyan
    "suitcase": (255, 128, 0),  # orange
}
BAG_COCO_IDS: dict[str, int] = {"backpack": 27, "handbag": 31, "suitcase": 33}
PERSON_COCO_ID = 1

_used = set(PERSON_COLOURS) | set(BAG_COLOURS.values())
KEYPOINT_COLOURS: list[tuple[int, int, int]] = [c for c in _GRID if c not in _used]
assert len(KEYPOINT_COLOURS) == len(COCO_KEYPOINTS) == 17


def colour_mask(rgb: np.ndarray, colour: tuple[int, int, int], tol: int = TOLERANCE) -> np.ndarray:
    """Boolean HxW mask of pixels within `tol` (L-infinity) of `colour`."""
    diff = np.abs(rgb[..., :3].astype(np.int16) - np.asarray(colour, dtype=np.int16))
    return (diff <= tol).all(axis=-1)


def is_muted(rgb: np.ndarray) -> np.ndarray:
    """True where a pixel is muted enough to be background."""
    arr = rgb[..., :3].astype(np.int16)
    return (arr.max(axis=-1) - arr.min(axis=-1)) <= BACKGROUND_MAX_SPREAD
