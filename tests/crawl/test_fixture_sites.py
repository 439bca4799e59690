"""Every spider against the fixture stock site: real Scrapy subprocesses over 127.0.0.1.

One crawl of all four sites (module fixture) backs the spider, hostile-case, robots/offsite and
path-safety promises; refresh, kill -9 and DVC have their own sites.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest

from adgen.crawl.stage import crawl
from adgen.fixtures.site.server import FixtureSite
from tests.crawl.conftest import fixture_crawl_params, warm
from tests.store.helpers import raw_store_agrees_with_manifest

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("crawl-fixture-sites")]  # one shared crawl

SITES = ("123rf", "depositphotos", "getty", "profile")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    root = tmp_path_factory.mktemp("crawl")
    with FixtureSite(images=24, seed=3, slow_seconds=8) as site:  # slower than the 4 s timeout
        truth = warm(site)
        params = fixture_crawl_params(root, site.base_url)
        summary = crawl(params)
        yield {
            "root": root,
            "summary": summary,
            "truth": truth,
            "requests": site.requests,
            "manifest": pd.read_parquet(root / "data/raw/manifest.parquet"),
            "rejects": pd.read_parquet(root / "data/raw/rejects.parquet"),
        }


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.mark.parametrize("site", SITES)
def test_each_spider_stores_every_listed_photo_with_title_licence_and_largest_preview(crawled, site):
    rows = crawled["manifest"].set_index("image_id")
    expected = {
        sha: t for sha, t in crawled["truth"]["images"].items() if t["site"] == site and not t["hostile"]
    }
    assert expected, "the fixture lists photos for every site"
    missing = set(expected) - set(rows.index)
    assert not missing, f"{site}: {len(missing)} listed photos not stored"
    shared = {c["sha256"] for c in crawled["truth"]["hostile"].values() if c["case"] == "duplicate_bytes"}
    for sha, t in expected.items():
        row = rows.loc[sha]
        assert row["site"] == site
        if sha in shared:  # same bytes under two URLs: either listing may be the row (see the hostile test)
            continue
        assert row["title"] == t["title"] and row["license"] == t["license"]
        assert (
            _path(row["source_url"]) == t["image_url"]
        )  # the detail page's largest preview, not the thumbnail
        assert _path(row["page_url"]) == t["detail_url"]
        assert row["query"] == t["query"]
        assert (row["width"], row["height"]) == (t["width"], t["height"])
        assert row["member"].startswith(f"{sha}.")


def test_each_hostile_case_ends_as_its_expected_reason_or_a_clean_skip(crawled):
    manifest, rejects = crawled["manifest"], crawled["rejects"]
    requested = {r["path"] for r in crawled["requests"]}
    for key, case in crawled["truth"]["hostile"].items():
        reasons = {case["reason"], *case["also_accept"]}
        image, detail = case["image_url"], case["detail_url"]
        if case["outcome"] == "rejected":
            got = set(rejects[rejects["url"].map(_path) == image]["reason"])
            assert got & reasons, f"{key}: rejects say {got}, expected {reasons}"
            assert not manifest["source_url"].map(_path).eq(image).any()
        elif case["outcome"] == "stored":
            assert case["sha256"] in set(manifest["image_id"]), key
        elif case["outcome"] == "stored_once":
            if case["case"] == "duplicate_bytes":
                rows = manifest[manifest["image_id"] == case["sha256"]]
                assert len(rows) == 1
                original = crawled["truth"]["images"][case["sha256"]]["image_url"]
                urls = {image, original}
                assert _path(rows["source_url"].iloc[0]) in urls
                other = (urls - {_path(rows["source_url"].iloc[0])}).pop()
                assert set(rejects[rejects["url"].map(_path) == other]["reason"]) == {"duplicate_bytes"}
            else:  # near duplicate: recorded, pointing at the photo it copies, not stored twice
                row = manifest.set_index("image_id").loc[case["sha256"]]
                assert row["duplicate_of"] == case["duplicate_of"]
                kept = manifest.set_index("image_id").loc[case["duplicate_of"]]
                assert (row["shard"], row["member"]) == (kept["shard"], kept["member"])
        elif case["outcome"] == "skipped":
            got = set(rejects[rejects["url"].map(_path) == detail]["reason"])
            assert got & reasons, f"{key}: {got}"
        elif case["outcome"] == "not_requested":
            url = image if case["case"] == "offsite_image" else detail
            assert (
                url not in requested and _path(url) not in requested if "://" in url else url not in requested
            )
            assert (
                set(rejects[rejects["url"].map(lambda u, url=url: u == url or _path(u) == url)]["reason"])
                & reasons
            ), key
        else:
            pytest.fail(f"unknown outcome {case['outcome']}")


def test_robots_disallowed_and_offsite_urls_are_never_requested(crawled):
    paths = [r["path"] for r in crawled["requests"]]
    assert any(p == "/robots.txt" for p in paths)
    assert not [p for p in paths if "/private/" in p]
    assert not [p for p in paths if p.startswith("http") or "example.invalid" in p]
    assert not [p for p in paths if p.startswith(("/_fixture", "/ground-truth"))]


def test_no_part_of_a_url_becomes_a_file_path(crawled):
    root: Path = crawled["root"]
    case = crawled["truth"]["hostile"]["path_traversal"]
    assert "../../x.jpg" in unquote(case["image_url"])
    files = [p for p in root.rglob("*") if p.is_file()]
    assert not [p for p in files if p.name == "x.jpg"]
    raw = root / "data/raw"
    assert {p.relative_to(raw).parts[0] for p in files if raw in p.parents} <= {
        "manifest.parquet",
        "rejects.parquet",
        "crawl_stats.json",
        "store",
        ".crawl",
    }
    raw_store_agrees_with_manifest(root)  # members are `<sha256>.<ext>`, nothing else


def test_every_rejected_download_is_recorded_with_url_and_reason(crawled):
    rejects = crawled["rejects"]
    assert rejects["url"].notna().all() and rejects["reason"].notna().all()
    stats = crawled["summary"]
    assert stats.new_images == len(crawled["manifest"])


def test_crawl_stats_report_each_sites_requests_and_finish(crawled):
    import json

    stats = json.loads((crawled["root"] / "data/raw/crawl_stats.json").read_text())
    assert stats["manifest_rows"] == len(crawled["manifest"])
    assert stats["rejects_total"] == len(crawled["rejects"])
    for site in SITES:
        row = stats["sites"][site]
        assert row["finish_reason"] == "finished" and row["requests"] > 0 and row["images_stored"] > 0, site


def test_the_crawl_metric_holds_what_was_fetched_not_how_long_it_took(crawled):
    """`dvc metrics diff` after a crawl that fetched nothing new must show no change."""
    import json

    metric = json.loads((crawled["root"] / "metrics/crawl.json").read_text())
    assert metric["manifest_rows"] == len(crawled["manifest"])
    for site in SITES:
        assert metric["sites"][site]["requests"] > 0, site
        assert "elapsed_s" not in metric["sites"][site], site
