"""The strip stage: data/filtered/manifest.parquet -> data/stripped/ (cut-outs + manifest).

For every kept photo (and, with strip.include_no_bag, every photo rejected only for having no bag)
it writes, content-addressed under data/stripped/images/:
- the person with their bag as straight-alpha RGBA (alpha = person ∪ bag mask), and on white,
- the person with the bag region painted white (an ST-GAN background: a person without a bag),
- the bag alone as a tight RGBA PNG (alpha = bag mask),
plus mask-quality figures and keep/reason per photo. A re-run with unchanged inputs does nothing;
a refresh re-cuts only the photos whose inputs changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from adgen import manifest, safety, stamp
from adgen.config import Params
from adgen.errors import UserError
from adgen.imagestore import ImageStore
from adgen.matting.backends import masks_for
from adgen.matting.cutout import mask_bbox, on_white, png_bytes, rgba_cutout
from adgen.matting.photo import box_to_pixels, expand_box, load_photo
from adgen.matting.quality import MaskFigures, drop_reason, mask_figures
from adgen.progress import track
from adgen.store.locations import raw_store
from adgen.store.photos import Photos

CARRIED_COLUMNS = [
    "shard",
    "member",
    "site",
    "license",
    "source_url",
    "page_url",
    "title",
    "phash",
    "duplicate_of",
]
OUTPUT_COLUMNS = ["person_rgba_path", "person_white_path", "person_nobag_white_path", "bag_rgba_path"]


@dataclass(frozen=True)
class StripResult:
    manifest_path: Path
    n_input: int
    n_kept: int
    n_dropped: int
    n_reused: int
    skipped: bool  # nothing to do: inputs unchanged since the last run


def stripped_manifest_path(params: Params) -> Path:
    return params.path(params.paths.stripped) / "manifest.parquet"


def box_or_none(value: object) -> list[float] | None:
    """A manifest box cell (list, numpy array, None or NaN) -> [x0, y0, x1, y1] or None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    arr = [float(v) for v in value]  # list or numpy array from parquet
    return arr if len(arr) == 4 else None


def rows_to_strip(filtered: pd.DataFrame, include_no_bag: bool) -> pd.DataFrame:
    """Kept photos, plus (optionally) single full-body people rejected only for having no bag."""
    keep = filtered["keep"].fillna(False).astype(bool)
    if include_no_bag and "reason" in filtered:
        keep = keep | (filtered["reason"] == "no_bag")
    rows = filtered[keep]
    return rows[rows["person_box"].map(lambda b: box_or_none(b) is not None)]


def kept_without_person_box(filtered: pd.DataFrame) -> list[dict]:
    """Stripped-manifest rows for kept photos with no person box (nothing to cut out): only a
    reviewer's keep of a photo the rule rejected for `no_person`/`unreadable` makes one. They are
    recorded as dropped with reason `no_person_box` instead of vanishing from the funnel."""
    keep = filtered["keep"].fillna(False).astype(bool)
    no_box = filtered["person_box"].map(lambda b: box_or_none(b) is None)
    return [
        {"image_id": row["image_id"], **{c: row.get(c) for c in CARRIED_COLUMNS if c in row},
         "keep": False, "reason": "no_person_box", "mask_source": None}
        for row in filtered[keep & no_box].to_dict("records")
    ]  # fmt: skip


def _input_key(row: dict, params_json: str) -> str:
    fields = [row.get(k) for k in ("image_id", "member", "person_mask", "bag_mask")]
    fields += [box_or_none(row.get("person_box")), box_or_none(row.get("bag_box")), params_json]
    return hashlib.sha256(json.dumps(fields, default=str).encode()).hexdigest()[:32]


def strip_one(row: dict, params: Params, store: ImageStore, photos: Photos, masks_store: Photos) -> dict:
    """Cut out one photo (read from the raw image store); returns the manifest row (cut-out paths
    relative to the project root)."""
    root = params.root
    sp = params.strip
    image = load_photo(photos.read(row))
    rgb = np.asarray(image)
    h, w = rgb.shape[:2]
    person_px = box_to_pixels(box_or_none(row["person_box"]), w, h)
    bag_box = box_or_none(row.get("bag_box"))
    has_bag = bag_box is not None and bool(row.get("keep"))
    bag_px = box_to_pixels(bag_box, w, h) if has_bag else None
    masks = masks_for(rgb, row, person_px, bag_px, sp, masks_store)
    person_fig = mask_figures(masks.person, person_px) if masks.person is not None else None
    bag_fig = mask_figures(masks.bag, bag_px) if (masks.bag is not None and bag_px) else None
    reason = drop_reason(person_fig, bag_fig, has_bag, sp)
    out: dict = {"mask_source": masks.source, "has_bag": has_bag, "width": w, "height": h}
    out.update((person_fig or MaskFigures(0.0, 0, 0.0, 0, False)).as_columns("person"))
    out.update((bag_fig or MaskFigures(0.0, 0, 0.0, 0, False)).as_columns("bag"))
    out.update({k: None for k in OUTPUT_COLUMNS})
    out["crop_box"] = out["bag_crop_box"] = None
    out["keep"] = reason == "kept"
    out["reason"] = reason
    if reason != "kept":
        return out

    def put(img) -> str:
        stored = store.put(png_bytes(img), "png")
        return stored.path.relative_to(root).as_posix()

    person = np.asarray(masks.person, dtype=np.float32)
    bag = np.asarray(masks.bag, dtype=np.float32) if has_bag else np.zeros_like(person)
    union = np.maximum(person, bag)
    crop = expand_box(mask_bbox(union >= 0.5) or person_px, sp.crop_margin, w, h)
    person_rgba = rgba_cutout(rgb, union, crop)
    out["person_rgba_path"] = put(person_rgba)
    out["person_white_path"] = put(on_white(person_rgba))
    if has_bag:
        without_bag = np.where(bag >= 0.5, 0.0, person)
        out["person_nobag_white_path"] = put(on_white(rgba_cutout(rgb, without_bag, crop)))
        bag_px = mask_bbox(bag >= 0.5)
        out["bag_rgba_path"] = put(rgba_cutout(rgb, bag, bag_px))
        out["bag_crop_box"] = [bag_px[0] / w, bag_px[1] / h, bag_px[2] / w, bag_px[3] / h]
    else:
        out["person_nobag_white_path"] = out["person_white_path"]
    out["crop_box"] = [crop[0] / w, crop[1] / h, crop[2] / w, crop[3] / h]
    return out


