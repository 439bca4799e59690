"""Benchmark: the Scrapy crawl vs a sequential `requests` loop, and the cost of a 1 % refresh.

One run against the fixture stock site (default 2,000 images, 50 ms latency per request):
1. the full `adgen crawl` (four sites, one Scrapy process each): images/s, wall time, requests;
2. the reference implementation's approach: one `requests` call after another (search page →
   detail page → image → sha256 → file), timed on the first `--baseline-images` photos (its rate is
   steady, so the sample gives images/s);
3. the site grows by 1 % and `adgen crawl` runs again: requests and time as a share of the full crawl.

The site is served by `--server-processes` forked processes (default 3): served from one process, the
server competed with the two Scrapy processes for the 2 cores and about a third of runs were twice as
slow. `--runs N` repeats the full crawl N times (a fresh workspace each) and prints min/median/max
and the spread (max/min), so a figure's steadiness is part of the output.

Photos are rendered once before timing (a real CDN serves stored bytes; rendering them on demand
would make the fixture server the bottleneck of both crawlers). Not a test: prints a table; the last
line is the headline ratio.

    .venv/bin/python bench/crawl.py [--images 2000] [--latency-ms 50] [--baseline-images 300] \
        [--server-processes 3] [--runs 1]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

import requests
import yaml
from parsel import Selector

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adgen import config  # noqa: E402
from adgen.crawl.stage import crawl  # noqa: E402
from adgen.fixtures.site import payloads  # noqa: E402
from adgen.fixtures.site.pool import FixtureSitePool  # noqa: E402
from adgen.fixtures.site.server import FixtureSite  # noqa: E402

PROFILE = {
    "spider": "profile",
    "start_urls": ["search?q={query}"],
    "result_links": "a.result::attr(href)",
    "next_page": "a.next::attr(href)",
    "image_url": "img#main::attr(src)",
    "title": "h1::text",
    "license": ".license::text",
}

# What the sequential loop needs per site: first search URL, result links, next link, detail image.
SEQUENTIAL = {
    "123rf": (
        "/123rf/stock-photo/{u}.html",
        "a.ImageThumbnail__link::attr(href)",
        "#imagesearch-btn-nextpg::attr(href)",
        "img#mainImage::attr(src)",
    ),
    "depositphotos": (
        "/depositphotos/photos/{d}.html",
        "a.file-container__link::attr(href)",
        "a.pager__page-next::attr(href)",
        "img.file-view__image::attr(src)",
    ),
    "getty": (
        "/getty/photos/{d}?phrase={q}&page=1",
        "a[class*=MosaicAsset-module__link]::attr(href)",
        "[data-testid=pagination-button-next]::attr(href)",
        'img[data-testid="asset-image"]::attr(src)',
    ),
    "profile": ("/profile/search?q={q}", "a.result::attr(href)", "a.next::attr(href)", "img#main::attr(src)"),
}


def bench_params(root: Path, base_url: str, images: int) -> config.Params:
    crawl_params = {
        "base_url_override": base_url,
        "sites": {
            "123rf": {"spider": "123rf"},
            "depositphotos": {"spider": "depositphotos"},
            "getty": {"spider": "getty"},
            "profile": PROFILE,
        },
        "max_images": images,
        "max_pages": 1000,
        "min_width": 64,
        "min_height": 64,
        "download_delay": 0,
        "autothrottle": {"enabled": False},
        "concurrent_requests": 32,
        "concurrent_requests_per_domain": 16,
        "download_timeout": 30,
        "log_level": "WARNING",
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump({"crawl": crawl_params}))
    return config.load(root / "params.yaml")


def sequential_loop(base_url: str, queries: list[str], limit: int, out: Path) -> tuple[int, float, int]:
    """The reference approach: plain sequential requests, save each image under its sha256."""
    session = requests.Session()
    stored = requests_made = 0
    t0 = time.perf_counter()
    for site, (first, links, nxt, image) in SEQUENTIAL.items():
        for q in queries:
            url: str | None = base_url + first.format(
                u="_".join(q.lower().split()), d="-".join(q.lower().split()), q=requests.utils.quote(q)
            )
            while url and stored < limit * (list(SEQUENTIAL).index(site) + 1) // len(SEQUENTIAL):
                page = session.get(url, timeout=30)
                requests_made += 1
                sel = Selector(text=page.text)
                for href in sel.css(links).getall():
                    detail = session.get(urljoin(url, href), timeout=30)
                    requests_made += 1
                    src = Selector(text=detail.text).css(image).get()
                    if detail.status_code != 200 or not src:
                        continue
                    img = session.get(urljoin(detail.url, src), timeout=30)
                    requests_made += 1
                    if img.status_code == 200:
                        sha = hashlib.sha256(img.content).hexdigest()
                        (out / f"{sha}.jpg").write_bytes(img.content)
                        stored += 1
                nxt_href = sel.css(nxt).get()
                url = urljoin(url, nxt_href) if nxt_href else None
    return stored, time.perf_counter() - t0, requests_made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--baseline-images", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--server-processes", type=int, default=3, help="processes serving the fixture site")
    ap.add_argument("--runs", type=int, default=1, help="full crawls to time (min/median/max, spread)")
    args = ap.parse_args()

    site = FixtureSite(images=args.images, seed=args.seed, latency_ms=args.latency_ms, hostile=False)
    site.cache = payloads.PhotoCache(site.seed, max_bytes_entries=4 * args.images + 64)
    t = time.perf_counter()
    site.ground_truth()  # rendered before the serving processes fork: they inherit the bytes
    print(
        f"rendered {args.images} fixture photos in {time.perf_counter() - t:.0f} s (not timed)",
        file=sys.stderr,
    )
    queries = list(site.layout.queries)

    with (
        FixtureSitePool(site, processes=args.server_processes) as served,
        tempfile.TemporaryDirectory(prefix="adgen-bench-") as tmp,
    ):
        root = Path(tmp)
        rates = []
        for run in range(args.runs):
            params = bench_params(root / f"scrapy-{run}", base_url=served.base_url, images=args.images)
            mark = len(served.requests)
            t = time.perf_counter()
            full = crawl(params)
            full_s = time.perf_counter() - t
            full_requests = len(served.requests) - mark
            rates.append(full.new_images / full_s)
            print(f"run {run + 1}/{args.runs}: {rates[-1]:.1f} images/s ({full_s:.1f} s)", file=sys.stderr)

        seq_dir = root / "sequential"
        seq_dir.mkdir()
        seq_n, seq_s, seq_requests = sequential_loop(served.base_url, queries, args.baseline_images, seq_dir)

        new = served.add_images(max(1, args.images // 100))
        site.ground_truth()
        mark = len(served.requests)
        t = time.perf_counter()
        refresh = crawl(params)
        refresh_s = time.perf_counter() - t
        refresh_requests = len(served.requests) - mark

    scrapy_rate = statistics.median(rates)  # the last run's images and seconds, the median's rate
    seq_rate = seq_n / seq_s
    rows = [
        (
            f"Scrapy crawl (adgen crawl, 4 sites; median of {len(rates)})",
            full.new_images,
            f"{full_s:.1f}",
            full_requests,
            f"{scrapy_rate:.1f}",
        ),
        ("sequential requests loop (sample)", seq_n, f"{seq_s:.1f}", seq_requests, f"{seq_rate:.1f}"),
        (
            f"refresh after +{len(new)} images (1 %)",
            refresh.new_images,
            f"{refresh_s:.1f}",
            refresh_requests,
            "-",
        ),
    ]
    print(
        f"\nfixture site: {args.images} images, {args.latency_ms:g} ms latency per request, "
        f"served by {args.server_processes} processes\n"
    )
    head = ("run", "images", "seconds", "requests", "images/s")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(5)]
    for r in [head, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    print(
        f"\nrefresh: {refresh_requests / full_requests:.1%} of the full crawl's requests, "
        f"{refresh_s / full_s:.1%} of its time (goal <= 5 %)"
    )
    if len(rates) > 1:
        print(
            f"full crawl over {len(rates)} runs, images/s min / median / max: {min(rates):.1f} / "
            f"{statistics.median(rates):.1f} / {max(rates):.1f}; spread (max/min) {max(rates) / min(rates):.2f}x "
            "(goal < 1.3x)"
        )
    print(f"headline: Scrapy crawl {scrapy_rate / seq_rate:.1f}x the sequential loop's images/s (goal >= 5x)")


if __name__ == "__main__":
    main()
