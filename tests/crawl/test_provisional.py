"""A stopped crawl's merge does not decide near duplicates for good (adgen.crawl.provisional).

CI caught it (tests/hostile/test_crawl_faults.py, once in many runs): a crawl stopped by a full
disk had stored a photo's smaller re-encode but not the original; its merge kept the re-encode, and
the resumed run, finding the original, recorded it as the re-encode's copy — the opposite of an
uninterrupted crawl. These tests cut the crawl there on purpose, through the real merge and store.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from PIL import Image

from adgen.crawl import journal, provisional, stage
from adgen.crawl.vetting import perceptual_hash
from adgen.errors import UserError
from adgen.store import locations
from adgen.store.layout import sha256_hex

from .conftest import fixture_crawl_params, photo


def _re_encode(data: bytes, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).resize(size, Image.Resampling.LANCZOS).save(buf, "JPEG", quality=80)
    return buf.getvalue()


ORIGINAL = photo(5, (320, 400))
RE_ENCODE = _re_encode(ORIGINAL, (160, 200))  # the same picture, smaller: a near duplicate
OTHER = photo(9)


def _row(data: bytes, size: tuple[int, int], name: str, site: str = "profile") -> dict:
    url = f"http://site.test/{site}/{name}.jpg"
    return {
        "image_id": sha256_hex(data),
        "site": site,
        "query": "handbag",
        "source_url": url,
        "page_url": url + ".html",
        "title": name,
        "license": "royalty free",
        "width": size[0],
        "height": size[1],
        "format": "JPEG",
        "bytes": len(data),
        "crawled_at": "2026-12-06T00:00:00+00:00",
        "phash": _phash(data),
    }


def _phash(data: bytes) -> str:
    return perceptual_hash(Image.open(io.BytesIO(data)))


ROWS = {
    "original": _row(ORIGINAL, (320, 400), "original"),
    "re_encode": _row(RE_ENCODE, (160, 200), "re_encode"),
    "other": _row(OTHER, (160, 200), "other"),
}


def _workspace(root: Path):
    params = fixture_crawl_params(root, "http://127.0.0.1:9")
    p = stage.paths(params)
    for batch in ((ORIGINAL, RE_ENCODE), (OTHER,)):  # two writer sessions: OTHER has a shard of its own
        with locations.writer(params, p["store"], label="test") as w:
            for data in batch:
                w.put(data, "jpg")
    return params, p


def _fold(params, p, names: list[str], how: dict[str, str]) -> stage.CrawlSummary:
    path = p["state"] / "journals" / f"{len(list(p['state'].glob('journals/*')))}.jsonl"
    j = journal.Journal(path)
    for name in names:
        j.append(journal.IMAGE, ROWS[name])
    j.close()
    per_site = {site: {"finish_reason": reason} for site, reason in how.items()}
    return stage.fold(params, p, [path], per_site, 0.0)


def _manifest(p) -> pd.DataFrame:
    m = pd.read_parquet(p["manifest"]).drop(columns=["crawled_at", "shard"])  # shard names are per run
    return m.sort_values("image_id").reset_index(drop=True)


def test_a_crawl_cut_between_a_re_encode_and_its_original_ends_as_if_never_cut(tmp_path: Path) -> None:
    params, p = _workspace(tmp_path / "whole")
    _fold(params, p, ["re_encode", "other", "original"], {"profile": "finished"})
    whole = _manifest(p)
    kept = whole.set_index("image_id")
    assert pd.isna(kept.loc[ROWS["original"]["image_id"], "duplicate_of"])  # the larger is kept
    assert kept.loc[ROWS["re_encode"]["image_id"], "duplicate_of"] == ROWS["original"]["image_id"]

    params, p = _workspace(tmp_path / "cut")
    first = _fold(params, p, ["re_encode", "other"], {"profile": "shutdown"})  # Ctrl-C, a full disk
    assert first.new_images == 2
    assert set(provisional.load(p["state"])["profile"]) == {
        ROWS["re_encode"]["image_id"],
        ROWS["other"]["image_id"],
    }
    second = _fold(params, p, ["original"], {"profile": "finished"})

    pd.testing.assert_frame_equal(whole, _manifest(p))
    assert (second.new_images, second.near_duplicates) == (1, 0)  # the reopened rows are not news
    assert not (p["state"] / provisional.FILE).exists()  # finished: nothing is open any more


def test_rows_of_a_finished_crawl_stand_against_a_later_larger_copy(tmp_path: Path) -> None:
    """A refresh keeps the rows of earlier, finished crawls (stable ids downstream)."""
    params, p = _workspace(tmp_path)
    _fold(params, p, ["re_encode"], {"profile": "finished"})
    _fold(params, p, ["original"], {"profile": "finished"})
    rows = _manifest(p).set_index("image_id")
    assert pd.isna(rows.loc[ROWS["re_encode"]["image_id"], "duplicate_of"])
    assert rows.loc[ROWS["original"]["image_id"], "duplicate_of"] == ROWS["re_encode"]["image_id"]


def test_a_stopped_crawl_of_one_site_stays_open_through_another_sites_crawl(tmp_path: Path) -> None:
    params, p = _workspace(tmp_path)
    _fold(params, p, ["re_encode"], {"profile": "disk_error"})
    _fold(params, p, ["other"], {"getty": "finished"})  # another site, finished: profile's rows stay open
    assert provisional.load(p["state"]) == {"profile": [ROWS["re_encode"]["image_id"]]}
    _fold(params, p, ["original"], {"profile": "finished"})
    rows = _manifest(p).set_index("image_id")
    assert rows.loc[ROWS["re_encode"]["image_id"], "duplicate_of"] == ROWS["original"]["image_id"]


def test_an_open_row_whose_photo_left_the_store_stops_the_merge(tmp_path: Path) -> None:
    params, p = _workspace(tmp_path)
    _fold(params, p, ["other"], {"profile": "shutdown"})
    stored = p["store"] / "index.parquet"  # OTHER's shard lost, and the index rebuilt without it
    index = pq.read_table(stored)  # with its schema's metadata (the store's kind)
    mine = pc.equal(index["image_id"], ROWS["other"]["image_id"])
    (p["store"] / "shards" / index.filter(mine)["shard"][0].as_py()).unlink()
    pq.write_table(index.filter(pc.invert(mine)), stored)
    with pytest.raises(UserError, match="not in the store"):
        _fold(params, p, ["original"], {"profile": "finished"})
    assert len(pd.read_parquet(p["manifest"])) == 1  # nothing shrank


@pytest.mark.parametrize("text", ["{", '["a"]', '{"profile": "abc"}', '{"profile": [1]}'])
def test_a_damaged_state_file_is_a_one_line_error(tmp_path: Path, text: str) -> None:
    (tmp_path / provisional.FILE).write_text(text)
    with pytest.raises(UserError, match="provisional.json"):
        provisional.load(tmp_path)
