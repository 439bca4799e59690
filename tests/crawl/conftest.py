"""Shared helpers for the crawl tests: params files in tmp dirs and a tiny hand-written site."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from adgen import config

# Fast, test-sized crawl settings. The timeout leaves room for a busy CI machine; tests that want the
# fixture's `timeout` case rejected serve it slower than that (FixtureSite(slow_seconds=...)).
FAST = {
    "download_delay": 0,
    "download_timeout": 4.0,
    "retry_times": 1,
    "retry_backoff": 0.05,
    "autothrottle": {"enabled": False},
    "concurrent_requests": 16,
    "concurrent_requests_per_domain": 8,
    "max_image_bytes": 8 * 1024 * 1024,
    "min_width": 64,
    "min_height": 64,
    "log_level": "INFO",
}


def write_params(root: Path, crawl: dict[str, Any]) -> config.Params:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump({"crawl": {**FAST, **crawl}}, sort_keys=False))
    return config.load(path)


def photo(index: int, size: tuple[int, int] = (160, 200)) -> bytes:
    """A distinct little JPEG per index: random 6x6 colour blocks, so perceptual hashes differ."""
    rng = np.random.default_rng(1000 + index)
    blocks = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize(size, Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


class TinySite:
    """A few pages in the markup of the profile example in the issue, with a request log."""

    def __init__(self, pages: dict[str, tuple[int, str, bytes]]):
        self.pages = pages
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.requests.append(self.path)
                status, ctype, body = site.pages.get(self.path, (404, "text/html", b"<h1>404</h1>"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TinySite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def tiny_pages(n: int = 5, per_page: int = 3) -> dict[str, tuple[int, str, bytes]]:
    html = "text/html; charset=utf-8"
    pages: dict[str, tuple[int, str, bytes]] = {
        "/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /private/\n"),
        "/private/item/99": (200, html, b"<h1>secret</h1>"),
    }
    ids = list(range(n))
    for page_no, start in enumerate(range(0, n, per_page), start=1):
        links = "".join(
            f'<a class="result" href="/item/{i}">photo {i}</a>' for i in ids[start : start + per_page]
        )
        if page_no == 1:
            links += '<a class="result" href="/private/item/99">private</a>'
            links += '<a class="result" href="http://elsewhere.invalid/item/7">elsewhere</a>'
        nxt = (
            f'<a class="next" href="/search?q=handbag&amp;page={page_no + 1}">next</a>'
            if start + per_page < n
            else ""
        )
        pages[f"/search?q=handbag&page={page_no}"] = (
            200,
            html,
            f"<html><body>{links}{nxt}</body></html>".encode(),
        )
    for i in ids:
        body = f'<h1>Photo {i}</h1><img id="main" src="/img/{i}.jpg"><p class="license">CC BY 4.0</p>'
        pages[f"/item/{i}"] = (200, html, body.encode())
        pages[f"/img/{i}.jpg"] = (200, "image/jpeg", photo(i))
    return pages


@pytest.fixture
def tiny_site() -> Iterator[TinySite]:
    with TinySite(tiny_pages()) as site:
        yield site


def profile_site(base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "spider": "profile",
        "start_urls": [f"{base_url}/search?q=handbag&page=1"],
        "allowed_domains": ["127.0.0.1"],
        "result_links": "a.result::attr(href)",
        "next_page": "a.next::attr(href)",
        "image_url": "img#main::attr(src)",
        "title": "h1::text",
        "license": ".license::text",
        **extra,
    }


def fixture_crawl_params(
    root: Path, base_url: str, only: tuple[str, ...] | None = None, **crawl: Any
) -> config.Params:
    """Params that crawl every site (or `only` these) of the fixture stock site, like the demo preset."""
    sites = {
        "123rf": {"spider": "123rf"},
        "depositphotos": {"spider": "depositphotos"},
        "getty": {"spider": "getty"},
        "profile": {
            "spider": "profile",
            "start_urls": ["search?q={query}"],
            "result_links": "a.result::attr(href)",
            "next_page": "a.next::attr(href)",
            "image_url": "img#main::attr(src)",
            "title": "h1::text",
            "license": ".license::text",
        },
    }
    for name, site in sites.items():
        site["enabled"] = only is None or name in only
    return write_params(root, {"base_url_override": base_url, "sites": sites, **crawl})


def warm(site: Any) -> dict[str, Any]:
    """Render every fixture payload once, so the server answers within the test timeouts.

    Photos are rendered on demand (~50 ms each) and the decompression-bomb PNG takes ~1.5 s to build;
    on a busy machine that alone can exceed the 2 s download timeout the tests use.
    """
    from adgen.fixtures.site import payloads

    truth = site.ground_truth()  # renders and hashes every listed photo
    for case in site.hostile:
        site.cache.photo(case.item.index)
    payloads.decompression_bomb_png()
    return truth
