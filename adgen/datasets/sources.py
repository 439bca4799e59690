"""What the dataset builders read: stripped people, their keypoints, DeepFashion, user bags.

Cut-outs are read through strip's image store (data/stripped/store): a person holds handles on
their members (`StoredImage`), opened when a builder needs the pixels, never a path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adgen import safety
from adgen.config import Params
from adgen.errors import UserError
from adgen.store.photos import StoredImage


@dataclass(frozen=True)
class StrippedPerson:
    image_id: str
    has_bag: bool
    white: StoredImage  # person (with bag if any) on white
    nobag_white: StoredImage  # person with the bag region painted white
    bag_rgba: StoredImage | None
    crop_box: list[float]  # where the cut-out sits in the photo (normalised)
    bag_box: list[float] | None
    bag_class: str | None
    site: str
    license: str
    keypoints: np.ndarray | None  # [18, 3] normalised to the whole photo
    group: str  # near-duplicate group (duplicate_of, else own id)


def _str(v) -> str | None:
    return v if isinstance(v, str) and v else None


def _list(v) -> list[float] | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return [float(x) for x in v]


def pose_table(params: Params) -> pd.DataFrame:
    p = params.path(params.paths.pose) / "keypoints.parquet"
    return pd.read_parquet(p) if p.is_file() else pd.DataFrame(columns=["image_id", "source", "keypoints"])


def keypoints_by_id(poses: pd.DataFrame, source: str) -> dict[str, np.ndarray]:
    from adgen.pose.stage import keypoints_array

    sel = poses[poses["source"] == source]
    return {str(i): keypoints_array(k) for i, k in zip(sel["image_id"], sel["keypoints"], strict=True)}


def stripped_people(params: Params, poses: pd.DataFrame) -> list[StrippedPerson]:
    path = params.path(params.paths.stripped) / "manifest.parquet"
    if not path.is_file():
        raise UserError(f"{path}: no stripped manifest; run `adgen strip` first")
    from adgen.matting.strip import cutouts

    df = pd.read_parquet(path)
    df = df[df["keep"].fillna(False).astype(bool)]
    safety.check_manifest(df, str(path), params.root)
    stored = cutouts(params, str(path))
    if "person_white" not in df.columns and len(df):
        raise UserError(f"{path}: names per-file cut-outs (from before the store); run `adgen strip` again")
    kps = keypoints_by_id(poses, "kept")
    out = []
    for r in df.to_dict("records"):
        bag = _str(r.get("bag_rgba"))
        out.append(
            StrippedPerson(
                image_id=r["image_id"],
                has_bag=bool(r.get("has_bag")),
                white=stored.image(r["person_white"]),
                nobag_white=stored.image(_str(r.get("person_nobag_white")) or r["person_white"]),
                bag_rgba=stored.image(bag) if bag else None,
                crop_box=_list(r["crop_box"]) or [0.0, 0.0, 1.0, 1.0],
                bag_box=_list(r.get("bag_box")),
                bag_class=_str(r.get("bag_class")),
                site=_str(r.get("site")) or "unknown",
                license=_str(r.get("license")) or "unknown",
                keypoints=kps.get(r["image_id"]),
                group=_str(r.get("duplicate_of")) or r["image_id"],
            )
        )
    return out


def anchor_in_crop(person: StrippedPerson) -> tuple[float, float] | None:
    """Where the bag sits (its box centre) or would sit (a wrist), normalised to the cut-out."""
    from adgen.datasets.framing import crop_points

    if person.bag_box is not None:
        x0, y0, x1, y1 = person.bag_box
        pt = np.array([[(x0 + x1) / 2, (y0 + y1) / 2]])
    elif person.keypoints is not None:
        wrists = [k for k in (4, 7) if person.keypoints[k, 2] > 0]  # r_wri, l_wri
        if not wrists:
            return None
        pt = person.keypoints[wrists[0], :2][None]
    else:
        return None
    ((ax, ay),) = crop_points(pt, person.crop_box)
    return float(ax), float(ay)
