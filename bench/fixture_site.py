"""Benchmark: how fast the fixture stock site draws and serves photos (is it ever the bottleneck?).

1. Rendering: photos/s drawing + JPEG-encoding one after another, vs `FixtureSite.warm()` (worker
   processes, one per core).
2. Serving warmed photos over HTTP on 127.0.0.1 with `--latency-ms` per request: one request after
   another vs `--concurrency` threads (the server is threaded, so latency overlaps).

Not a test: prints a table; the last line is the headline ratio.

    .venv/bin/python bench/fixture_site.py [--images 200] [--latency-ms 50] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from adgen.fixtures.site import payloads
from adgen.fixtures.site.server import FixtureSite


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    n = args.images

    cache = payloads.PhotoCache(seed=1)
    started = time.perf_counter()
    for i in range(n):
        cache.photo(i)
    sequential_render = n / (time.perf_counter() - started)

    rows = [("render, one after another", f"{sequential_render:.1f} photos/s")]
    with FixtureSite(images=n, seed=2, latency_ms=args.latency_ms, hostile=False) as site:
        started = time.perf_counter()
        site.warm()
        parallel_render = n / (time.perf_counter() - started)
        rows.append((f"render, warm() on {os.cpu_count()} cores", f"{parallel_render:.1f} photos/s"))
        urls = [site.base_url + site.item(i).image_path for i in range(n)]

        session = requests.Session()
        started = time.perf_counter()
        for url in urls:
            session.get(url, timeout=30).raise_for_status()
        sequential = n / (time.perf_counter() - started)

        def fetch(url: str) -> int:
            return len(requests.get(url, timeout=30).content)

        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            total = sum(pool.map(fetch, urls))
        concurrent = n / (time.perf_counter() - started)
    rows.append((f"serve, sequential, {args.latency_ms:g} ms latency", f"{sequential:.1f} images/s"))
    rows.append(
        (f"serve, {args.concurrency} threads, {args.latency_ms:g} ms latency", f"{concurrent:.1f} images/s")
    )
    rows.append(("mean photo size", f"{total / n / 1024:.0f} KiB"))

    width = max(len(r[0]) for r in rows)
    print(f"fixture site, {n} photos (machine: {os.cpu_count()} cores, shared: figures are contended)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>16}")
    print(
        f"headline: serving warmed photos with {args.concurrency} threads is {concurrent / sequential:.1f}x "
        f"sequential; warm() renders {parallel_render / sequential_render:.1f}x faster than one by one"
    )


if __name__ == "__main__":
    main()
