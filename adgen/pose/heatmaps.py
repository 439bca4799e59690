"""Keypoints -> 18 Gaussian heatmaps, the pose input of GFLA (sigma 6, peak 1, integer centres).

Matches the official GFLA rendering: the centre is the keypoint's pixel coordinate truncated to an
integer, each channel is exp(-d^2 / (2 sigma^2)), and a missing point gives an all-zero channel.
"""

from __future__ import annotations

import numpy as np


def heatmaps(keypoints: np.ndarray, h: int, w: int, sigma: float = 6.0) -> np.ndarray:
    """[18, 3] normalised (x, y, conf) keypoints -> float32 [18, h, w] heatmaps."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 2 or kp.shape[1] < 2:
        raise ValueError(f"expected [K, 3] keypoints, got {kp.shape}")
    out = np.zeros((kp.shape[0], h, w), dtype=np.float32)
    yy = np.arange(h, dtype=np.float64)[:, None]
    xx = np.arange(w, dtype=np.float64)[None, :]
    for i, point in enumerate(kp):
        x, y = point[0], point[1]
        conf = point[2] if kp.shape[1] > 2 else 1.0
        if conf <= 0 or x < 0 or y < 0:
            continue
        # + 1e-6: a point stored as pixel/size must land on that pixel, not one below by rounding.
        cx = min(int(x * w + 1e-6), w - 1)
        cy = min(int(y * h + 1e-6), h - 1)
        out[i] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2.0 * sigma**2))
    return out
