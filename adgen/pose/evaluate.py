"""Keypoint error of the pose table against the fixture site's exact keypoints (demo and tests)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adgen.config import Params
from adgen.pose.stage import keypoints_array, keypoints_table_path


@dataclass(frozen=True)
class KeypointScores:
    n_images: int
    n_points: int  # points visible in the truth and found by the model
    mean_error_px: float  # mean Euclidean error in photo pixels
    mean_error_rel: float  # ... as a fraction of the person's height
    recall: float  # found / visible in truth
    per_image: pd.DataFrame


def score_against_fixture(params: Params, truth_by_id: dict[str, dict]) -> KeypointScores:
    df = pd.read_parquet(keypoints_table_path(params))
    df = df[df["source"] == "kept"]
    rows, errs, rel, visible, found = [], [], [], 0, 0
    for r in df.to_dict("records"):
        truth = truth_by_id.get(r["image_id"])
        if truth is None or not truth.get("people"):
            continue
        t = np.asarray(truth["people"][0]["keypoints"], dtype=np.float64)
        kp = keypoints_array(r["keypoints"]).astype(np.float64)
        w, h = truth["width"], truth["height"]
        vis = t[:, 2] > 0
        hit = vis & (kp[:, 2] > 0)
        d = np.hypot((kp[hit, 0] - t[hit, 0]) * w, (kp[hit, 1] - t[hit, 1]) * h)
        ys = t[vis, 1] * h
        person_h = max(1.0, float(ys.max() - ys.min())) if vis.any() else float(h)
        errs += d.tolist()
        rel += (d / person_h).tolist()
        visible += int(vis.sum())
        found += int(hit.sum())
        rows.append({"image_id": r["image_id"], "mean_error_px": float(d.mean()) if len(d) else np.nan,
                     "found": int(hit.sum()), "visible": int(vis.sum())})  # fmt: skip
    return KeypointScores(
        len(rows),
        found,
        float(np.mean(errs)) if errs else float("nan"),
        float(np.mean(rel)) if rel else float("nan"),
        found / visible if visible else float("nan"),
        pd.DataFrame(rows),
    )
