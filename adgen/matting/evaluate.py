"""Mask IoU of the stripped cut-outs against the fixture site's exact masks (demo and tests).

The fixture site knows every pixel of its synthetic people and bags, so the strip stage can be
scored: each kept cut-out's alpha is put back into the photo's frame and compared with the
rendered truth (person ∪ carried bag for the person cut-out, the bag alone for the bag cut-out).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from adgen.config import Params


@dataclass(frozen=True)
class MaskScores:
    n: int
    person_iou: float  # mean IoU of person ∪ bag cut-outs
    bag_iou: float  # mean IoU of bag cut-outs
    per_image: pd.DataFrame


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a) >= 0.5, np.asarray(b) >= 0.5
    union = int((a | b).sum())
    return float((a & b).sum() / union) if union else 1.0


def alpha_in_frame(rgba_png: bytes, crop_box: list[float], width: int, height: int) -> np.ndarray:
    """A cut-out's alpha (0..1) placed back at its crop box in a width x height frame."""
    with Image.open(io.BytesIO(rgba_png)) as im:
        alpha = np.asarray(im.convert("RGBA"))[..., 3].astype(np.float32) / 255.0
    x0, y0 = round(crop_box[0] * width), round(crop_box[1] * height)
    out = np.zeros((height, width), np.float32)
    h, w = alpha.shape
    out[y0 : y0 + h, x0 : x0 + w] = alpha[: height - y0, : width - x0]
    return out


def score_against_fixture(
    params: Params, truth_by_id: dict[str, dict], render_masks: Callable[[dict], dict[str, np.ndarray]]
) -> MaskScores:
    """IoU of each kept cut-out whose image is in `truth_by_id` (the site's /ground-truth.json images).

    `render_masks(truth)` gives the exact masks of one truth entry (`person/<i>`, `bag/<j>`): the
    fixture site renders them (adgen.fixtures.site.synth), passed in so no real stage imports a stand-in.
    """
    from adgen.matting.strip import cutouts, stripped_manifest_path

    df = pd.read_parquet(stripped_manifest_path(params))
    df = df[df["keep"].fillna(False).astype(bool)]
    stored = cutouts(params)
    rows = []
    for r in df.to_dict("records"):
        truth = truth_by_id.get(r["image_id"])
        if truth is None or not truth.get("people"):
            continue
        masks = render_masks(truth)
        h, w = masks["person/0"].shape
        carried = [j for j, b in enumerate(truth["bags"]) if b.get("carried_by") == 0]
        bag_truth = np.zeros((h, w), bool)
        for j in carried:
            bag_truth |= masks[f"bag/{j}"]
        person = alpha_in_frame(stored.get(r["person_rgba"]), list(r["crop_box"]), w, h)
        row = {
            "image_id": r["image_id"],
            "scenario": truth.get("scenario"),
            "mask_source": r.get("mask_source"),
        }
        row["person_iou"] = iou(person, masks["person/0"] | bag_truth)
        bag_member = r.get("bag_rgba")
        if isinstance(bag_member, str) and carried:
            bag = alpha_in_frame(stored.get(bag_member), list(r["bag_crop_box"]), w, h)
            row["bag_iou"] = iou(bag, bag_truth)
        rows.append(row)
    per = pd.DataFrame(rows, columns=["image_id", "scenario", "mask_source", "person_iou", "bag_iou"])
    return MaskScores(
        len(per),
        float(per["person_iou"].mean()) if len(per) else float("nan"),
        float(per["bag_iou"].mean()) if per["bag_iou"].notna().any() else float("nan"),
        per,
    )


def load_ground_truth(path: Path) -> tuple[dict[str, dict], int | None]:
    """The fixture site's /ground-truth.json -> ({image_id: truth}, seed)."""
    import json

    from adgen.errors import UserError

    try:
        data = json.loads(Path(path).read_text())
        return data["images"], data.get("seed")
    except (OSError, ValueError, KeyError):
        raise UserError(
            f"{path}: not the fixture site's ground-truth.json (need an 'images' mapping)"
        ) from None
