"""The shared metrics every model is judged by: IS, FID, pose MSE, SSIM.

The maths (`adgen.metrics.maths`) is separate from the networks; the networks are the standard
ones (Keras InceptionV3 for IS, the 2015 TF Inception graph for FID) loaded from local files named
in params.yaml (`metrics.*`). TensorFlow is imported only when a network is used.
"""

from adgen.metrics.fid import fid
from adgen.metrics.inception_score import inception_score
from adgen.metrics.maths import (
    FeatureStats,
    InceptionScore,
    feature_stats,
    frechet_distance,
    inception_score_from_probs,
)
from adgen.metrics.pose import pose_mse
from adgen.metrics.ssim import ssim

__all__ = [
    "FeatureStats",
    "InceptionScore",
    "feature_stats",
    "fid",
    "frechet_distance",
    "inception_score",
    "inception_score_from_probs",
    "pose_mse",
    "ssim",
]
