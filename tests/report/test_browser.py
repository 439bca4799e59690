"""The report opened in a real headless Chromium at 1366×768, as a reviewer would open it.

Every section renders with no console error, no request leaves the machine, a thumbnail opens the
photo's page with its source URL and reason, nothing is wider than the screen, and a crawled title
holding `<script>` shows as text. With ADGEN_SCREENSHOT=docs/report.png the same code refreshes the
README's screenshot.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from adgen.report.build import build_report
from tests.report.browser import HEIGHT, WIDTH, Browser, chromium
from tests.report.builders import add_training_and_ads, build_project, image_id

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium: apt-get install -y chromium"),
]

REPO = Path(__file__).resolve().parents[2]


def local_only(urls: list[str]) -> list[str]:
    """The URLs that would leave the machine (anything but file:, data:, about:)."""
    return [u for u in urls if urlsplit(u).scheme not in ("file", "data", "about", "")]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("project")
    params = build_project(root)
    add_training_and_ads(root)
    return build_report(params)


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def test_every_section_renders_without_errors_and_nothing_leaves_the_machine(report, browser, tmp_path):
    browser.open(report.index)
    assert report.sections == ["version", "counts", "quality", "sheets", "training", "generated"]
    for anchor in report.sections:
        height = browser.js(f"document.getElementById({anchor!r}).getBoundingClientRect().height")
        assert height > 50, anchor
    assert browser.images_not_loaded() == []
    assert browser.js("document.images.length") > 10
    steps = browser.js(
        "[...document.querySelectorAll('#training .steps figcaption')].map(f => f.textContent)"
    )
    assert steps == ["step 0", "step 200", "step 400", "step 700", "step 900"]  # evenly spaced, newest last
    assert browser.errors == []
    assert browser.requests and local_only(browser.requests) == []
    shot = browser.screenshot(tmp_path / "report.png")
    assert Image.open(shot).size == (WIDTH, HEIGHT)
    if target := os.environ.get("ADGEN_SCREENSHOT"):  # refresh the README's picture (kept small)
        small = Image.open(shot).convert("RGB").resize((WIDTH // 2, HEIGHT // 2), Image.LANCZOS)
        small.quantize(colors=128).save(REPO / target, optimize=True)


def test_nothing_is_wider_than_a_laptop_screen(report, browser):
    browser.open(report.index)
    assert browser.js("document.documentElement.scrollWidth") <= WIDTH
    widest = browser.js(
        "Math.max(...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right))"
    )
    assert widest <= WIDTH
    # the tables scroll inside their box instead of widening the page
    assert browser.js(
        "[...document.querySelectorAll('table')].every(t => t.parentElement.className == 'scroll')"
    )


def test_a_thumbnail_opens_the_photos_page_with_its_source_and_reason(report, browser):
    browser.open(report.index)
    rejected = image_id(2)
    browser.click(f'#sheets a[href="items/{rejected}.html"]')
    assert browser.js("location.pathname").endswith(f"/items/{rejected}.html")
    assert browser.js("document.getElementById('reason').textContent") == "no_bag"
    assert browser.js("document.getElementById('decision').textContent") == "rejected"
    source = browser.js("document.querySelector('#source a').href")
    assert source == "https://stock.example/photo/2.jpg"
    assert browser.images_not_loaded() == []
    assert browser.js("document.documentElement.scrollWidth") <= WIDTH
    assert browser.errors == [] and local_only(browser.requests) == []


def test_a_crawled_title_holding_script_renders_as_text(report, browser):
    browser.open(report.index.parent / "items" / f"{image_id(0)}.html")
    assert browser.js("document.documentElement.scrollWidth") <= WIDTH  # its 1800 px photo fits
    # the page's only script is the report's own review control, loaded from its assets
    assert browser.js("[...document.scripts].map(s => s.getAttribute('src'))") == ["../assets/review.js"]
    assert browser.js("document.title") == "AdGen pipeline report"
    assert browser.js("document.getElementById('title').textContent").startswith(
        '<script>document.title="pwned"'
    )
    assert browser.js("document.getElementById('licence').textContent").startswith("<img src=x onerror")
    assert browser.js("document.querySelector('#licence img')") is None
    assert browser.errors == []
