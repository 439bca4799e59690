"""One scoring code for every generator: IS, FID against the real set, pose MSE, full-body share.

- Inception Score of the generated people (Keras InceptionV3, `metrics.inception_v3_weights`);
- FID between them and the evaluation set's real photos (`metrics.fid_inception_graph`);
- pose-keypoint MSE between the target pose and the pose the pose model finds on each image
  (pose-controlled generators only; the product's measure, `adgen.metrics.pose.pose_mse`);
- the share of images where the pose model finds a full body (head and ankles, by the filter's
  rule: `detect.keypoint_min_conf`, `detect.ankles_required`) and the share where it finds a pose;
- images/s of generation (timed by the caller).

A metric whose network is not configured is "skipped" with the reason (in the info file), the
rest is still scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from adgen.detect.rule import head_and_feet_seen
from adgen.metrics.maths import FeatureStats
from adgen.metrics.pose import pose_mse
from adgen.pose.contract import fit_into_frame


@dataclass
class Scorer:
    """The metric networks, loaded once, and the real set's FID statistics, computed once."""

    inception_weights: Any = None  # Path or None
    fid_graph: Any = None  # Path or None
    estimator: Any = None  # adgen.pose.estimate.PoseEstimator or None
    estimator_error: str | None = None
    keypoint_min_conf: float = 0.3
    ankles_required: int = 2
    batch_size: int = 32
    is_splits: int = 10
    _real_stats: FeatureStats | None = None

    def real_stats(self, real: list[Image.Image]) -> FeatureStats:
        if self._real_stats is None:
            from adgen.metrics.fid import image_stats

            self._real_stats = image_stats(real, self.fid_graph, self.batch_size)
        return self._real_stats

    def full_body(self, kp: np.ndarray) -> bool:
        return all(head_and_feet_seen(kp, self.keypoint_min_conf, self.ankles_required))

    def score(
        self,
        images: list[Image.Image],
        real: list[Image.Image],
        targets: list[np.ndarray] | None,
        target_size: tuple[int, int],
        seconds: float,
    ) -> dict[str, Any]:
        """Numbers and `<metric>_skipped` reasons for one generator's images.

        `targets[i]` is the pose image i was asked for, normalised to `target_size` (w, h): the
        evaluation set's frame; it is fitted into each image's own frame before comparing.
        """
        out: dict[str, Any] = {"images": len(images)}
        if seconds > 0:
            out["images_per_second"] = len(images) / seconds
        if self.inception_weights is None:
            out["inception_score_skipped"] = "metrics.inception_v3_weights is not set"
        else:
            from adgen.metrics.inception_score import inception_score

            s = inception_score(
                images, self.inception_weights, min(self.is_splits, len(images)), self.batch_size
            )
            out.update(inception_score=float(s.mean), inception_score_std=float(s.std))
        if self.fid_graph is None:
            out["fid_skipped"] = "metrics.fid_inception_graph is not set"
        elif len(images) < 2 or len(real) < 2:
            out["fid_skipped"] = "FID needs at least 2 generated and 2 real images"
        else:
            from adgen.metrics.fid import image_stats
            from adgen.metrics.maths import frechet_distance

            out["fid"] = frechet_distance(
                self.real_stats(real), image_stats(images, self.fid_graph, self.batch_size)
            )
        if self.estimator is None:
            why = f"no pose model: {self.estimator_error}"
            out.update(full_body_share_skipped=why, pose_mse_skipped=why)
            return out
        found = [self.estimator.estimate(im.convert("RGB")) for im in images]
        out["pose_found_share"] = float(np.mean([(kp[:, 2] > 0).any() for kp in found]))
        out["full_body_share"] = float(np.mean([self.full_body(kp) for kp in found]))
        if targets is None:
            out["pose_mse_skipped"] = "not pose-controlled"
            return out
        errors = []
        for im, target, kp in zip(images, targets, found, strict=True):
            e = pose_mse(fit_into_frame(target, target_size, im.size), kp)
            if np.isfinite(e):
                errors.append(e)
        if errors:
            out["pose_mse"] = float(np.mean(errors))
            out["pose_mse_images"] = len(errors)
        else:
            out["pose_mse_skipped"] = "the pose model found no target keypoint in any image"
        return out
