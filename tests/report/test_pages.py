"""The report as a reviewer reads it: a funnel with reasons, thumbnails that open a photo's page with
its source, licence, detections and decision, and crawled text shown as text, never as markup."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from adgen.report.build import build_report
from tests.report.builders import HOSTILE_LICENSE, HOSTILE_TITLE, build_project, image_id


def test_the_funnel_shows_each_stage_with_what_it_dropped_and_why(tmp_path: Path):
    report = build_report(build_project(tmp_path))
    html = report.index.read_text()
    assert report.sections[:4] == ["version", "counts", "quality", "sheets"]
    counts = html.split('id="counts"')[1].split("</section>")[0]
    stages = re.findall(r"<tr><td>([^<]+)</td>", counts)
    assert stages == [
        "crawl: downloads tried", "crawl: downloads rejected", "crawl: images stored",
        "filter: seen", "filter: rejected by reason", "filter: kept",
        "strip: seen", "strip: rejected by reason", "strip: kept",
    ]  # fmt: skip
    assert "too_small: 1" in counts and "truncated: 1" in counts  # crawl rejects by reason
    assert "no_bag: 2" in counts  # filter rejects by reason
    assert "mask_too_small: 1" in counts  # strip drops by reason
    assert counts.count('class="bar"') == 6  # one bar per count that is a population


def test_every_thumbnail_opens_the_photos_page_with_source_licence_detections_and_reason(tmp_path: Path):
    report = build_report(build_project(tmp_path))
    html = report.index.read_text()
    links = re.findall(r'<a href="(items/[0-9a-f]{64}\.html)"', html)
    assert links and all((tmp_path / "report" / link).is_file() for link in links)
    assert report.items == 6
    rejected = (tmp_path / "report/items" / f"{image_id(2)}.html").read_text()
    assert '<dd id="decision">rejected</dd>' in rejected and '<dd id="reason">no_bag</dd>' in rejected
    assert '<a href="https://stock.example/photo/2.jpg" rel="noopener noreferrer">' in rejected
    assert "getty" in rejected and "royalty-free" in rejected
    kept = (tmp_path / "report/items" / f"{image_id(3)}.html").read_text()
    for caption in ("the photo at full size", "detections: person (red), bag (blue)", "person mask",
                    "person cut out", "strip: kept (kept)"):  # fmt: skip
        assert caption in kept
    # the boxes are drawn on the photo: red at the person box's left edge
    boxes = Image.open(tmp_path / f"report/assets/items/{image_id(3)}-boxes.png").convert("RGB")
    assert boxes.getpixel((8, 60)) == (220, 40, 40)
    for src in re.findall(r'src="([^"]+)"', kept):
        assert (tmp_path / "report/items" / src).resolve().is_file()


def test_a_source_url_that_is_not_http_is_shown_but_not_linked(tmp_path: Path):
    build_report(build_project(tmp_path))
    page = (tmp_path / "report/items" / f"{image_id(1)}.html").read_text()
    assert "javascript:alert(1)" in page and 'href="javascript' not in page


def test_a_crawled_title_or_licence_holding_markup_renders_as_text(tmp_path: Path):
    build_report(build_project(tmp_path))
    page = (tmp_path / "report/items" / f"{image_id(0)}.html").read_text()
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;Bag &lt;b&gt;shoot&lt;/b&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt; royalty-free" in page
    assert HOSTILE_TITLE not in page and HOSTILE_LICENSE not in page


def test_pages_are_self_contained(tmp_path: Path):
    build_report(build_project(tmp_path))
    for page in [tmp_path / "report/index.html", *(tmp_path / "report/items").glob("*.html")]:
        text = page.read_text()
        for url in re.findall(r'src="([^"]+)"', text) + re.findall(r'<link[^>]+href="([^"]+)"', text):
            assert "://" not in url and not url.startswith("//"), (page.name, url)
            assert (page.parent / url).resolve().is_relative_to((tmp_path / "report/assets").resolve())
