"""Benchmark: the distributed crawl (`adgen crawl --node`) with 1, 2 and 4 nodes over one Redis.

Against the fixture stock site (four sites, hostile cases off, photos rendered before timing):
1. **Scaling, politeness not binding**: a latency-bound site (`--latency-ms`, default 250 ms) and a
   fixed per-node concurrency (`--per-node`, default 4 requests in flight: 1 per site's crawler),
   so that a node is bound by waiting, not by CPU, and 4 nodes fit a 2-core machine;
   `download_delay` 0 and a cluster-wide per-site concurrency of 64. images/s while every node is
   crawling (from the last node's first stored photo to the last photo, from the nodes' journals):
   node start-up, seconds of Python and Scrapy imports per node, is not throughput; the wall time
   with it is printed too.
2. **Politeness binding**: 4 nodes, 50 ms latency, `download_delay` `--interval` (default 0.1 s,
   i.e. 10 requests/s per site): each site's peak requests in any second and its mean rate over its
   crawl window (first to last request), against the limit (goal: never above it, >= 90 % of it).
3. **Seen-set memory**: Redis bytes (MEMORY USAGE) for `--seen` (default 1,000,000) 20-byte request
   fingerprints in a set, and in a Bloom filter sized for them at 1e-6 false positives, per million.

Each run gets a fresh Redis (redis-server on 127.0.0.1, no persistence) and a fresh workspace. Not a
test: prints a table; the last line is the headline ratio (4 nodes vs 1).

    .venv/bin/python bench/crawl_cluster.py [--images 400] [--latency-ms 250] [--per-node 4] \
        [--interval 0.1] [--seen 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adgen.crawl import frontier, nodes  # noqa: E402
from tests.crawl.cluster_helpers import SITE_PREFIXES, peak_in_window, redis_server, timed_site  # noqa: E402
from tests.crawl.conftest import fixture_crawl_params  # noqa: E402


def run_cluster(site, url: str, n: int, per_node: int, site_concurrency: int, interval: float) -> dict:
    frontier.connect(url).flushdb()
    with tempfile.TemporaryDirectory(prefix="adgen-bench-cluster-") as tmp:
        root = Path(tmp)
        params = fixture_crawl_params(
            root,
            site.base_url,
            frontier=url,
            cluster={"poll_seconds": 0.1},
            download_delay=interval,
            download_timeout=30,
            concurrent_requests=max(1, per_node // len(SITE_PREFIXES)),  # a node crawls the 4 sites at once
            concurrent_requests_per_domain=site_concurrency,
            log_level="WARNING",
        )
        mark = len(site.requests)
        t0 = time.monotonic()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "adgen.cli",
                    "--params",
                    str(root / "params.yaml"),
                    "crawl",
                    "--node",
                    f"n{i}",
                ],
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for i in range(n)
        ]
        for proc in procs:
            _, err = proc.communicate()
            if proc.returncode:
                raise SystemExit(err.decode()[-2000:])
        wall = time.monotonic() - t0
        steady = _steady_rate(root)
        summary = nodes.merge_nodes(params)
        reqs = site.requests[mark:]
    times = [r["at"] for r in reqs]
    return {
        "nodes": n,
        "images": summary.new_images,
        "requests": len(reqs),
        "window_s": max(times) - min(times),
        "wall_s": wall,
        "steady": steady,
        "per_site": {
            s: sorted(r["at"] for r in reqs if r["path"].startswith(p)) for s, p in SITE_PREFIXES.items()
        },
    }


def _steady_rate(root: Path) -> tuple[int, float]:
    """(photos, seconds) stored while every node was crawling: from the moment the last node to start
    stored its first photo to the last photo stored (node start-up, seconds of imports each on a
    shared 2-core machine, is not part of a node's throughput)."""
    from datetime import datetime

    from adgen.crawl import journal

    per_node: list[list[float]] = []
    for ws in sorted((root / "data/raw/.crawl/nodes").iterdir()):
        stamps = [
            datetime.fromisoformat(row["crawled_at"]).timestamp()
            for path in (ws / "journals").glob("*.jsonl")
            for kind, row in journal.read(path)
            if kind == journal.IMAGE
        ]
        if stamps:
            per_node.append(sorted(stamps))
    start = max(s[0] for s in per_node)
    end = max(s[-1] for s in per_node)
    count = sum(1 for s in per_node for t in s if start < t <= end)
    return count, end - start


def seen_memory(url: str, count: int) -> dict[str, float]:
    server = frontier.connect(url)
    server.flushdb()
    out = {}
    for kind in ("set", "bloom"):
        seen = frontier.SeenSet(server, "bench", kind, capacity=count, error_rate=1e-6)
        t0 = time.monotonic()
        for start in range(0, count, 10_000):
            seen.add_many(
                [
                    hashlib.sha1(f"{kind}{i}".encode()).digest()
                    for i in range(start, min(count, start + 10_000))
                ]
            )
        out[kind] = seen.memory_bytes() / 2**20 * (1_000_000 / count)
        out[f"{kind}_s"] = time.monotonic() - t0
    return out


def scaling(url: str, args: argparse.Namespace) -> dict[int, float]:
    print(
        f"## 1. scaling: {args.images} photos, {args.latency_ms:.0f} ms latency,"
        f" {args.per_node} requests in flight per node"
    )
    print(
        "| nodes | images | requests | photos / s while all nodes crawl | images/s | vs 1 node |"
        " first to last request s | wall s (with start-up) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    rates = {}
    with timed_site(images=args.images, seed=0, latency_ms=args.latency_ms, hostile=False) as site:
        site.ground_truth()
        for n in (1, 2, 4):
            r = run_cluster(site, url, n, args.per_node, 64, 0.0)
            count, seconds = r["steady"]
            rates[n] = count / seconds
            print(
                f"| {n} | {r['images']} | {r['requests']} | {count} / {seconds:.1f} | {rates[n]:.1f} | "
                f"{rates[n] / rates[1]:.2f}x | {r['window_s']:.1f} | {r['wall_s']:.1f} |",
                flush=True,
            )
    return rates


def politeness(url: str, args: argparse.Namespace) -> list[float]:
    limit = 1 / args.interval
    print(
        f"\n## 2. politeness binding: 4 nodes, limit {limit:.0f} requests/s per site"
        f" (download_delay {args.interval}); arrivals at the site"
    )
    print(
        "| site | requests | peak in any 1 s | peak in any 5 s | mean over its window | share of limit |"
        " middle 80 % of its requests |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    with timed_site(images=args.images, seed=1, latency_ms=50, hostile=False) as site:
        site.ground_truth()
        r = run_cluster(site, url, 4, args.per_node, 64, args.interval)
    shares = []
    for s, times in r["per_site"].items():
        mean = (len(times) - 1) / (times[-1] - times[0])
        lo, hi = len(times) // 10, len(times) - 1 - len(times) // 10
        middle = (hi - lo) / (times[hi] - times[lo])  # without the start (few pages known yet) and the tail
        shares.append(mean / limit)
        print(
            f"| {s} | {len(times)} | {peak_in_window(times, 1.0)} | {peak_in_window(times, 5.0)} |"
            f" {mean:.2f}/s | {mean / limit:.0%} | {middle / limit:.0%} |",
            flush=True,
        )
    return shares


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--latency-ms", type=float, default=250)
    ap.add_argument("--per-node", type=int, default=4)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--seen", type=int, default=1_000_000)
    ap.add_argument("--parts", default="123", help="which parts to run, e.g. 2 or 13")
    args = ap.parse_args()

    rates: dict[int, float] = {}
    shares: list[float] = []
    with redis_server() as url:
        if "1" in args.parts:
            rates = scaling(url, args)
        if "2" in args.parts:
            shares = politeness(url, args)
        if "3" in args.parts:
            mem = seen_memory(url, args.seen)
            print(f"\n## 3. seen-set memory in Redis ({args.seen:,} fingerprints)")
            print("| seen_filter | MiB per million URLs | insert time s |")
            print("|---|---:|---:|")
            print(f"| set | {mem['set']:.1f} | {mem['set_s']:.1f} |")
            print(f"| bloom (1e-6) | {mem['bloom']:.1f} | {mem['bloom_s']:.1f} |")
    headline = []
    if rates:
        headline.append(f"4 nodes: {rates[4] / rates[1]:.2f}x the images/s of 1 node (goal >= 3.2x)")
    if shares:
        headline.append(
            f"politeness binding: {min(shares):.0%}-{max(shares):.0%} of the per-site limit (goal >= 90 %)"
        )
    print("\n" + "; ".join(headline))


if __name__ == "__main__":
    main()
