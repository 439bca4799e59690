"""The strip stage: data/filtered/manifest.parquet -> data/stripped/ (cut-outs + manifest).

For every kept photo (and, with strip.include_no_bag, every photo rejected only for having no bag)
it writes one sample into strip's image store (data/stripped/store, adgen.store; key: sha256 of
`<input key>/<image id>`, so changed inputs never collide with old cut-outs):
- `<key>.person.png`: the person with their bag as straight-alpha RGBA (alpha = person ∪ bag mask),
- `<key>.white.png`: the same on white,
- `<key>.nobag.png`: the person with the bag region painted white (an ST-GAN background: a person
  without a bag; a person without a bag has only `white.png`, named by both columns),
- `<key>.bag.png`: the bag alone as a tight RGBA PNG (alpha = bag mask),
plus mask-quality figures and keep/reason per photo; the manifest names the members in
OUTPUT_COLUMNS. A re-run with unchanged inputs does nothing; a refresh re-cuts only the photos whose
inputs changed (a manifest from before the store, with per-file `*_path` columns, is re-cut whole).

Each sample is staged durably (fsynced) as it is cut, with its manifest row in its json member: a
strip killed at any point loses no cut-out, and the next run reuses them from the store (only the
photos it had dropped, which have no sample, are looked at again).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from adgen import atomic, manifest, safety, stamp
from adgen.config import Params
from adgen.errors import UserError
from adgen.matting.backends import masks_for
from adgen.matting.cutout import mask_bbox, on_white, png_bytes, rgba_cutout
from adgen.matting.photo import box_to_pixels, expand_box, load_photo
from adgen.matting.quality import MaskFigures, drop_reason, mask_figures
from adgen.progress import track
from adgen.store import layout
from adgen.store.locations import cutouts_store, masks_store, raw_store, writer
from adgen.store.photos import Photos
from adgen.store.writer import StoreWriter

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
# The cut-outs: columns naming members of strip's store, and each member's field.
OUTPUT_COLUMNS = ["person_rgba", "person_white", "person_nobag_white", "bag_rgba"]
FIELDS = {"person_rgba": "person.png", "person_white": "white.png", "person_nobag_white": "nobag.png",
          "bag_rgba": "bag.png"}  # fmt: skip
PER_FILE_DIR = "images"  # where cut-outs were files before the store (removed after a re-cut)


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


def sample_key(input_key: str, image_id: str) -> str:
    """The store key of a photo's cut-outs under one input key (a sha256 hex digest)."""
    image_id = safety.image_id(image_id, "strip")
    return hashlib.sha256(f"{input_key}/{image_id}".encode()).hexdigest()


def cutouts(params: Params, where: str = "stripped manifest") -> Photos:
    """Strip's cut-outs, read by the members its manifest names."""
    return Photos(cutouts_store(params), where)


def strip_one(
    row: dict,
    params: Params,
    store: StoreWriter,
    photos: Photos,
    masks_store: Photos,
    key: str,
    base: dict | None = None,
) -> dict:
    """Cut out one photo (read from the raw image store) into one sample `key` of strip's store;
    returns the manifest row's figures and cut-outs (named by member). The sample's json holds
    the whole row (`base` + these) for a run that resumes after a kill."""
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

    fields: dict[str, bytes] = {}

    def put(column: str, img) -> str:
        fields[FIELDS[column]] = png_bytes(img)
        return layout.member(key, FIELDS[column])

    person = np.asarray(masks.person, dtype=np.float32)
    bag = np.asarray(masks.bag, dtype=np.float32) if has_bag else np.zeros_like(person)
    union = np.maximum(person, bag)
    crop = expand_box(mask_bbox(union >= 0.5) or person_px, sp.crop_margin, w, h)
    person_rgba = rgba_cutout(rgb, union, crop)
    out["person_rgba"] = put("person_rgba", person_rgba)
    out["person_white"] = put("person_white", on_white(person_rgba))
    if has_bag:
        without_bag = np.where(bag >= 0.5, 0.0, person)
        out["person_nobag_white"] = put("person_nobag_white", on_white(rgba_cutout(rgb, without_bag, crop)))
        bag_px = mask_bbox(bag >= 0.5)
        out["bag_rgba"] = put("bag_rgba", rgba_cutout(rgb, bag, bag_px))
        out["bag_crop_box"] = [bag_px[0] / w, bag_px[1] / h, bag_px[2] / w, bag_px[3] / h]
    else:
        out["person_nobag_white"] = out["person_white"]
    out["crop_box"] = [crop[0] / w, crop[1] / h, crop[2] / w, crop[3] / h]
    full = _jsonable({**(base or {}), **out})  # [column, value] pairs: the json is key-sorted
    store.put_sample(key, fields, {"image_id": row["image_id"], "row": [[k, v] for k, v in full.items()]})
    return out


