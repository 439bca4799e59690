"""COCO-17 (MoveNet's order) to OpenPose-18 (GFLA's order): reorder and add the neck.

OpenPose-18 is COCO's 17 joints in another order plus a neck, which MoveNet does not predict; the
neck is the midpoint of the shoulders (present only when both shoulders are). Keypoints are rows of
[x, y, conf] normalised to [0, 1]; a missing point is [-1, -1, 0].
"""

from __future__ import annotations

import numpy as np

from adgen.pose.keypoints import COCO_KEYPOINTS

_COCO = {name: i for i, name in enumerate(COCO_KEYPOINTS)}
# OpenPose index -> COCO index (None: the neck, computed from the shoulders).
OPENPOSE_FROM_COCO: list[int | None] = [
    _COCO["nose"], None,
    _COCO["right_shoulder"], _COCO["right_elbow"], _COCO["right_wrist"],
    _COCO["left_shoulder"], _COCO["left_elbow"], _COCO["left_wrist"],
    _COCO["right_hip"], _COCO["right_knee"], _COCO["right_ankle"],
    _COCO["left_hip"], _COCO["left_knee"], _COCO["left_ankle"],
    _COCO["right_eye"], _COCO["left_eye"], _COCO["right_ear"], _COCO["left_ear"],
]  # fmt: skip
NECK = 1
R_SHO, L_SHO = 2, 5


def missing_keypoints() -> np.ndarray:
    """An all-missing [18, 3] keypoint array."""
    kp = np.full((18, 3), -1.0, dtype=np.float32)
    kp[:, 2] = 0.0
    return kp


def coco17_to_openpose18(coco: np.ndarray, min_score: float = 0.0) -> np.ndarray:
    """[17, 3] COCO (x, y, score) -> [18, 3] OpenPose (x, y, conf); points under `min_score` go missing."""
    coco = np.asarray(coco, dtype=np.float32)
    if coco.shape != (17, 3):
        raise ValueError(f"expected [17, 3] COCO keypoints, got {coco.shape}")
    out = missing_keypoints()
    for op_i, coco_i in enumerate(OPENPOSE_FROM_COCO):
        if coco_i is None:
            continue
        x, y, s = coco[coco_i]
        if s > 0 and s >= min_score:
            out[op_i] = (x, y, s)
    if out[R_SHO, 2] > 0 and out[L_SHO, 2] > 0:
        out[NECK, :2] = (out[R_SHO, :2] + out[L_SHO, :2]) / 2
        out[NECK, 2] = min(out[R_SHO, 2], out[L_SHO, 2])
    return out
