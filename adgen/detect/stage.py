"""The filter stage: raw manifest + images → data/filtered (decisions, masks, stats, contact sheet).

Work is split so a crash, a kill or a second machine never repeats work already done:
- decisions are written chunk by chunk as part files under `parts/<decision key>/` (the key hashes
  every param that changes a decision, and the model); a re-run only processes images that have
  no decision yet, in that key;
- `--shard i/n` takes the photos of every n-th shard of the raw image store (store shard k goes to
  filter shard k mod n, in the store's order), so Prefect can map shards over workers and each
  worker streams whole store shards front to back; each writes its own part files;
- the merge joins every raw row with its decision, writes the manifest, masks paths, stats and the
  contact sheet atomically, and then removes the parts. A later run with new raw images reuses the
  merged decisions (same key) and only detects the new images;
- a complete run leaves a stamp: re-running with unchanged inputs loads nothing and does nothing.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adgen import atomic, manifest, progress, safety, stamp
from adgen.config import Params
from adgen.detect import masks as mask_files
from adgen.detect.reviewed import REVIEW_COLUMNS, apply_overrides, review_stats, rule_decisions
from adgen.detect.rule import Decision, keep_full_body_with_bag, unreadable
from adgen.detect.stats import filter_stats, keep_quality, load_ground_truth
from adgen.errors import UserError
from adgen.review.overrides import read as read_overrides
from adgen.stage_metrics import write_training_outputs
from adgen.store.locations import raw_store
from adgen.store.photos import Photos
from adgen.store.writer import StoreWriter

# Params that change no decision (how fast, how much is shown) stay out of the decision key.
_NOT_IN_DECISION_KEY = {
    "chunk_size",
    "decode_parallelism",
    "calls_in_flight",
    "batch_size",
    "ground_truth",
    "contact_sheet_per_reason",
}

DECISION_COLUMNS: dict[str, str] = {
    "image_id": "string",
    "person_box": "object",
    "person_score": "float64",
    "n_people": "int64",
    "bag_class": "string",
    "bag_box": "object",
    "bag_score": "float64",
    "full_body": "bool",
    "person_mask": "string",  # member of the filter's store (data/filtered/store), kept photos only
    "bag_mask": "string",
    "keep": "bool",
    "reason": "string",
}


@dataclass
class FilterResult:
    total: int  # raw rows
    processed: int  # images detected in this call
    merged: bool  # the filtered manifest was written
    up_to_date: bool = False  # nothing to do: unchanged inputs
    missing: int = 0  # raw images still without a decision (other shards pending)
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FilterPaths:
    raw_manifest: Path
    out: Path

    @property
    def manifest(self) -> Path:
        return self.out / "manifest.parquet"

    @property
    def stats(self) -> Path:
        return self.out / "filter_stats.json"

    @property
    def parts(self) -> Path:
        return self.out / "parts"

    @property
    def store(self) -> Path:
        return self.out / "store"

    @property
    def stamp(self) -> Path:
        return self.out / ".filter-stamp"


def paths_for(params: Params) -> FilterPaths:
    return FilterPaths(params.path(params.paths.raw) / "manifest.parquet", params.path(params.paths.filtered))


def in_shard(store_shards: pd.Series, shard: tuple[int, int]) -> np.ndarray:
    """Rows whose photo is in a store shard of filter shard i: store shards in name order (oldest
    first), dealt round-robin. Stable across refreshes: new store shards sort after the old ones, so
    an old shard keeps its worker. At most as many busy workers as store shards."""
    i, n = shard
    if n == 1:
        return np.ones(len(store_shards), bool)
    names = sorted(set(store_shards.dropna()))
    dealt = {name: k % n for k, name in enumerate(names)}
    return np.array([dealt.get(s) == i for s in store_shards], bool)


def decision_key(params: Params) -> str:
    """Hash of what decides: the rule's params and the model (its saved_model.pb when local)."""
    d = params.detect
    key_params = {k: v for k, v in d.model_dump(mode="json").items() if k not in _NOT_IN_DECISION_KEY}
    # the key as it was while `detect.pose_table` existed (always null since): decisions stay reused
    key_params["pose_table"] = None
    files: list[Path] = []
    model_dir = params.path(d.model) if "://" not in d.model else None
    if model_dir is not None:
        files.append(model_dir / "saved_model.pb")
    return stamp.fingerprint(key_params, files, params.root)[
        :16
    ]  # project-relative: a moved workspace re-decides nothing


