"""A reviewer flips decisions on the report's photo pages in a real headless Chromium, downloads the
overrides (from file://, no network) or saves them through `adgen review serve`, and the project's
overrides file holds exactly those choices."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from adgen.review.apply import apply_file
from adgen.review.overrides import read
from tests.report.browser import WIDTH, Browser, chromium
from tests.report.builders import image_id

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium: apt-get install -y chromium"),
]

KEPT, REJECTED = image_id(0), image_id(2)  # the builders' photo 0 is kept, photo 2 rejected (no_bag)


def leaving(urls: list[str]) -> list[str]:
    """Requests that would leave the machine (a download's blob: URL stays in the browser)."""
    return [u for u in urls if urlsplit(u).scheme not in ("file", "data", "about", "blob", "")]


def flip(browser: Browser, page: str) -> None:
    browser.open(page)
    browser.js("document.getElementById('review-flip').click()")


def test_flipping_two_pages_downloads_one_overrides_file_that_apply_reads(reported, tmp_path: Path) -> None:
    params, report = reported
    items = report.index.parent / "items"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with Browser() as browser:
        browser.download_to(downloads)
        browser.open(items / f"{KEPT}.html")
        assert browser.js("document.getElementById('review-flip').textContent") == "flip to reject"
        assert browser.js("document.documentElement.scrollWidth") <= WIDTH
        flip(browser, (items / f"{KEPT}.html").as_uri())
        flip(browser, (items / f"{REJECTED}.html").as_uri())
        assert browser.js("document.getElementById('review-count').textContent") == "2"  # across pages
        assert browser.js("document.getElementById('review-choice').textContent").startswith("keep")
        browser.js("document.getElementById('review-download').click()")
        deadline = time.monotonic() + 30
        while not (got := downloads / "adgen-overrides.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert browser.errors == [] and leaving(browser.requests) == []
    body = json.loads(got.read_text())
    assert {(o["image_id"], o["decision"]) for o in body["overrides"]} == {
        (KEPT, "reject"),
        (REJECTED, "keep"),
    }
    result = apply_file(params, got)
    assert (result.flipped, result.kept, result.rejected, result.unknown) == (2, 1, 1, [])
    saved = read(params.path(params.review.overrides), params.review)
    assert {k: v.decision for k, v in saved.items()} == {KEPT: "reject", REJECTED: "keep"}


def test_review_serve_saves_the_pages_choices_into_the_project(served) -> None:
    params, server = served
    with Browser() as browser:
        flip(browser, f"{server.url}items/{REJECTED}.html")
        assert browser.js("document.getElementById('review-save').hidden") is False
        browser.js("document.getElementById('review-save').click()")
        deadline = time.monotonic() + 30
        while "flipped" not in (msg := browser.js("document.getElementById('review-message').textContent")):
            assert time.monotonic() < deadline, msg
            time.sleep(0.2)
        assert "1 flipped (1 to keep" in msg
        assert browser.js("document.getElementById('review-count').textContent") == "0"  # saved, not pending
        assert (
            browser.errors == []
            and leaving([u for u in browser.requests if not u.startswith(server.url)]) == []
        )
    saved = read(params.path(params.review.overrides), params.review)
    assert {k: v.decision for k, v in saved.items()} == {REJECTED: "keep"}