def _jsonable(value):
    """A manifest row as plain JSON values (numpy scalars and arrays from parquet included)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _staged_row(store: Photos, ikey: str, image_id: str) -> dict | None:
    """The row a killed run stored with a photo's cut-outs (None if it has none, or none readable)."""
    key = sample_key(ikey, image_id)
    if key not in store.reader:
        return None
    try:
        row = dict(store.reader.meta(key).get("row") or [])
    except (OSError, ValueError, TypeError):
        return None
    if row.get("input_key") != ikey or row.get("image_id") != image_id:
        return None
    return row


def _reusable(old: dict | None, store: Photos) -> bool:
    """A previous row with the same inputs whose cut-outs are all in the store (a manifest from
    before the store has no member columns: its photos are cut again)."""
    if old is None or any(c not in old for c in OUTPUT_COLUMNS):
        return False
    for c in OUTPUT_COLUMNS:
        if isinstance(old[c], str):
            key, field = store.key_field(old[c], c)
            if field != FIELDS[c] and not (c == "person_nobag_white" and field == FIELDS["person_white"]):
                return False
            try:
                store.reader.where(key, field)
            except KeyError:
                return False
    return True


def _strip_new(
    row: dict, ikey: str, params: Params, store: StoreWriter, photos: Photos, masks: Photos
) -> dict:
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
        new.update(strip_one(row, params, store, photos, masks, sample_key(ikey, row["image_id"]), dict(new)))
    except (OSError, ValueError) as exc:  # unreadable photo: record it, keep going
        # (a failed write is an OutputError, not an OSError: it stops the stage, no stamp)
        new.update({"keep": False, "reason": "unreadable", "mask_source": None})
        new["error"] = f"{type(exc).__name__}: {exc}"[:200]
    return new


def _forget_per_file_cutouts(out_dir: Path) -> None:
    """Remove the per-file cut-outs of a workspace from before the store (`images/ab/<sha>.png`):
    the manifest just written names none of them. Scratch files stay out of git."""
    old = out_dir / PER_FILE_DIR
    if old.is_dir():
        shutil.rmtree(old)
    gitignore = out_dir / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.is_file() else []
    missing = [e for e in ("/.stamp", "/fixture_scores.json", "/contact_sheet.png") if e not in lines]
    if missing:
        atomic.write_text(gitignore, "\n".join(lines + missing) + "\n")


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
    masks = Photos(masks_store(params), str(filtered_path))
    for column in ("person_mask", "bag_mask"):
        masks.check(filtered, column, required=False)
    todo = rows_to_strip(filtered, params.strip.include_no_bag)
    previous = {}
    if out_path.is_file() and not force:
        prev = pd.read_parquet(out_path)
        previous = {r["input_key"]: r for r in prev.to_dict("records")}
    rows, reused = [], 0
    # One writer: unchanged cut-outs are reused as they are (no new shard on a no-op); new ones
    # are staged durably as they are cut and packed into shards when it closes, before the
    # manifest that names them is written. Opening it packs what a killed run had staged.
    with writer(params, cutouts_store(params), label="strip", content_addressed=False) as store:
        stored = cutouts(params, str(out_path))  # read after the writer packed a killed run's cut-outs
        for row in track(todo.to_dict("records"), "strip", total=len(todo)):
            ikey = _input_key(row, params_json)
            old = previous.get(ikey) or _staged_row(stored, ikey, row["image_id"])
            if _reusable(old, stored):
                rows.append(old)
                reused += 1
                continue
            rows.append(_strip_new(row, ikey, params, store, photos, masks))
    rows += kept_without_person_box(filtered)
    df = pd.DataFrame(rows)
    if df.empty:
        df = pd.DataFrame(columns=["image_id", "input_key", "keep", "reason", *OUTPUT_COLUMNS])
    manifest.write(df, out_path)
    if len(df):
        from adgen.matting.contact_sheet import write_contact_sheet

        write_contact_sheet(df, cutouts(params, str(out_path)), out_dir / "contact_sheet.png")
    _forget_per_file_cutouts(out_dir)
    st.write(key)
    n_kept = int(df["keep"].fillna(False).astype(bool).sum()) if len(df) else 0
    return StripResult(out_path, len(df), n_kept, len(df) - n_kept, reused, skipped=False)
