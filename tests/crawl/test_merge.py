"""The merge of journalled downloads is deterministic, idempotent and keeps one row per image."""

from __future__ import annotations

import random

from adgen.crawl import journal, merge
from adgen.manifest import empty


def _row(image_id: str, url: str, phash: str) -> dict:
    return {
        "image_id": image_id,
        "shard": f"20261201T000000Z-s-0000000{image_id[0]}-000000.tar",
        "member": f"{image_id}.jpg",
        "site": "s",
        "query": "q",
        "source_url": url,
        "page_url": url + ".html",
        "title": "t",
        "license": "l",
        "width": 300,
        "height": 400,
        "format": "JPEG",
        "bytes": 1000,
        "crawled_at": "2026-01-01T00:00:00+00:00",
        "phash": phash,
    }


A, B, C = "a" * 64, "b" * 64, "c" * 64
ROWS = [
    _row(A, "http://x/2.jpg", "ffff0000ffff0000"),
    _row(A, "http://x/1.jpg", "ffff0000ffff0000"),  # same bytes under a second URL
    _row(B, "http://x/3.jpg", "ffff0000ffff0003"),  # 2 bits away from A: a near duplicate
    _row(C, "http://x/4.jpg", "0123456789abcdef"),
]


def _merge(rows, old=None, old_rejects=None):
    return merge.merge(
        old if old is not None else empty(merge.MANIFEST_COLUMNS),
        old_rejects if old_rejects is not None else empty(merge.REJECT_COLUMNS),
        rows,
        [],
        phash_threshold=6,
    )


def test_merge_result_does_not_depend_on_download_order():
    first = _merge(ROWS).manifest
    for seed in range(5):
        shuffled = ROWS[:]
        random.Random(seed).shuffle(shuffled)
        again = _merge(shuffled).manifest
        assert again.drop(columns="crawled_at").equals(first.drop(columns="crawled_at"))


def test_same_bytes_are_one_row_and_the_other_url_a_duplicate_bytes_reject():
    out = _merge(ROWS)
    assert sorted(out.manifest["image_id"]) == [A, B, C]
    assert out.manifest.set_index("image_id").loc[A, "source_url"] == "http://x/1.jpg"
    dup = out.rejects[out.rejects["reason"] == "duplicate_bytes"]
    assert list(dup["url"]) == ["http://x/2.jpg"]


def test_near_duplicate_points_at_the_kept_photo_in_the_store():
    out = _merge(ROWS)
    row = out.manifest.set_index("image_id").loc[B]
    assert row["duplicate_of"] == A
    assert (row["shard"], row["member"]) == ("20261201T000000Z-s-0000000a-000000.tar", f"{A}.jpg")
    assert out.near_duplicates == 1


def test_merging_the_same_journal_twice_changes_nothing():
    once = _merge(ROWS)
    twice = _merge(ROWS, once.manifest, once.rejects)
    assert twice.new_images == 0 and twice.new_rejects == 0
    assert twice.manifest.equals(once.manifest)
    assert len(twice.rejects) == len(once.rejects)


def test_existing_rows_win_over_new_near_duplicates():
    old = _merge([ROWS[2]]).manifest  # B arrived in an earlier crawl
    out = _merge(ROWS, old)
    rows = out.manifest.set_index("image_id")
    assert rows["duplicate_of"].isna()[B]
    assert rows.loc[A, "duplicate_of"] == B


def test_a_torn_last_journal_line_is_ignored(tmp_path):
    j = journal.Journal(tmp_path / "j.jsonl")
    j.append(journal.IMAGE, {"image_id": A})
    j.close()
    with open(tmp_path / "j.jsonl", "a") as fh:
        fh.write('{"kind": "image", "row": {"image_id": "tor')
    assert list(journal.read(tmp_path / "j.jsonl")) == [("image", {"image_id": A})]