def strip(params: Params, force: bool = False) -> StripResult:
    """Run the strip stage over the filtered manifest; see the module docstring."""
    filtered_path = params.path(params.paths.filtered) / "manifest.parquet"
    if not filtered_path.is_file():
        raise UserError(f"{filtered_path}: no filtered manifest; run `adgen filter` first")
    out_dir = params.path(params.paths.stripped)
    out_path = out_dir / "manifest.parquet"
    params_json = json.dumps(params.strip.model_dump(mode="json", exclude={"ground_truth"}), sort_keys=True)
    st = stamp.Stamp(out_dir / ".stamp")
    key = stamp.fingerprint(json.loads(params_json), [filtered_path])
    if not force and st.matches(key) and out_path.is_file():
        keep = pd.read_parquet(out_path, columns=["keep"])["keep"].fillna(False).astype(bool)
        return StripResult(out_path, len(keep), int(keep.sum()), int((~keep).sum()), len(keep), skipped=True)
    if params.strip.backend == "rembg":
        from adgen.matting.rembg_backend import require_model

        require_model()  # one clear line before any work

    filtered = pd.read_parquet(filtered_path)
    for col in ("person_box", "keep"):
        if col not in filtered:
            raise UserError(f"{filtered_path}: column {col!r} missing; re-run `adgen filter`")
    safety.check_manifest(filtered, str(filtered_path), params.root)
    photos = Photos(raw_store(params), str(filtered_path))
    photos.check(filtered)
    masks_store = Photos(params.path(params.paths.filtered) / "store", str(filtered_path))
    for column in ("person_mask", "bag_mask"):
        masks_store.check(filtered, column, required=False)
    todo = rows_to_strip(filtered, params.strip.include_no_bag)
    previous = {}
    if out_path.is_file() and not force:
        prev = pd.read_parquet(out_path)
        previous = {r["input_key"]: r for r in prev.to_dict("records")}
    store = ImageStore(out_dir)
    rows, reused = [], 0
    for row in track(todo.to_dict("records"), "strip", total=len(todo)):
        ikey = _input_key(row, params_json)
        old = previous.get(ikey)
        if old is not None and all(
            not isinstance(old.get(c), str) or (params.root / old[c]).is_file() for c in OUTPUT_COLUMNS
        ):
            rows.append(old)
            reused += 1
            continue
        new = {"image_id": row["image_id"], "input_key": ikey}
        new.update({c: row.get(c) for c in CARRIED_COLUMNS if c in row})
        new.update(
            {
                "person_box": box_or_none(row.get("person_box")),
                "bag_box": box_or_none(row.get("bag_box")),
                "bag_class": row.get("bag_class"),
            }
        )
        try:
            new.update(strip_one(row, params, store, photos, masks_store))
        except (OSError, ValueError) as exc:  # unreadable photo: record it, keep going
            # (a failed write is an OutputError, not an OSError: it stops the stage, no stamp)
            new.update({"keep": False, "reason": "unreadable", "mask_source": None})
            new["error"] = f"{type(exc).__name__}: {exc}"[:200]
        rows.append(new)
    rows += kept_without_person_box(filtered)
    df = pd.DataFrame(rows)
    if df.empty:
        df = pd.DataFrame(columns=["image_id", "input_key", "keep", "reason", *OUTPUT_COLUMNS])
    manifest.write(df, out_path)
    if len(df):
        from adgen.matting.contact_sheet import write_contact_sheet

        write_contact_sheet(df, params.root, out_dir / "contact_sheet.png")
    st.write(key)
    n_kept = int(df["keep"].fillna(False).astype(bool).sum()) if len(df) else 0
    return StripResult(out_path, len(df), n_kept, len(df) - n_kept, reused, skipped=False)