def run_filter(
    params: Params,
    shard: tuple[int, int] = (0, 1),
    *,
    detect: bool = True,
    merge: bool = True,
    ground_truth: Path | None = None,
) -> FilterResult:
    """Detect the shard's undecided images (when `detect`) and, when `merge`, write data/filtered.

    A single-machine run is `detect=True, merge=True, shard=(0, 1)`. Prefect maps
    `detect=True, merge=False` over shards, then calls `detect=False, merge=True` once.
    """
    fp = paths_for(params)
    if not fp.raw_manifest.is_file():
        raise UserError(f"{fp.raw_manifest}: no raw manifest; run `adgen crawl` first")
    d = params.detect
    gt_path = ground_truth or (params.path(d.ground_truth) if d.ground_truth else None)
    if gt_path is not None and not gt_path.is_file():
        raise UserError(f"{gt_path}: ground-truth file not found (--ground-truth / detect.ground_truth)")
    key = decision_key(params)
    overrides = params.path(params.review.overrides)  # applied at the merge: not in the decision key
    run_key = stamp.fingerprint(
        {
            "decision_key": key,
            "detect": d.model_dump(mode="json"),
            "gt": stamp.portable_name(gt_path, params.root) if gt_path else None,
            "overrides": stamp.portable_name(overrides, params.root),
        },
        [fp.raw_manifest, overrides] + ([gt_path] if gt_path else []),
        params.root,
    )
    stage_stamp = stamp.Stamp(fp.stamp)
    fp.out.mkdir(parents=True, exist_ok=True)
    _ignore_scratch_files(fp)
    full = shard == (0, 1) and detect and merge
    if full and stage_stamp.matches(run_key) and fp.manifest.is_file() and fp.stats.is_file():
        total = len(manifest.read(fp.raw_manifest))
        stats = json.loads(fp.stats.read_text())
        _write_metrics(params, stats)  # DVC removes its metric files before it runs the stage
        return FilterResult(total, 0, merged=False, up_to_date=True, stats=stats)

    raw = manifest.read(fp.raw_manifest)
    safety.check_manifest(raw, str(fp.raw_manifest), params.root)  # before any mask, thumbnail or part
    Photos(raw_store(params), str(fp.raw_manifest)).check(raw)  # file is named after a row
    if raw["image_id"].duplicated().any():
        raw = raw.drop_duplicates("image_id", keep="first")
    decided = _decided(fp, key)
    processed = 0
    if detect:
        todo = raw[in_shard(raw["shard"], shard) & ~raw["image_id"].isin(decided["image_id"])]
        processed = _detect_and_decide(params, fp, key, todo, shard)
        if processed:
            decided = _decided(fp, key)
    missing = int((~raw["image_id"].isin(decided["image_id"])).sum())
    if not merge:
        return FilterResult(len(raw), processed, merged=False, missing=missing)
    if missing:
        raise UserError(
            f"filter: {missing} of {len(raw)} raw images have no decision yet; run the missing "
            f"shards (`adgen filter --shard i/n`) or `adgen filter` before --merge"
        )
    stats = _merge(params, fp, key, raw, decided, gt_path)
    stage_stamp.write(run_key)
    return FilterResult(len(raw), processed, merged=True, stats=stats)


# --- decisions on disk -----------------------------------------------------------------------------


def _decided(fp: FilterPaths, key: str) -> pd.DataFrame:
    """Every decision already made under `key`: the merged manifest (if its key matches) + parts."""
    frames = []
    if fp.manifest.is_file() and _manifest_key(fp.manifest) == key:
        try:
            frames.append(rule_decisions(_read_decisions(fp.manifest)))
        except (KeyError, ValueError, OSError):  # a manifest from before the masks store: decide again
            pass
    part_dir = fp.parts / key
    if part_dir.is_dir():
        frames += [pd.read_parquet(p) for p in sorted(part_dir.glob("*.parquet"))]
    if not frames:
        return manifest.empty(DECISION_COLUMNS)
    out = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    return out.drop_duplicates("image_id", keep="last")


def _read_decisions(path: Path) -> pd.DataFrame:
    """The decision columns of a merged manifest, with the rule's own keep/reason where reviewers
    overrode it (adgen.detect.reviewed)."""
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    rule = [c for c in ("rule_keep", "rule_reason") if c in names]
    return pd.read_parquet(path, columns=[*DECISION_COLUMNS, *rule])


def _detect_and_decide(
    params: Params, fp: FilterPaths, key: str, todo: pd.DataFrame, shard: tuple[int, int]
) -> int:
    if todo.empty:
        return 0
    from adgen.detect.inference import detect_images
    from adgen.detect.model import load_detector

    d = params.detect
    detector = load_detector(d.model, params.root)
    photos = Photos(raw_store(params), str(fp.raw_manifest))
    todo = photos.in_store_order(todo)  # each shard read front to back once
    image_ids = todo["image_id"].tolist()
    part_dir = fp.parts / key
    tag = f"shard{shard[0]}of{shard[1]}"
    rows: list[dict[str, Any]] = []
    done = 0
    # Masks are staged durably before the part file that names them is written; a killed run's
    # staged masks are packed by the next writer, so every decision's masks are in the store.
    mask_store = StoreWriter.from_params(
        fp.store, params.store, label=f"filter_{tag}", content_addressed=False, durable=True
    )
    with mask_store, progress.bar() as bar:
        task = bar.add_task("filter: detect", total=len(todo))
        for item in detect_images(
            detector, photos.stream(todo), d.max_side, d.batch_size, d.decode_parallelism, d.calls_in_flight
        ):
            image_id = image_ids[item.position]
            if item.detections is None:
                decision, row_masks = unreadable(), (None, None)
            else:
                decision = keep_full_body_with_bag(item.detections, d, item.width, item.height)
                row_masks = _write_masks(mask_store, key, image_id, decision, item)
            rows.append(_row(image_id, decision, *row_masks))
            bar.advance(task)
            if len(rows) >= d.chunk_size:
                _write_part(part_dir, tag, rows)
                done += len(rows)
                rows = []
    if rows:
        _write_part(part_dir, tag, rows)
        done += len(rows)
    return done


