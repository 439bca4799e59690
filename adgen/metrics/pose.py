"""Pose error between the pose asked for and the pose estimated on the generated image."""

from __future__ import annotations

import numpy as np


def pose_mse(requested: np.ndarray, estimated: np.ndarray) -> float:
    """Mean squared error of (x, y) over the OpenPose-18 keypoints present in both poses.

    Inputs are [18, 3] or [N, 18, 3] arrays of (x, y, conf) with x, y normalised to [0, 1];
    a point with conf 0 is missing and ignored. The error is averaged over the x and y
    coordinates of every point present in both; NaN when no point is present in both.
    """
    r = np.asarray(requested, dtype=np.float64).reshape(-1, 18, 3)
    e = np.asarray(estimated, dtype=np.float64).reshape(-1, 18, 3)
    if r.shape != e.shape:
        raise ValueError(f"pose shapes differ: {r.shape} vs {e.shape}")
    both = (r[..., 2] > 0) & (e[..., 2] > 0)
    if not both.any():
        return float("nan")
    diff = r[..., :2][both] - e[..., :2][both]
    return float(np.mean(diff**2))
