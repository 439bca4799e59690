"""Pose MSE ignores missing keypoints; SSIM is 1 for identical images and follows its formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adgen.metrics import pose_mse, ssim


def _pose(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kp = np.concatenate([rng.random((18, 2)), np.ones((18, 1))], axis=1)
    return kp


def test_pose_mse_is_the_mean_squared_coordinate_error():
    a = _pose(0)
    b = a.copy()
    b[:, 0] += 0.1  # x off by 0.1 everywhere, y exact
    assert pose_mse(a, b) == pytest.approx(0.01 / 2)
    assert pose_mse(a, a) == 0.0


def test_pose_mse_ignores_points_missing_on_either_side():
    a, b = _pose(0), _pose(0)
    b[3] = [-1, -1, 0]  # missing in the estimate: huge coordinate error must not count
    a[5, :2] += 0.3
    a[5, 2] = 0  # missing in the request
    assert pose_mse(a, b) == 0.0


def test_pose_mse_with_nothing_in_common_is_nan_and_batches_work():
    a, b = _pose(0), _pose(1)
    b[:, 2] = 0
    assert math.isnan(pose_mse(a, b))
    batch = np.stack([_pose(0), _pose(2)])
    assert pose_mse(batch, batch) == 0.0


def test_ssim_of_identical_images_is_one_and_drops_with_noise():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (32, 24, 3)).astype(np.uint8)
    noisy = np.clip(img + rng.normal(0, 40, img.shape), 0, 255).astype(np.uint8)
    assert ssim(img, img) == pytest.approx(1.0)
    assert ssim(img, noisy) < 0.9
    assert ssim(img, noisy) == pytest.approx(ssim(noisy, img))


def test_ssim_of_two_flat_images_is_the_luminance_term():
    a, b = np.full((16, 16, 3), 100.0), np.full((16, 16, 3), 150.0)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b) == pytest.approx((2 * 100 * 150 + c1) / (100**2 + 150**2 + c1))
