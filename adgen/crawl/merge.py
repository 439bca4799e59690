"""Fold journalled downloads into the raw manifest and the rejects table, deterministically.

Rules (the same whatever order the downloads finished in, so a killed-and-resumed crawl ends with
the same manifest as an uninterrupted one):
- one row per image_id; rows already in the manifest are never changed (the caller takes out the
  rows of a crawl that stopped early and passes them again as new: adgen.crawl.provisional);
- new rows are taken largest first (width x height), then by (source_url, site, query, page_url);
- several new sightings of the same bytes: the first in that order becomes the row, the others go
  to rejects as `duplicate_bytes`;
- a new image whose perceptual hash is within `phash_threshold` of a kept image is a near
  duplicate: its row records `duplicate_of` (the kept image_id) and names the kept photo's shard and
  member (its own bytes stay in their shard: shards are append-only, never rewritten). Kept images are the manifest's, then the new ones in the order above (so of
  a photo and its smaller re-encode, the larger is kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from adgen import manifest

EXACT_DUPLICATE = "duplicate_bytes"

MANIFEST_COLUMNS: dict[str, str] = {
    **manifest.RAW_COLUMNS,
    "phash": "string",
    "duplicate_of": "string",
}
REJECT_COLUMNS: dict[str, str] = {
    "url": "string",
    "site": "string",
    "reason": "string",
    "detail": "string",
    "page_url": "string",
    "at": "datetime64[ns, UTC]",
}


@dataclass
class MergeResult:
    manifest: pd.DataFrame
    rejects: pd.DataFrame
    new_images: int = 0
    near_duplicates: int = 0
    new_rejects: int = 0


def _phash_int(h: Any) -> int | None:
    if h is None or (isinstance(h, float) and np.isnan(h)) or h is pd.NA:
        return None
    try:
        return int(str(h), 16)
    except ValueError:
        return None


def _popcount64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    out = np.zeros(x.shape, dtype=np.int64)
    for shift in range(0, 64, 8):
        out += _POP8[((x >> np.uint64(shift)) & np.uint64(0xFF)).astype(np.int64)]
    return out


_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def _sort_key(row: dict[str, Any]) -> tuple[int, str, str, str, str]:
    return (
        -int(row.get("width") or 0) * int(row.get("height") or 0),  # the largest of near duplicates is kept
        str(row.get("source_url") or ""),
        str(row.get("site") or ""),
        str(row.get("query") or ""),
        str(row.get("page_url") or ""),
    )


def merge(
    old_manifest: pd.DataFrame,
    old_rejects: pd.DataFrame,
    image_rows: list[dict[str, Any]],
    reject_rows: list[dict[str, Any]],
    phash_threshold: int,
) -> MergeResult:
    old_manifest = manifest.coerce(old_manifest, MANIFEST_COLUMNS)
    known_ids = set(old_manifest["image_id"].dropna())
    known_sources = dict(zip(old_manifest["image_id"], old_manifest["source_url"], strict=False))

    kept_ids: list[str] = []
    kept_where: list[tuple[Any, Any]] = []  # (shard, member) of each kept photo
    kept_hashes: list[int] = []
    canonical = old_manifest[old_manifest["duplicate_of"].isna()]
    for iid, shard, member, ph in zip(
        canonical["image_id"], canonical["shard"], canonical["member"], canonical["phash"], strict=False
    ):
        h = _phash_int(ph)
        if h is not None:
            kept_ids.append(iid)
            kept_where.append((shard, member))
            kept_hashes.append(h)
    hashes = np.array(kept_hashes, dtype=np.uint64)

    new_rows: list[dict[str, Any]] = []
    extra_rejects: list[dict[str, Any]] = []
    taken: dict[str, Any] = {}  # image_id -> the source_url its row was taken from
    near = 0
    for row in sorted(image_rows, key=_sort_key):
        iid = row["image_id"]
        if iid in known_ids or iid in taken:
            # the same photo from the same URL again (a reopened row the resumed run met) is no news
            if (taken[iid] if iid in taken else known_sources.get(iid)) != row.get("source_url"):
                extra_rejects.append(
                    {
                        "url": row.get("source_url"),
                        "site": row.get("site"),
                        "reason": EXACT_DUPLICATE,
                        "detail": f"same bytes as {iid}",
                        "page_url": row.get("page_url"),
                        "at": row.get("crawled_at"),
                    }
                )
            continue
        taken[iid] = row.get("source_url")
        row = dict(row)
        row["duplicate_of"] = None
        h = _phash_int(row.get("phash"))
        if h is not None and len(hashes):
            dist = _popcount64(hashes ^ np.uint64(h))
            best = int(np.argmin(dist))
            if dist[best] <= phash_threshold:
                row["duplicate_of"] = kept_ids[best]
                row["shard"], row["member"] = kept_where[best]
                near += 1
        if row["duplicate_of"] is None and h is not None:
            kept_ids.append(iid)
            kept_where.append((row.get("shard"), row.get("member")))
            hashes = np.append(hashes, np.uint64(h))
        new_rows.append(row)

    if new_rows:
        add = pd.DataFrame(new_rows)
        add["crawled_at"] = pd.to_datetime(add["crawled_at"], utc=True)
        add = manifest.coerce(add, MANIFEST_COLUMNS)[list(MANIFEST_COLUMNS)]
        out = pd.concat([old_manifest, add], ignore_index=True) if len(old_manifest) else add
    else:
        out = old_manifest
    out = manifest.coerce(out, MANIFEST_COLUMNS)

    rejects, n_new_rejects = _merge_rejects(old_rejects, reject_rows + extra_rejects)
    return MergeResult(out, rejects, len(new_rows), near, n_new_rejects)


def _merge_rejects(old: pd.DataFrame, rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, int]:
    old = manifest.coerce(old, REJECT_COLUMNS)
    if not rows:
        return old, 0
    add = pd.DataFrame(rows)
    for col in REJECT_COLUMNS:
        if col not in add.columns:
            add[col] = None
    add["at"] = pd.to_datetime(add["at"].fillna(datetime.now(UTC).isoformat()), utc=True, format="ISO8601")
    add = manifest.coerce(add[list(REJECT_COLUMNS)], REJECT_COLUMNS)
    both = pd.concat([old, add], ignore_index=True) if len(old) else add
    key = ["url", "site", "reason", "detail"]
    both = both.drop_duplicates(subset=key, keep="first").reset_index(drop=True)
    return both, len(both) - len(old)
