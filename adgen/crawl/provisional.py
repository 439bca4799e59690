"""The rows a stopped crawl merged stay open until that site's crawl finishes.

A crawl stopped early (Ctrl-C, a full disk, a failed Scrapy process) merges what it stored, so
nothing is lost and the manifest lists it. But the merge keeps rows already in the manifest over
new near duplicates: had the stopped run stored a photo's smaller re-encode and not the original,
the resumed run would record the original as a copy of the re-encode, and the dataset would depend
on where the crawl was cut. So the ids such a merge added are written down here, per site; every
merge until a crawl of that site finishes takes those rows out of the manifest and decides them
again together with its own downloads, which gives the manifest of an uninterrupted crawl.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from adgen import atomic
from adgen.errors import UserError

FILE = "provisional.json"
# Decided again by the merge, so not carried over from the manifest row: a near duplicate's row
# names the kept photo's shard and member, and the merge finds its own again in the store.
_REDECIDED = ("shard", "member", "duplicate_of")


def load(state: Path) -> dict[str, list[str]]:
    path = state / FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(
            f"{path}: unreadable ({exc}); delete it to keep the stopped crawl's rows as they are"
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(i, str) for i in v)
        for k, v in data.items()
    ):
        raise UserError(
            f"{path}: not a map of site to image ids; delete it to keep the stopped crawl's rows as they are"
        )
    return data


def save(state: Path, by_site: Mapping[str, Iterable[str]]) -> None:
    path = state / FILE
    kept = {site: sorted(set(ids)) for site, ids in sorted(by_site.items()) if ids}
    if kept:
        atomic.write_json(path, kept)
    else:
        path.unlink(missing_ok=True)


def reopen(old_manifest: pd.DataFrame, open_ids: set[str]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Split the manifest into the rows that stand and the open ones, as journal-like rows.

    A row pointing at an open row (`duplicate_of`) is reopened too: the photo it copies may stop
    being the kept one.
    """
    if not open_ids or old_manifest.empty:
        return old_manifest, []
    ids = old_manifest["image_id"].astype(object)
    pointing = old_manifest["duplicate_of"].astype(object).isin(open_ids)
    mask = (ids.isin(open_ids) | pointing).to_numpy()
    rows = []
    for row in old_manifest[mask].to_dict("records"):
        out = {k: (None if _missing(v) else v) for k, v in row.items() if k not in _REDECIDED}
        if out.get("crawled_at") is not None:
            out["crawled_at"] = pd.Timestamp(out["crawled_at"]).isoformat()
        rows.append(out)
    return old_manifest[~mask].reset_index(drop=True), rows


def update(
    before: Mapping[str, list[str]],
    added: pd.DataFrame,
    finished: Mapping[str, bool],
) -> dict[str, list[str]]:
    """The open ids after a merge: `added` holds the rows this merge decided (new and reopened),
    `finished` whether each site of this merge ended its crawl. Sites not in this merge keep theirs."""
    out = {site: list(ids) for site, ids in before.items() if site not in finished}
    for site, done in finished.items():
        if not done:
            mine = added[added["site"].astype(object) == site]["image_id"]
            out[site] = sorted(set(before.get(site, [])) | set(mine.dropna().astype(str)))
    return out


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)
