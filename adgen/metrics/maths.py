"""The maths of the metrics, separate from the networks that produce their inputs.

- Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), mean and std over splits.
- Frechet Inception Distance (Heusel et al. 2017): |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2),
  with scipy's sqrtm exactly as the original TTUR code (so numbers are comparable).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg


class InceptionScore(NamedTuple):
    mean: float
    std: float


def inception_score_from_probs(probs: np.ndarray, splits: int = 10) -> InceptionScore:
    """IS of class probabilities [N, classes] (rows sum to 1)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"expected probabilities [N, classes], got shape {probs.shape}")
    splits = max(1, min(splits, len(probs)))
    scores = []
    for part in np.array_split(probs, splits):
        py = part.mean(axis=0, keepdims=True)
        # p * (log p - log py), with 0 * log 0 = 0 (py > 0 wherever p > 0)
        safe = np.where(part > 0, part, 1.0)
        kl = np.where(part > 0, part * (np.log(safe) - np.log(np.where(part > 0, py, 1.0))), 0.0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return InceptionScore(float(np.mean(scores)), float(np.std(scores)))


class FeatureStats(NamedTuple):
    mu: np.ndarray
    sigma: np.ndarray
    count: int


def feature_stats(features: np.ndarray) -> FeatureStats:
    """Mean and covariance (N-1 normalised, as np.cov) of activations [N, D]."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need at least 2 feature vectors [N, D], got shape {f.shape}")
    return FeatureStats(f.mean(axis=0), np.cov(f, rowvar=False), len(f))


def frechet_distance(a: FeatureStats, b: FeatureStats, eps: float = 1e-6) -> float:
    """Frechet distance between two Gaussians fitted to activations (TTUR's calculation)."""
    mu1, mu2 = np.atleast_1d(a.mu), np.atleast_1d(b.mu)
    s1, s2 = np.atleast_2d(a.sigma), np.atleast_2d(b.sigma)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError("feature statistics have different dimensions")
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():  # singular product: nudge both diagonals
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: imaginary component {np.max(np.abs(covmean.imag))} in sqrtm")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
