"""`adgen store migrate`: a per-file store (`images/ab/<id>.<ext>`) and its table → shards.

Two per-file stores are converted: the crawl's (data/raw/images + manifest.parquet) and the user
bags' (<user_bags>/images + bags.parquet). Strip's cut-outs are not migrated: strip re-cuts them
when its manifest lacks the member columns.

Order, so a kill at any point loses nothing and a re-run finishes the job:
1. every file is packed into shards (its bytes must hash to its name; duplicates are skipped),
2. the manifest is rewritten atomically with `shard` and `member` in place of `path`,
3. only then are the per-file images removed.
A re-run skips what step 1 already packed and step 2 already rewrote.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from adgen import manifest
from adgen.config import Params
from adgen.errors import UserError
from adgen.progress import track
from adgen.store import layout, locations
from adgen.store.reader import StoreReader

PER_FILE_DIR = "images"


@dataclass
class MigrateResult:
    files: int = 0  # per-file images found
    packed: int = 0  # new samples written into shards
    already: int = 0  # already in the store (a re-run, or the same bytes twice)
    manifest_rows: int = 0
    missing: list[str] = field(default_factory=list)  # manifest rows whose file was not there
    removed: int = 0
    new_shards: list[str] = field(default_factory=list)


def per_file_images(images: Path) -> list[Path]:
    if not images.is_dir():
        return []
    return sorted(p for p in images.glob("*/*") if p.is_file() and not p.name.startswith("."))


def _file_id(path: str | Path) -> str:
    return Path(path).name.split(".", 1)[0]


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k == "path":
            continue
        if v is None or (not isinstance(v, list | dict) and pd.isna(v)):
            out[k] = None
        elif isinstance(v, pd.Timestamp):
            out[k] = v.isoformat()
        elif hasattr(v, "item"):
            out[k] = v.item()
        else:
            out[k] = v
    return json.loads(json.dumps(out, default=str))


def migrate_raw(params: Params, keep_files: bool = False) -> MigrateResult:
    raw = params.path(params.paths.raw)
    return migrate_dir(
        params, raw, raw / "manifest.parquet", locations.raw_store(params), "migrate", keep_files
    )


def migrate_user_bags(params: Params, keep_files: bool = False) -> MigrateResult:

    bags = params.path(params.datasets.user_bags)
    store = locations.user_bags_store(params)
    return migrate_dir(params, bags, locations.user_bags_table(params), store, "bags", keep_files)


def migrate_dir(
    params: Params, base: Path, manifest_path: Path, store: Path, label: str, keep_files: bool = False
) -> MigrateResult:
    """`base/images/ab/<id>.<ext>` + the table at `manifest_path` (a `path` column) → `store`."""
    images = base / PER_FILE_DIR
    rows = manifest.read(manifest_path) if manifest_path.exists() else None
    if rows is not None and "path" in rows.columns:
        meta = {
            r["image_id"]: _json_safe(r)
            for r in rows.to_dict("records")
            if isinstance(r.get("image_id"), str) and r.get("path") and _file_id(r["path"]) == r["image_id"]
        }
    else:
        meta = {}
    files = per_file_images(images)
    result = MigrateResult(files=len(files))
    bad: list[str] = []
    if not files and (rows is None or "path" not in rows.columns):
        return MigrateResult(manifest_rows=0 if rows is None else len(rows))  # nothing per-file here
    with locations.writer(params, store, label=label, durable=False) as w:
        for path in track(files, "pack images into shards", total=len(files)):
            name_id, dot, ext = path.name.partition(".")
            if not dot or not layout.KEY.fullmatch(name_id) or not layout.FIELD.fullmatch(ext):
                bad.append(f"{path}: not a per-file store name (<sha256>.<ext>)")
                continue
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != name_id:
                bad.append(f"{path}: its bytes do not hash to its name")
                continue
            stored = w.put(data, ext, meta.get(name_id))
            result.packed += stored.is_new
            result.already += not stored.is_new
    result.new_shards = list(w.new_shards)
    if bad:
        raise UserError(
            f"{bad[0]} (+{len(bad) - 1} more); nothing was removed and the manifest is unchanged: "
            "delete or restore those files, then run `adgen store migrate` again"
        )
    reader = StoreReader(store)
    if rows is not None and "path" in rows.columns:
        rows = rows.copy()
        where = []
        for p in rows["path"]:
            fid = _file_id(p) if isinstance(p, str) and p else None
            if fid is None or fid not in reader:
                if fid is not None:
                    result.missing.append(str(p))
                where.append((None, None))
            else:
                where.append(reader.location(fid))
        at = list(rows.columns).index("path")
        rows = rows.drop(columns=["path"])
        rows.insert(at, "member", pd.array([m for _, m in where], dtype="string"))
        rows.insert(at, "shard", pd.array([s for s, _ in where], dtype="string"))
        manifest.write(rows, manifest_path)
    result.manifest_rows = 0 if rows is None else len(rows)
    if not keep_files:
        for path in files:
            if _file_id(path) in reader:
                path.unlink()
                result.removed += 1
        for d in sorted(images.glob("*"), reverse=True) if images.is_dir() else []:
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        if images.is_dir() and not any(images.iterdir()):
            images.rmdir()
    return result
