"""The DPIG dataset: people with their poses, one image file and one keypoint row each.

DPIG (adgen/models/dpig) learns appearance and pose apart, so it needs people with keypoints
rather than pairs or bags. Two sources, as everywhere in build-datasets:
- `people`: the stripped people on white (strip's store) with the pose stage's keypoints, moved
  from the photo's frame into the cut-out's `crop_box`;
- `deepfashion`: the In-shop images of `datasets.deepfashion`, the official GFLA keypoint CSVs
  first, else the pose stage's estimate.
Images are copied as they are (no resizing: DPIG fits them into its own H×W frame, which is a
training knob); keypoints follow the project contract, (18, 3) OpenPose order, x, y normalised to
the image, conf 0 and x = y = -1 when missing. People with fewer than `datasets.dpig_min_keypoints`
present keypoints are left out.

Layout: `dpig/images/<image_id>.<png|jpg>`, `dpig/people.parquet` (image_id, ext, source,
keypoints, n_keypoints, site, license) and `dpig/card.json`. A reader builds each file's path from
its validated image id and a known extension, never from a path in the table.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from adgen import manifest, safety
from adgen.datasets.framing import crop_points
from adgen.datasets.sources import StrippedPerson
from adgen.errors import UserError
from adgen.store.photos import ImageSource, StoredImage

NAME = "dpig"
TABLE = "people.parquet"
COLUMNS = ["image_id", "ext", "source", "keypoints", "n_keypoints", "site", "license"]
EXTENSIONS = ("png", "jpg")
SOURCES = ("people", "deepfashion")


@dataclass(frozen=True)
class DpigEntry:
    image_id: str
    image: ImageSource  # a stored cut-out or a DeepFashion file
    ext: str
    source: str
    keypoints: np.ndarray  # (18, 3), normalised to this image
    site: str
    license: str


def present(kp: np.ndarray) -> int:
    """How many keypoints a (18, 3) contract array has."""
    return int(((kp[:, 2] > 0) & (kp[:, 0] >= 0) & (kp[:, 1] >= 0)).sum())


def in_crop(kp_photo: np.ndarray, crop_box: list[float]) -> np.ndarray:
    """Photo-frame keypoints -> the cut-out's frame; points outside it become missing."""
    kp = np.asarray(kp_photo, np.float32).copy()
    xy = crop_points(kp[:, :2], crop_box)
    missing = (kp[:, 2] <= 0) | (xy < 0).any(axis=1) | (xy > 1).any(axis=1)
    kp[:, :2] = xy
    kp[missing] = (-1.0, -1.0, 0.0)
    return kp


def entries(
    people: list[StrippedPerson], deepfashion, df_kps: dict[str, np.ndarray], min_keypoints: int
) -> list[DpigEntry]:
    """Every person with a pose, stripped people first, then DeepFashion (a missing pose: left out)."""
    out: list[DpigEntry] = []
    for p in people:
        if p.keypoints is None:
            continue
        out.append(DpigEntry(p.image_id, p.white, "png", "people", in_crop(p.keypoints, p.crop_box), p.site,
                             p.license))  # fmt: skip
    if deepfashion is not None:
        for im in deepfashion.images:
            kp = df_kps.get(im.gfla_name)
            if kp is None:
                continue
            image_id = hashlib.sha256(im.path.read_bytes()).hexdigest()
            out.append(DpigEntry(image_id, im.path, "jpg", "deepfashion", np.asarray(kp, np.float32), "deepfashion",
                                 "DeepFashion (research use only)"))  # fmt: skip
    seen: set[str] = set()
    kept = []
    for e in out:  # the same photo twice (a duplicate in DeepFashion): once is enough
        if present(e.keypoints) >= min_keypoints and e.image_id not in seen:
            seen.add(e.image_id)
            kept.append(e)
    return kept


def write_dpig(items: list[DpigEntry], out_dir: Path) -> dict[str, int]:
    """images/ and people.parquet under `out_dir` (replaced whole); returns the counts per source."""
    images = out_dir / "images"
    shutil.rmtree(images, ignore_errors=True)
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for e in items:
        data = e.image.read() if isinstance(e.image, StoredImage) else Path(e.image).read_bytes()
        # plain writes: the stage keeps the last whole datasets until this build is done (build.py)
        (images / f"{safety.image_id(e.image_id, 'dpig')}.{e.ext}").write_bytes(data)
        rows.append({"image_id": e.image_id, "ext": e.ext, "source": e.source,
                     "keypoints": [[float(v) for v in p] for p in e.keypoints],
                     "n_keypoints": present(e.keypoints), "site": e.site, "license": e.license})  # fmt: skip
    manifest.write(pd.DataFrame(rows, columns=COLUMNS), out_dir / TABLE)
    counts = Counter(r["source"] for r in rows)
    return {s: int(counts[s]) for s in SOURCES}


@dataclass(frozen=True)
class DpigPerson:
    """One person of the built dataset, as DPIG reads it."""

    path: Path
    keypoints: np.ndarray  # (18, 3) normalised to the image
    source: str


def read_dpig(dataset_dir: Path, sources: list[str], min_keypoints: int) -> list[DpigPerson]:
    """The people of a built DPIG dataset from `sources` with at least `min_keypoints` keypoints."""
    table = dataset_dir / TABLE
    if not table.is_file():
        raise UserError(
            f"{table}: no DPIG dataset; run `adgen build-datasets` (after `adgen strip` and `adgen pose`)"
        )
    df = pd.read_parquet(table)
    missing = [c for c in ("image_id", "ext", "source", "keypoints") if c not in df.columns]
    if missing:
        raise UserError(f"{table}: columns {', '.join(missing)} missing; run `adgen build-datasets --force`")
    out: list[DpigPerson] = []
    for r in df[df["source"].isin(sources)].to_dict("records"):
        ext = str(r["ext"])
        if ext not in EXTENSIONS:
            raise UserError(
                f"{table}: image {str(r['image_id'])[:16]}: extension {ext[:8]!r} is not png or jpg"
            )
        kp = np.asarray([np.asarray(p, np.float32) for p in r["keypoints"]], np.float32)
        if kp.shape != (18, 3) or not np.isfinite(kp).all():
            raise UserError(
                f"{table}: image {str(r['image_id'])[:16]}: keypoints are not 18 finite (x, y, conf)"
            )
        if present(kp) < min_keypoints:
            continue
        path = dataset_dir / "images" / f"{safety.image_id(str(r['image_id']), str(table))}.{ext}"
        out.append(DpigPerson(path, kp, str(r["source"])))
    return out
