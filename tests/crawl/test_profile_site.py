"""A site described only by a profile in params.yaml is crawled with no code (tiny local site)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from adgen.crawl.stage import crawl
from adgen.errors import UserError
from tests.crawl.conftest import profile_site, write_params
from tests.store.helpers import raw_store_agrees_with_manifest

pytestmark = pytest.mark.integration


def test_profile_spider_crawls_a_site_from_params_alone(tmp_path, tiny_site):
    params = write_params(tmp_path, {"sites": {"tiny": profile_site(tiny_site.base_url)}})
    summary = crawl(params)
    raw = tmp_path / "data" / "raw"
    rows = pd.read_parquet(raw / "manifest.parquet")
    assert summary.new_images == 5 and len(rows) == 5
    assert sorted(rows["title"]) == [f"Photo {i}" for i in range(5)]
    assert set(rows["license"]) == {"CC BY 4.0"}
    assert set(rows["site"]) == {"tiny"}
    raw_store_agrees_with_manifest(tmp_path)
    rejects = pd.read_parquet(raw / "rejects.parquet")
    assert set(rejects["reason"]) == {"robots", "offsite"}
    assert not any(r.startswith("/private/") for r in tiny_site.requests)  # robots.txt obeyed
    assert not (raw / ".crawl" / "journals" / "tiny.jsonl").exists()  # merged and removed


def test_second_crawl_of_an_unchanged_site_fetches_no_detail_page_or_image(tmp_path, tiny_site):
    params = write_params(tmp_path, {"sites": {"tiny": profile_site(tiny_site.base_url)}})
    crawl(params)
    tiny_site.requests.clear()
    again = crawl(params)
    assert again.new_images == 0
    assert all(r.startswith(("/search", "/robots.txt")) for r in tiny_site.requests), tiny_site.requests
    assert len(pd.read_parquet(tmp_path / "data/raw/manifest.parquet")) == 5


def test_unknown_site_is_one_line_error(tmp_path, tiny_site):
    params = write_params(tmp_path, {"sites": {"tiny": profile_site(tiny_site.base_url)}})
    with pytest.raises(UserError, match="--site nope: no such site"):
        crawl(params, sites=["nope"])
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "adgen.cli",
            "--params",
            str(tmp_path / "params.yaml"),
            "crawl",
            "--site",
            "nope",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "no such site" in out.stderr


def test_profile_without_selectors_is_rejected_by_params(tmp_path):
    with pytest.raises(UserError, match="crawl.sites.bad"):
        write_params(tmp_path, {"sites": {"bad": {"spider": "profile", "start_urls": ["http://x/"]}}})


def test_a_second_crawl_of_the_same_site_is_refused_while_one_runs(tmp_path, tiny_site):
    from adgen.crawl import locks

    params = write_params(tmp_path, {"sites": {"tiny": profile_site(tiny_site.base_url)}})
    state = tmp_path / "data/raw/.crawl"
    with locks.crawl_locks(state, tmp_path / "data/raw", ["tiny"]):  # a crawl of `tiny` in progress
        with pytest.raises(UserError, match="site tiny is already being crawled"):
            crawl(params)
    assert tiny_site.requests == []


def test_two_pages_with_the_same_image_url_fetch_it_once_and_record_the_other_page(tmp_path):
    from tests.crawl.conftest import TinySite, tiny_pages

    pages = tiny_pages()
    status, ctype, body = pages["/item/4"]
    pages["/item/4"] = (status, ctype, body.replace(b"/img/4.jpg", b"/img/0.jpg"))
    with TinySite(pages) as site:
        params = write_params(tmp_path, {"sites": {"tiny": profile_site(site.base_url)}})
        crawl(params)
        assert sum(r == "/img/0.jpg" for r in site.requests) == 1
        rows = pd.read_parquet(tmp_path / "data/raw/manifest.parquet")
        rejects = pd.read_parquet(tmp_path / "data/raw/rejects.parquet")
        dup = rejects[rejects["reason"] == "duplicate_url"]
        assert len(rows) == 4 and len(dup) == 1
        assert dup["url"].iloc[0].endswith(("/item/0", "/item/4"))
        site.requests.clear()
        crawl(params)  # both pages are known now
        assert not [r for r in site.requests if r.startswith(("/item", "/img"))]
