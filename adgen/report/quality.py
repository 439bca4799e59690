"""Strip and pose quality, worst cases first: what a reviewer checks before trusting the cut-outs.

Always: the quality gates' pass rates read from the stage outputs (the strip manifest's `keep` and
`reason`, the first mask-quality rule a cut-out failed, adgen/matting/quality.py; the pose table's
keypoints against the keypoint counts the comparison's target poses and DPIG's training need).
Where the fixture site's truth exists (`strip.ground_truth`, `pose.ground_truth`: the demo), the
mask IoU and keypoint error of each image too: the IoU per cut-out `adgen strip` wrote
(`fixture_scores.parquet`: only a CLI may render the fixture's masks), the keypoint error scored here
by the pose stage's own evaluation code. Each part
has a row of thumbnails, worst first, each opening the photo's page.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from adgen.errors import UserError
from adgen.report.items import Photos


def _truth(params: Any, path: Path | None) -> dict[str, dict] | None:
    """The fixture site's ground truth named by a stage's `ground_truth` param, or None (unset,
    missing, or not a ground-truth file: the section goes on with the gates alone)."""
    from adgen.matting.evaluate import load_ground_truth

    if path is None or not params.path(path).is_file():
        return None
    try:
        return load_ground_truth(params.path(path))[0]
    except UserError:
        return None


def _rate(passed: int, total: int) -> str:
    return f"{passed} / {total} ({passed / total:.0%})" if total else "0 / 0"


def _member(photos: Photos, image_id: str) -> object:
    return photos.rows.get(image_id, {}).get("member")


def strip_quality(params: Any, photos: Photos, limit: int, px: int) -> dict[str, Any] | None:
    """Gate pass rates, mask IoU against the truth, and the worst cut-outs (lowest IoU, and those a
    gate dropped); None before the strip has run."""
    path = params.path(params.paths.stripped) / "manifest.parquet"
    if not path.is_file():
        return None
    df = pd.read_parquet(path)
    if not {"image_id", "keep", "reason"} <= set(df.columns) or df.empty:
        return None
    kept = df["keep"].fillna(False).astype(bool)
    gates = [("every gate (kept)", _rate(int(kept.sum()), len(df)))]
    for reason, n in df.loc[~kept, "reason"].fillna("(none)").value_counts().items():
        gates.append((f"dropped: {reason}", f"{n} ({n / len(df):.0%})"))
    part: dict[str, Any] = {"gates": gates, "scores": [], "rows": []}
    scores = params.path(params.paths.stripped) / "fixture_scores.parquet"  # `adgen strip`, given truth
    if params.strip.ground_truth is not None and scores.is_file():
        per = pd.read_parquet(scores)
        part["scores"] = [("cut-outs scored", len(per)), ("mean mask IoU, person ∪ bag", per["person_iou"].mean()),
                          ("mean mask IoU, bag", per["bag_iou"].mean())]  # fmt: skip
        per = per.sort_values(["person_iou", "bag_iou"], na_position="first", kind="stable")
        cutouts = df.set_index("image_id")["person_rgba"] if "person_rgba" in df else {}
        tiles = (
            photos.tile(r["image_id"], "person_rgba", cutouts.get(r["image_id"]), px, _iou_label(r))
            for r in per.to_dict("records")
        )
        part["rows"].append(_row("lowest mask IoU first (kept cut-outs against the fixture's exact masks)",
                                 tiles, limit, len(per)))  # fmt: skip
    dropped = df[~kept].sort_values("reason", kind="stable")
    tiles = (
        photos.tile(iid, "member", _member(photos, iid), px, str(reason))
        for iid, reason in zip(dropped["image_id"], dropped["reason"], strict=True)
    )
    part["rows"].append(_row("failing a quality gate (the photo, with the first gate it failed)", tiles,
                             limit, len(dropped)))  # fmt: skip
    part["rows"] = [r for r in part["rows"] if r]
    return part


def _iou_label(rec: dict[str, Any]) -> str:
    bag = "" if pd.isna(rec["bag_iou"]) else f", bag {rec['bag_iou']:.2f}"
    return f"IoU {rec['person_iou']:.2f}{bag}"


def _row(caption: str, tiles: Iterable[dict | None], limit: int, total: int) -> dict[str, Any] | None:
    """Up to `limit` thumbnails, made lazily in the given (worst-first) order; unreadable ones skipped."""
    shown = list(itertools.islice((t for t in tiles if t is not None), limit))
    return {"caption": caption, "tiles": shown, "total": total} if shown else None


def found(keypoints: object) -> int:
    """Keypoints the estimator found (confidence > 0) in a table cell of 18 [x, y, c]."""
    from adgen.pose.stage import keypoints_array

    return int((keypoints_array(keypoints)[:, 2] > 0).sum())


def _pose_thumb(photos: Photos, image_id: str, keypoints: object) -> bytes | None:
    """The photo with its keypoints and limbs drawn (OpenPose colours), as PNG bytes."""
    from adgen.pose.contract import draw_pose
    from adgen.pose.stage import keypoints_array

    src = photos.source("member", _member(photos, image_id))
    if src is None:
        return None
    try:
        with Image.open(io.BytesIO(src) if isinstance(src, bytes) else src) as im:
            photo = im.convert("RGB")
    except (OSError, ValueError):
        return None
    drawn = draw_pose(keypoints_array(keypoints), photo.size, background=photo)
    buf = io.BytesIO()
    drawn.save(buf, format="PNG")
    return buf.getvalue()


def pose_gates(params: Any) -> list[tuple[str, int]]:
    """(what needs them, keypoints needed) for the pose gates downstream stages apply."""
    from adgen.models.registry import models

    gates = [("a target pose of the comparison (compare.min_keypoints)", params.compare.min_keypoints)]
    for name, spec in models().items():  # the models that declare one (DPIG)
        options = getattr(getattr(params, "train", None), name, None)
        if spec.pose_gate and options is not None:
            where = f"train.{name}.{spec.pose_gate}"
            gates.append((f"a {spec.label} training person ({where})", getattr(options, spec.pose_gate)))
    return gates


def pose_quality(params: Any, photos: Photos, limit: int, px: int) -> dict[str, Any] | None:
    """Keypoints found per kept person against the gates, the keypoint error against the truth, and
    the worst poses (highest error, else fewest keypoints) drawn on their photos; None before the
    pose stage has run."""
    from adgen.pose.stage import keypoints_table_path

    path = keypoints_table_path(params)
    if not path.is_file():
        return None
    df = pd.read_parquet(path)
    df = df[df["source"] == "kept"] if "source" in df else df.iloc[:0]
    if df.empty:
        return None
    df = df.assign(found=[found(k) for k in df["keypoints"]])
    gates = [(f"≥ {k} of 18 keypoints: {what}", _rate(int((df["found"] >= k).sum()), len(df)))
             for what, k in pose_gates(params)]  # fmt: skip
    gates.append(("no keypoint found", _rate(int((df["found"] == 0).sum()), len(df))))
    part: dict[str, Any] = {"gates": gates, "scores": [], "rows": []}
    order = df.sort_values("found", kind="stable")
    labels = {iid: f"{n} of 18 found" for iid, n in zip(df["image_id"], df["found"], strict=True)}
    caption = "fewest keypoints found first"
    truth = _truth(params, params.pose.ground_truth)
    if truth is not None:
        from adgen.pose.evaluate import score_against_fixture

        k = score_against_fixture(params, truth)
        part["scores"] = [("people scored", k.n_images), ("mean keypoint error (px)", k.mean_error_px),
                          ("… as a share of the person's height", k.mean_error_rel),
                          ("keypoints found / visible in the truth", k.recall)]  # fmt: skip
        if len(k.per_image):
            per = k.per_image.assign(worst=k.per_image["mean_error_px"].fillna(math.inf))
            per = per.sort_values("worst", ascending=False, kind="stable")
            order = df.set_index("image_id").loc[per["image_id"]].reset_index()
            for rec in per.to_dict("records"):
                err = "none found" if np.isnan(rec["mean_error_px"]) else f"{rec['mean_error_px']:.1f} px"
                labels[rec["image_id"]] = f"error {err}, {rec['found']}/{rec['visible']} found"
            caption = "highest keypoint error first (against the fixture's exact keypoints)"
    tiles = (
        photos.tile_of(iid, _pose_thumb(photos, str(iid), kp), "pose", px, labels[iid])
        for iid, kp in zip(order["image_id"], order["keypoints"], strict=True)
    )
    part["rows"] = [
        r for r in [_row(caption + ", keypoints drawn on the photo", tiles, limit, len(order))] if r
    ]
    return part