def _write_part(part_dir: Path, tag: str, rows: list[dict[str, Any]]) -> None:
    df = manifest.coerce(pd.DataFrame(rows), DECISION_COLUMNS)
    manifest.write(df, part_dir / f"{tag}-{uuid.uuid4().hex[:12]}.parquet")


def _row(image_id: str, dec: Decision, person_mask: str | None, bag_mask: str | None) -> dict[str, Any]:
    return {
        "image_id": image_id,
        "person_box": dec.person_box,
        "person_score": dec.person_score,
        "n_people": dec.n_people,
        "bag_class": dec.bag_class,
        "bag_box": dec.bag_box,
        "bag_score": dec.bag_score,
        "full_body": dec.full_body,
        "person_mask": person_mask,
        "bag_mask": bag_mask,
        "keep": dec.keep,
        "reason": dec.reason,
    }


def _write_masks(
    store: StoreWriter, decision_key: str, image_id: str, dec: Decision, item: Any
) -> tuple[str | None, str | None]:
    """Full-image PNG masks of the kept person and bag into the filter's store (only kept images:
    strip uses no others); returns their members."""
    dets = item.detections
    if not dec.keep or dets.masks is None or dets.mask_boxes is None:
        return None, None
    fields = {}
    for what, index in (("person", dec.person_index), ("bag", dec.bag_index)):
        full = mask_files.reframe(dets.masks[index], dets.mask_boxes[index], item.width, item.height)
        fields[f"{what}.png"] = mask_files.png_bytes(full)
    key = mask_files.sample_key(decision_key, image_id)
    store.put_sample(key, fields, {"image_id": image_id, "decision_key": decision_key})
    return f"{key}.person.png", f"{key}.bag.png"


_KEY_META = b"adgen.filter.decision_key"


def _write_manifest(df: pd.DataFrame, path: Path, key: str) -> None:
    """Write the filtered manifest with its decision key in the Parquet metadata, so the key can
    never disagree with the decisions it describes (DVC deletes other outputs before a run)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _KEY_META: key.encode()})
    with atomic.atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _manifest_key(path: Path) -> str | None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return None
    value = meta.get(_KEY_META)
    return value.decode() if value else None


def _ignore_scratch_files(fp: FilterPaths) -> None:
    """Keep part files and the stamp out of git (DVC lists only its outputs in .gitignore)."""
    gitignore = fp.out / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.is_file() else []
    missing = [entry for entry in ("/parts", "/.filter-stamp") if entry not in lines]
    if missing:
        atomic.write_text(gitignore, "\n".join(lines + missing) + "\n")


# --- merge -----------------------------------------------------------------------------------------


def _write_metrics(params: Params, stats: dict[str, Any]) -> None:
    """The DVC metric: the numbers of filter_stats.json in the git-tracked metrics dir (the detector
    handle and the decision key go to filter.info.json)."""
    write_training_outputs(params.path(params.paths.metrics), "filter", stats)


def _merge(
    params: Params, fp: FilterPaths, key: str, raw: pd.DataFrame, decided: pd.DataFrame, gt_path: Path | None
) -> dict[str, Any]:
    from adgen.detect.contact_sheet import write_contact_sheet

    # The masks store is an output even when nothing was kept; opening it also packs what a killed
    # shard's writer left staged.
    StoreWriter.from_params(
        fp.store, params.store, label="filter_merge", content_addressed=False
    ).open().close()
    decisions = decided[decided["image_id"].isin(raw["image_id"])]
    out = raw.merge(decisions, on="image_id", how="left", validate="one_to_one")
    overrides = read_overrides(params.path(params.review.overrides), params.review)
    out = apply_overrides(out, overrides)
    out = manifest.coerce(
        out,
        {
            **{c: t for c, t in manifest.RAW_COLUMNS.items() if c in raw.columns},
            **DECISION_COLUMNS,
            **REVIEW_COLUMNS,
        },
    )
    _write_manifest(out, fp.manifest, key)
    stats = filter_stats(out)
    if gt_path:  # how good the detector and the rule are: their own decisions, not the reviewers'
        stats["ground_truth"] = keep_quality(rule_decisions(out), load_ground_truth(gt_path))
    stats["review"] = review_stats(out, overrides)
    stats.update(decision_key=key, model=params.detect.model)
    write_contact_sheet(params, out, fp.out)
    atomic.write_json(fp.stats, stats)
    _write_metrics(params, stats)
    shutil.rmtree(fp.parts, ignore_errors=True)
    return stats
