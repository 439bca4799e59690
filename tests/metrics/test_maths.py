"""IS and FID maths on known cases, independent of any network."""

from __future__ import annotations

import numpy as np
import pytest

from adgen.metrics.maths import FeatureStats, feature_stats, frechet_distance, inception_score_from_probs


def test_is_of_a_one_class_set_is_one():
    probs = np.zeros((50, 1000))
    probs[:, 7] = 1.0
    assert inception_score_from_probs(probs).mean == pytest.approx(1.0)


def test_is_of_confident_evenly_spread_classes_is_the_number_of_classes():
    probs = np.eye(10)[np.tile(np.arange(10), 10)]  # 100 images, 10 per class, each split balanced
    score = inception_score_from_probs(probs, splits=10)
    assert score.mean == pytest.approx(10.0) and score.std == pytest.approx(0.0, abs=1e-9)


def test_is_of_uncertain_predictions_is_one():
    assert inception_score_from_probs(np.full((20, 5), 0.2), splits=2).mean == pytest.approx(1.0)


def test_fid_of_identical_sets_is_zero():
    f = np.random.default_rng(0).normal(size=(500, 16))
    s = feature_stats(f)
    assert frechet_distance(s, s) == pytest.approx(0.0, abs=1e-8)


def test_fid_matches_the_closed_form_for_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    a, b = FeatureStats(mu1, np.diag(v1), 0), FeatureStats(mu2, np.diag(v2), 0)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected)


def test_fid_grows_with_the_shift_between_sets():
    rng = np.random.default_rng(1)
    base = feature_stats(rng.normal(size=(2000, 8)))
    near = feature_stats(rng.normal(size=(2000, 8)) + 0.1)
    far = feature_stats(rng.normal(size=(2000, 8)) + 1.0)
    assert frechet_distance(base, near) < frechet_distance(base, far)
    assert frechet_distance(base, far) == pytest.approx(8.0, rel=0.1)


def test_feature_statistics_need_two_vectors():
    with pytest.raises(ValueError):
        feature_stats(np.zeros((1, 4)))
