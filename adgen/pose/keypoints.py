"""The keypoint conventions every stage shares: COCO-17 and OpenPose-18 names and order, OpenPose limbs.

Real code (the pose stage, GFLA's heatmaps, the pose drawings of `adgen generate`) and the offline
stand-ins (the fixture site draws its joint discs in this order) both import them from here.
"""

from __future__ import annotations

# COCO keypoint order (MoveNet's too); OpenPose-18 adds neck = mid-shoulder at index 1.
COCO_KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip

# OpenPose-18 (GFLA's order).
OPENPOSE_KEYPOINTS = [
    "nose", "neck", "r_sho", "r_elb", "r_wri", "l_sho", "l_elb", "l_wri",
    "r_hip", "r_knee", "r_ank", "l_hip", "l_knee", "l_ank", "r_eye", "l_eye", "r_ear", "l_ear",
]  # fmt: skip

# OpenPose limbs: pairs of OpenPose-18 indices, in the order OpenPose draws (and colours) them.
OPENPOSE_LIMBS = [
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
]  # fmt: skip
