"""The pose stage: 18 OpenPose keypoints for stripped people and DeepFashion images.

It runs after strip, on strip's output: the people strip cut out (its manifest's kept rows; which
photos those are is strip's rule alone, `strip.include_no_bag` included). Each is estimated on
its photo from the raw store, cropped around the person box strip carried over from the filter (a
single-person model wants one centred, natural-looking person, not a cut-out on white); the
keypoints are mapped back and stored normalised to the whole EXIF-upright photo, the contract's
frame that the dataset builders read.
Output: data/pose/keypoints.parquet (image_id, source, path, width, height, keypoints [18x3],
item_id, gfla_name). A re-run with unchanged inputs does nothing; a refresh estimates only new images.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from PIL import Image

from adgen import manifest, safety, stamp
from adgen.config import Params
from adgen.errors import UserError
from adgen.matting.photo import box_to_pixels, expand_box, load_photo
from adgen.matting.strip import box_or_none, stripped_manifest_path
from adgen.progress import track
from adgen.store.locations import raw_store
from adgen.store.photos import Photos

COLUMNS = ["image_id", "source", "path", "width", "height", "keypoints", "item_id", "gfla_name", "estimator"]


class Estimator(Protocol):
    def estimate(self, image: Image.Image) -> np.ndarray: ...


@dataclass(frozen=True)
class PoseResult:
    table_path: Path
    n_kept: int
    n_deepfashion: int
    n_estimated: int
    skipped: bool


@dataclass(frozen=True)
class PoseJob:
    image_id: str
    source: str
    path: Path | None  # absolute; None: a member of the raw image store (`rel`)
    rel: str  # as stored in the table
    box: list[float] | None  # normalised person box to crop to
    item_id: str | None = None
    gfla_name: str | None = None


def keypoints_table_path(params: Params) -> Path:
    return params.path(params.paths.pose) / "keypoints.parquet"


def estimate_in_box(
    estimator: Estimator, image: Image.Image, box: list[float] | None, margin: float
) -> np.ndarray:
    """Run on the person's crop, return [18, 3] normalised to the whole image."""
    w, h = image.size
    if box is None:
        return estimator.estimate(image)
    x0, y0, x1, y1 = expand_box(box_to_pixels(box, w, h), margin, w, h)
    kp = estimator.estimate(image.crop((x0, y0, x1, y1))).copy()
    ok = kp[:, 2] > 0
    kp[ok, 0] = (x0 + kp[ok, 0] * (x1 - x0)) / w
    kp[ok, 1] = (y0 + kp[ok, 1] * (y1 - y0)) / h
    return kp


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def pose_jobs(params: Params) -> list[PoseJob]:
    jobs: list[PoseJob] = []
    stripped_path = stripped_manifest_path(params)
    if not stripped_path.is_file():
        # pose runs after strip: no strip output is a missing input, not an empty set of people
        raise UserError(
            f"{stripped_path}: not found; run `adgen strip` first (pose estimates the people it kept)"
        )
    df = pd.read_parquet(stripped_path)
    if len(df):
        df = df[df["keep"].fillna(False).astype(bool)]
    safety.check_manifest(df, str(stripped_path), params.root)
    Photos(raw_store(params), str(stripped_path)).check(df)
    for row in df.to_dict("records"):
        if box_or_none(row.get("person_box")) is None:
            continue
        # a stripped person's photo is read from the raw image store: its `path` here is its member
        jobs.append(
            PoseJob(row["image_id"], "kept", None, str(row["member"]), box_or_none(row["person_box"]))
        )
    if params.datasets.deepfashion is not None and params.pose.deepfashion:
        from adgen.deepfashion import DeepFashionInShop

        images = DeepFashionInShop(params.path(params.datasets.deepfashion)).images
        if params.pose.deepfashion_max_images:
            images = images[: params.pose.deepfashion_max_images]
        for im in images:
            image_id = hashlib.sha256(im.path.read_bytes()).hexdigest()
            jobs.append(
                PoseJob(
                    image_id,
                    "deepfashion",
                    im.path,
                    _rel(im.path, params.root),
                    None,
                    im.item_id,
                    im.gfla_name,
                )
            )
    return jobs


def estimator_key(params: Params) -> str:
    """Identity of what estimates: the pose params, and the model file itself when it is local."""
    h = hashlib.sha256(
        json.dumps(params.pose.model_dump(mode="json", exclude={"ground_truth"}), sort_keys=True).encode()
    )
    if "://" not in params.pose.model:
        pb = params.path(params.pose.model) / "saved_model.pb"
        if pb.is_file():
            h.update(hashlib.sha256(pb.read_bytes()).digest())
    return h.hexdigest()[:16]


def estimate_poses(params: Params, estimator: Estimator | None = None, force: bool = False) -> PoseResult:
    """Run the pose stage; `estimator` defaults to `load_pose_estimator(pose.model)` (loaded only if needed)."""
    out_path = keypoints_table_path(params)
    jobs = pose_jobs(params)
    est_key = estimator_key(params)
    st = stamp.Stamp(out_path.parent / ".stamp")
    key = stamp.fingerprint({"estimator": est_key, "jobs": [(j.image_id, j.source, j.box) for j in jobs]}, [])
    n_kept = sum(j.source == "kept" for j in jobs)
    if not force and st.matches(key) and out_path.is_file():
        return PoseResult(out_path, n_kept, len(jobs) - n_kept, 0, skipped=True)
    previous: dict[tuple[str, str], dict] = {}
    if out_path.is_file() and not force:
        for r in pd.read_parquet(out_path).to_dict("records"):
            if r.get("estimator") == est_key:
                previous[(r["image_id"], r["source"])] = r
    rows, n_new = [], 0
    photos = Photos(raw_store(params), "stripped manifest")
    for job in track(jobs, "pose", total=len(jobs)):
        old = previous.get((job.image_id, job.source))
        if old is not None:
            rows.append(old)
            continue
        if estimator is None:
            from adgen.pose.estimate import load_pose_estimator

            estimator = load_pose_estimator(params.pose.model, params.pose.input_size, params.pose.min_score)
        try:
            image = load_photo(job.path if job.path is not None else photos.read({"member": job.rel}))
        except (OSError, ValueError):  # unreadable or over the pixel limit: the photo's fault, not the disk's
            continue  # the filter already marked unreadable photos; DeepFashion strays are skipped
        kp = estimate_in_box(estimator, image, job.box, params.pose.crop_margin)
        rows.append(
            {
                "image_id": job.image_id,
                "source": job.source,
                "path": job.rel,
                "width": image.width,
                "height": image.height,
                "keypoints": [[float(v) for v in p] for p in kp],
                "item_id": job.item_id,
                "gfla_name": job.gfla_name,
                "estimator": est_key,
            }
        )
        n_new += 1
    df = pd.DataFrame(rows, columns=COLUMNS)
    manifest.write(df, out_path)
    st.write(key)
    return PoseResult(out_path, n_kept, len(jobs) - n_kept, n_new, skipped=False)


def keypoints_array(value) -> np.ndarray:
    """A `keypoints` cell from the Parquet table -> float32 [18, 3]."""
    return np.asarray([np.asarray(p, dtype=np.float32) for p in value], dtype=np.float32)
