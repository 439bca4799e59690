"""A project root holding fixture-site photos as if crawled, for end-to-end prepare tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from adgen import manifest
from adgen.fixtures.site import synth
from adgen.manifest import RAW_COLUMNS
from adgen.store.photos import store_photos


def kept_indices(seed: int, n: int, start: int = 0) -> list[int]:
    """The first `n` photo indices whose scenario the filter should keep."""
    out, i = [], start
    while len(out) < n:
        if synth.SCENARIOS[synth.scenario_of(seed, i)].expected_keep:
            out.append(i)
        i += 1
    return out


def write_raw_project(root: Path, seed: int, indices: list[int]) -> dict[str, dict]:
    """Store each photo as the crawler would (JPEG q95 4:4:4); returns {image_id: truth}."""
    rows, truth = [], {}
    for i in indices:
        r = synth.photo(seed, i)
        data = synth.encode_jpeg(r.image)
        ((image_id, shard, member),) = store_photos(root / "data/raw/store", [(data, "jpg")])
        truth[image_id] = r.truth
        rows.append({
            "image_id": image_id, "shard": shard, "member": member, "site": "fixture",
            "query": "woman handbag", "source_url": f"http://127.0.0.1/p/{i}.jpg", "page_url": "http://127.0.0.1/",
            "title": r.truth["scenario"], "license": "royalty-free (fixture)", "width": r.image.width,
            "height": r.image.height, "format": "JPEG", "bytes": len(data),
            "crawled_at": datetime(2026, 1, 1, tzinfo=UTC),
        })  # fmt: skip
    manifest.write(manifest.coerce(pd.DataFrame(rows), RAW_COLUMNS), root / "data/raw/manifest.parquet")
    return truth
