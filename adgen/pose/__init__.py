"""Pose: 18 OpenPose keypoints per person, and the Gaussian heatmaps GFLA conditions on.

`load_pose_estimator` (adgen.pose.estimate) loads a MoveNet-signature model (TF Hub handle or local
SavedModel); the stage (adgen.pose.stage) writes data/pose/keypoints.parquet.
"""

from adgen.pose.heatmaps import heatmaps
from adgen.pose.keypoints import OPENPOSE_KEYPOINTS
from adgen.pose.openpose import coco17_to_openpose18, missing_keypoints

__all__ = ["OPENPOSE_KEYPOINTS", "coco17_to_openpose18", "heatmaps", "missing_keypoints"]
