"""GFLA's official DeepFashion layout, so the official code (and ours) can read it unchanged.

    gfla/train/<name>.jpg, gfla/test/<name>.jpg                  images, 256x176 (H x W)
    gfla/fashion-resize-annotation-{train,test}.csv              name:keypoints_y:keypoints_x
    gfla/fashion-resize-pairs-{train,test}.csv                   from,to
    gfla/fasion-annotation-*.csv, gfla/fasion-pairs-*.csv        the same files under the names
                                                                 GFLA's FashionDataset opens
    gfla/train.lst, gfla/test.lst                                image names per split

Keypoints are OpenPose-18 order, integer pixel coordinates in the 256x176 frame, -1 when missing;
each list is JSON (the official reader does `json.loads`). A pair is the same person in two poses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adgen import atomic, safety
from adgen.datasets.framing import fit_into
from adgen.progress import track
from adgen.store.photos import ImageSource, openable

HEIGHT, WIDTH = 256, 176


@dataclass(frozen=True)
class GflaImage:
    name: str  # file name in train/ or test/
    split: str  # "train" | "test"
    source: ImageSource  # image to frame (a stored person on white, or a DeepFashion photo)
    keypoints: np.ndarray  # [18, 3] normalised to `source`
    person: str  # pairing key: DeepFashion item id or near-duplicate group
    origin: str  # "deepfashion" | "curated"


def to_gfla_pixels(kp: np.ndarray) -> tuple[list[int], list[int]]:
    """[18, 3] normalised (x, y, conf) in the 256x176 frame -> (ys, xs) integer pixels, -1 missing."""
    ys, xs = [], []
    for x, y, c in np.asarray(kp, dtype=np.float64):
        if c <= 0 or x < 0 or y < 0:
            ys.append(-1)
            xs.append(-1)
        else:
            ys.append(int(np.clip(round(y * HEIGHT), 0, HEIGHT - 1)))
            xs.append(int(np.clip(round(x * WIDTH), 0, WIDTH - 1)))
    return ys, xs


def write_gfla(
    images: list[GflaImage], pairs: dict[str, list[tuple[str, str]]], out_dir: Path
) -> dict[str, int]:
    """Frame every image to 256x176, write the split dirs, annotation and pair CSVs; returns counts."""
    counts: dict[str, int] = {}
    for split in ("train", "test"):
        chosen = [im for im in images if im.split == split]
        (out_dir / split).mkdir(parents=True, exist_ok=True)
        lines = ["name:keypoints_y:keypoints_x"]
        for im in track(chosen, f"GFLA {split}", total=len(chosen)):
            name = safety.safe_name(im.name, "GFLA dataset")
            with safety.open_image(openable(im.source), str(im.source)) as src:
                framed, fr = fit_into(src.convert("RGB"), WIDTH, HEIGHT)
            kp = np.asarray(im.keypoints, dtype=np.float64).copy()
            kp[:, :2] = fr.points(kp[:, :2])
            with atomic.atomic_path(out_dir / split / name) as tmp:
                framed.save(tmp, format="JPEG", quality=95)
            ys, xs = to_gfla_pixels(kp)
            lines.append(f"{im.name}:{json.dumps(ys)}:{json.dumps(xs)}")
        annotation = "\n".join(lines) + "\n"
        pair_lines = ["from,to", *(f"{a},{b}" for a, b in pairs.get(split, []))]
        pair_text = "\n".join(pair_lines) + "\n"
        for name in (f"fashion-resize-annotation-{split}.csv", f"fasion-annotation-{split}.csv"):
            atomic.write_text(out_dir / name, annotation)
        for name in (f"fashion-resize-pairs-{split}.csv", f"fasion-pairs-{split}.csv"):
            atomic.write_text(out_dir / name, pair_text)
        atomic.write_text(out_dir / f"{split}.lst", "".join(f"{im.name}\n" for im in chosen))
        counts[f"{split}_images"] = len(chosen)
        counts[f"{split}_pairs"] = len(pairs.get(split, []))
    return counts


def poses_differ(a: np.ndarray, b: np.ndarray, min_shift: float = 0.02) -> bool:
    """True when two keypoint sets (same frame) are two different poses, not the same photo twice."""
    both = (a[:, 2] > 0) & (b[:, 2] > 0)
    if both.sum() < 4:
        return False
    return float(np.linalg.norm(a[both, :2] - b[both, :2], axis=1).mean()) > min_shift


def pairs_within(
    people: dict[str, list[GflaImage]], max_per_person: int, rng: np.random.Generator
) -> list[tuple[str, str]]:
    """Ordered (from, to) pairs of different images of the same person, at most `max_per_person` each."""
    out = []
    for key in sorted(people):
        group = people[key]
        cand = [
            (a.name, b.name)
            for a in group
            for b in group
            if a.name != b.name and (a.origin == "deepfashion" or poses_differ(a.keypoints, b.keypoints))
        ]
        if len(cand) > max_per_person:
            cand = [cand[i] for i in sorted(rng.choice(len(cand), max_per_person, replace=False))]
        out.extend(cand)
    return out
