"""OpenPose-18 conversion and GFLA heatmaps: the formats GFLA and the filter rely on."""

from __future__ import annotations

import numpy as np
import pytest

from adgen.pose import OPENPOSE_KEYPOINTS, coco17_to_openpose18, heatmaps, missing_keypoints
from adgen.pose.keypoints import COCO_KEYPOINTS


def _coco() -> np.ndarray:
    return np.array([[0.1 + 0.01 * i, 0.2 + 0.02 * i, 0.9] for i in range(17)], dtype=np.float32)


def test_openpose_order_maps_each_named_joint_from_coco() -> None:
    coco = _coco()
    op = coco17_to_openpose18(coco)
    names = {"r_sho": "right_shoulder", "l_wri": "left_wrist", "r_eye": "right_eye", "l_ear": "left_ear",
             "r_ank": "right_ankle", "nose": "nose", "l_hip": "left_hip"}  # fmt: skip
    for op_name, coco_name in names.items():
        np.testing.assert_allclose(
            op[OPENPOSE_KEYPOINTS.index(op_name)], coco[COCO_KEYPOINTS.index(coco_name)]
        )
    assert len(OPENPOSE_KEYPOINTS) == 18 and OPENPOSE_KEYPOINTS[1] == "neck"


def test_neck_is_mid_shoulder_and_missing_without_both_shoulders() -> None:
    coco = _coco()
    op = coco17_to_openpose18(coco)
    mid = (
        coco[COCO_KEYPOINTS.index("left_shoulder"), :2] + coco[COCO_KEYPOINTS.index("right_shoulder"), :2]
    ) / 2
    np.testing.assert_allclose(op[1, :2], mid)
    coco[COCO_KEYPOINTS.index("left_shoulder"), 2] = 0.05
    op = coco17_to_openpose18(coco, min_score=0.2)
    assert op[1].tolist() == [-1, -1, 0] and op[5].tolist() == [-1, -1, 0]


def test_heatmap_peaks_at_the_integer_keypoint_with_sigma_six() -> None:
    kp = missing_keypoints()
    kp[4] = (50.7 / 176, 100.2 / 256, 1.0)  # pixel (x 50.7, y 100.2) in a 256x176 map
    hm = heatmaps(kp, 256, 176)
    assert hm.shape == (18, 256, 176) and hm.dtype == np.float32
    y, x = np.unravel_index(np.argmax(hm[4]), hm[4].shape)
    assert (y, x) == (100, 50) and hm[4, 100, 50] == pytest.approx(1.0)
    assert hm[4, 100, 56] == pytest.approx(np.exp(-0.5), rel=1e-5)  # one sigma (6 px) away
    assert hm[4, 106, 56] == pytest.approx(np.exp(-1.0), rel=1e-5)


def test_missing_keypoint_gives_an_all_zero_channel() -> None:
    kp = missing_keypoints()
    kp[0] = (0.5, 0.5, 0.9)
    hm = heatmaps(kp, 64, 32, sigma=2)
    assert hm[1:].max() == 0.0 and hm[0].max() == pytest.approx(1.0)


def test_heatmaps_match_the_official_gfla_rendering() -> None:
    """GFLA: point / old_size * img_size, int(), exp(-((yy-y)^2+(xx-x)^2) / (2 sigma^2))."""
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, 256, 18), rng.integers(0, 176, 18)
    kp = np.stack([xs / 176, ys / 256, np.ones(18)], axis=1)
    ours = heatmaps(kp, 256, 176)
    xx, yy = np.meshgrid(np.arange(176), np.arange(256))
    for i in range(18):
        ref = np.exp(-((yy - ys[i]) ** 2 + (xx - xs[i]) ** 2) / (2 * 6**2))
        np.testing.assert_allclose(ours[i], ref, atol=1e-6)
