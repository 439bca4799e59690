"""Tiny drawn photos with exact ground truth, shared by the prepare tests (matting, pose, datasets).

A person is a flat PERSON_COLOURS[0] silhouette with KEYPOINT_COLOURS discs at the COCO joints, a
handbag a BAG_COLOURS rectangle at the right wrist, on a muted noisy background: the same colour
contract as the fixture site, drawn here so the tests do not depend on another area's renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from adgen.fixtures.site.palette import BAG_COLOURS, COCO_KEYPOINTS, KEYPOINT_COLOURS, PERSON_COLOURS
from adgen.store.photos import store_photos


@dataclass
class Scene:
    image: Image.Image
    person: np.ndarray  # bool HxW
    bag: np.ndarray | None
    person_box: list[float]
    bag_box: list[float] | None
    coco: np.ndarray  # [17, 3] (x, y, vis) normalised
    extra: dict = field(default_factory=dict)


def _joints(w: int, h: int, dx: float = 0.0, lift: float = 0.0) -> dict[str, tuple[float, float]]:
    cx = w * (0.5 + dx)
    j = {
        "nose": (cx, 0.14 * h), "left_eye": (cx + 0.02 * w, 0.12 * h), "right_eye": (cx - 0.02 * w, 0.12 * h),
        "left_ear": (cx + 0.045 * w, 0.13 * h), "right_ear": (cx - 0.045 * w, 0.13 * h),
        "left_shoulder": (cx + 0.1 * w, 0.25 * h), "right_shoulder": (cx - 0.1 * w, 0.25 * h),
        "left_elbow": (cx + 0.13 * w, 0.4 * h), "right_elbow": (cx - 0.13 * w, 0.4 * h),
        "left_wrist": (cx + 0.14 * w, 0.53 * h), "right_wrist": (cx - 0.14 * w, 0.53 * h),
        "left_hip": (cx + 0.06 * w, 0.55 * h), "right_hip": (cx - 0.06 * w, 0.55 * h),
        "left_knee": (cx + 0.07 * w, 0.72 * h), "right_knee": (cx - 0.07 * w, 0.72 * h),
        "left_ankle": (cx + 0.07 * w, 0.9 * h), "right_ankle": (cx - 0.07 * w, 0.9 * h),
    }  # fmt: skip
    if lift:  # another pose: the left arm raised sideways
        j["left_elbow"] = (cx + (0.13 + lift / 2) * w, (0.4 - lift) * h)
        j["left_wrist"] = (cx + (0.14 + lift) * w, (0.53 - 2 * lift) * h)
    return j


def draw_person(
    w: int = 160,
    h: int = 240,
    seed: int = 0,
    bag: str | None = "handbag",
    dx: float = 0.0,
    bag_at_border: bool = False,
    lift: float = 0.0,
) -> Scene:
    """A standing person (optionally with a bag in the right hand) on a muted noisy background."""
    rng = np.random.default_rng(seed)
    base = rng.integers(90, 170)
    bg = np.clip(base + rng.normal(0, 6, (h, w, 1)) + rng.integers(-10, 10, (1, 1, 3)), 0, 255)
    bg = np.repeat(bg, 1, axis=2).astype(np.uint8)
    person_layer = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(person_layer)
    j = _joints(w, h, dx, lift)
    lw = max(3, int(0.05 * w))
    cx = w * (0.5 + dx)
    d.ellipse([cx - 0.06 * w, 0.07 * h, cx + 0.06 * w, 0.19 * h], fill=255)
    d.rectangle([cx - 0.11 * w, 0.22 * h, cx + 0.11 * w, 0.56 * h], fill=255)
    for a, b in [("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
                 ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
                 ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
                 ("right_hip", "right_knee"), ("right_knee", "right_ankle")]:  # fmt: skip
        d.line([j[a], j[b]], fill=255, width=lw)
    d.line([(cx, 0.18 * h), (cx, 0.23 * h)], fill=255, width=lw)
    person = np.asarray(person_layer) > 0
    img = bg.copy()
    img[person] = PERSON_COLOURS[0]
    canvas = Image.fromarray(img)
    dc = ImageDraw.Draw(canvas)
    r = max(2, int(0.012 * w))
    for k, name in enumerate(COCO_KEYPOINTS):
        x, y = j[name]
        dc.ellipse([x - r, y - r, x + r, y + r], fill=KEYPOINT_COLOURS[k])
    bag_mask = bag_box = None
    if bag:
        wx, wy = j["right_wrist"]
        bw, bh = 0.16 * w, 0.14 * h
        x0 = 0 if bag_at_border else wx - bw * 0.7
        bag_layer = Image.new("L", (w, h), 0)
        top = wy + r + 1  # just under the wrist disc, which stays visible
        ImageDraw.Draw(bag_layer).rectangle([x0, top, x0 + bw, top + bh], fill=255)
        bag_mask = np.asarray(bag_layer) > 0
        arr = np.asarray(canvas).copy()
        arr[bag_mask] = BAG_COLOURS[bag]
        canvas = Image.fromarray(arr)
        person = person & ~bag_mask
        ys, xs = np.nonzero(bag_mask)
        bag_box = [xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h]
    ys, xs = np.nonzero(person)
    person_box = [xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h]
    coco = np.array([[j[n][0] / w, j[n][1] / h, 1.0] for n in COCO_KEYPOINTS], dtype=np.float32)
    return Scene(canvas, person, bag_mask, person_box, bag_box, coco)


def mask_png(mask: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255, "L").save(buf, format="PNG")
    return buf.getvalue()


def store_masks(root: Path, tag: str, person: np.ndarray, bag: np.ndarray | None) -> tuple[str, str | None]:
    """Masks into the filter's image store as the filter writes them; their members."""
    import hashlib

    from adgen.store import StoreWriter

    key = hashlib.sha256(tag.encode()).hexdigest()
    fields = {"person.png": mask_png(person)}
    if bag is not None:
        fields["bag.png"] = mask_png(bag)
    with StoreWriter(root / "data/filtered/store", content_addressed=False, durable=False) as w:
        w.put_sample(key, fields)
    return f"{key}.person.png", (f"{key}.bag.png" if bag is not None else None)


