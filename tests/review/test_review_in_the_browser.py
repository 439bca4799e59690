"""A reviewer flips decisions on the report's photo pages in a real headless Chromium, downloads the
overrides (from file://, no network) or saves them through `adgen review serve`, and the project's
overrides file holds exactly those choices."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from adgen.report.build import build_report
from adgen.review.apply import apply_file
from adgen.review.overrides import read
from adgen.review.serve import ENDPOINT, review_server
from tests.report.browser import WIDTH, Browser, chromium
from tests.report.builders import build_project, image_id

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium: apt-get install -y chromium"),
]

KEPT, REJECTED = image_id(0), image_id(2)  # the builders' photo 0 is kept, photo 2 rejected (no_bag)


def leaving(urls: list[str]) -> list[str]:
    """Requests that would leave the machine (a download's blob: URL stays in the browser)."""
    return [u for u in urls if urlsplit(u).scheme not in ("file", "data", "about", "blob", "")]


@pytest.fixture
def project(tmp_path: Path):
    params = build_project(tmp_path / "project")
    report = build_report(params)
    return params, report


def flip(browser: Browser, page: str) -> None:
    browser.open(page)
    browser.js("document.getElementById('review-flip').click()")


def test_flipping_two_pages_downloads_one_overrides_file_that_apply_reads(project, tmp_path: Path) -> None:
    params, report = project
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


@pytest.fixture
def served(project):
    params, _ = project
    server = review_server(params, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield params, server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


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


def post(server, body: bytes, headers: dict[str, str], path: str = ENDPOINT) -> tuple[int, str]:
    req = urllib.request.Request(server.url.rstrip("/") + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_review_serve_refuses_posts_from_elsewhere_and_never_writes_another_file(served) -> None:
    params, server = served
    port = server.server_address[1]
    good = json.dumps({"version": 1, "overrides": [{"image_id": KEPT, "decision": "reject"}]}).encode()
    own = {"Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json"}
    assert post(server, good, {**own, "Origin": "http://evil.example"})[0] == 403
    assert post(server, good, {"Content-Type": "application/json"})[0] == 403  # no Origin
    assert post(server, good, {**own, "Host": "evil.example"})[0] == 403  # DNS rebinding
    assert post(server, good, {**own, "Content-Type": "text/plain"})[0] == 415  # a form could send this
    assert post(server, good, own, path="/../params.yaml")[0] == 404
    too_big = b" " * (params.review.max_file_bytes + 1)
    assert post(server, too_big, own)[0] == 413
    status, body = post(
        server, b'{"version": 1, "overrides": [{"image_id": "../../x", "decision": "keep"}]}', own
    )
    assert status == 400 and "is not a sha256 hex digest" in json.loads(body)["error"]
    assert not params.path(params.review.overrides).exists()  # nothing written by any of those
    status, body = post(server, good, own)
    assert status == 200 and json.loads(body)["flipped"] == 1
    assert set(read(params.path(params.review.overrides), params.review)) == {KEPT}
    with urllib.request.urlopen(server.url + "index.html", timeout=30) as resp:
        assert resp.status == 200  # the report itself is served