def write_filtered_project(
    root: Path,
    scenes: list[Scene],
    with_masks: bool = True,
    reasons: list[str] | None = None,
    image_format: str = "JPEG",
) -> pd.DataFrame:
    """Lay out a project root with raw images, filter masks and data/filtered/manifest.parquet."""
    import hashlib
    import io

    rows = []
    for i, sc in enumerate(scenes):
        buf = io.BytesIO()
        if image_format == "JPEG":
            sc.image.save(buf, "JPEG", quality=95, subsampling=0)
        else:
            sc.image.save(buf, image_format)
        data = buf.getvalue()
        image_id = hashlib.sha256(data).hexdigest()
        ext = "jpg" if image_format == "JPEG" else image_format.lower()
        ((_, shard, member),) = store_photos(root / "data/raw/store", [(data, ext)])
        reason = reasons[i] if reasons else ("kept" if sc.bag is not None else "no_bag")
        pm = bm = None
        if with_masks:  # Mask R-CNN person masks leave the bag out
            pm, bm = store_masks(root, f"masks/{image_id}", sc.person, sc.bag)
        rows.append({
            "image_id": image_id, "shard": shard, "member": member, "site": "fixture", "license": "royalty-free (fixture)",
            "source_url": f"http://fixture/{i}.jpg", "width": sc.image.width, "height": sc.image.height,
            "person_box": sc.person_box, "person_score": 0.99, "n_people": 1,
            "bag_class": "handbag" if sc.bag is not None else None, "bag_box": sc.bag_box,
            "bag_score": 0.9 if sc.bag is not None else None, "full_body": True,
            "person_mask": pm, "bag_mask": bm, "keep": reason == "kept", "reason": reason,
        })  # fmt: skip
    df = pd.DataFrame(rows)
    out = root / "data/filtered/manifest.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(out, index=False)
    return df


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a) >= 0.5, np.asarray(b) >= 0.5
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def replace_photo(root: Path, df: pd.DataFrame, i: int, data: bytes, ext: str = "jpg") -> None:
    """Point row `i` of the filtered manifest at other stored bytes (another encoding of the photo,
    or a damaged file), as if the crawl had stored those."""
    ((_, shard, member),) = store_photos(root / "data/raw/store", [(data, ext)])
    df.loc[i, "shard"], df.loc[i, "member"] = shard, member
    df.to_parquet(root / "data/filtered/manifest.parquet", index=False)
