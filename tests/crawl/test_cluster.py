"""Done-when of the distributed crawl: 3 nodes over one Redis frontier, one killed with -9 mid-crawl."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from adgen.crawl import frontier, nodes
from tests.crawl.cluster_helpers import (
    SITE_PREFIXES,
    peak_in_window,
    redis_available,
    redis_process,
    redis_server,
    timed_site,
)
from tests.crawl.conftest import fixture_crawl_params, warm
from tests.store.helpers import raw_store_agrees_with_manifest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not redis_available(), reason="redis-server is not installed (apt install redis-server)"
    ),
]

INTERVAL = 0.1  # download_delay: at most 10 requests/s per site, from all nodes together
NODES = ("n0", "n1", "n2")
VICTIM = "n1"


def _start(root: Path, node: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "adgen.cli", "--params", str(root / "params.yaml"), "crawl", "--node", node],
        cwd=root,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _journal_images(root: Path, node: str) -> list[dict]:
    rows = []
    for path in (root / "data/raw/.crawl/nodes" / node / "journals").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            if entry.get("kind") == "image":
                rows.append(entry["row"])
    return rows


def test_three_nodes_one_killed_store_every_photo_once_politely(tmp_path):
    with redis_server() as url, timed_site(images=36, seed=5, latency_ms=20, slow_seconds=6) as site:
        truth = warm(site)
        params = fixture_crawl_params(
            tmp_path,
            site.base_url,
            frontier=url,
            cluster={"lease_seconds": 3, "poll_seconds": 0.1},
            download_delay=INTERVAL,
            concurrent_requests=4,
            concurrent_requests_per_domain=2,
        )
        server = frontier.connect(url)
        procs = {node: _start(tmp_path, node) for node in NODES}
        try:
            # Kill the victim while it holds leases and has stored photos of its own.
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and procs[VICTIM].poll() is None:
                holding = any(
                    frontier.Frontier(server, s, "probe", 1).leases_of(VICTIM) for s in SITE_PREFIXES
                )
                if holding and len(_journal_images(tmp_path, VICTIM)) >= 2:
                    break
                time.sleep(0.02)
            os.killpg(procs[VICTIM].pid, signal.SIGKILL)
            killed_at = time.monotonic()
            procs[VICTIM].wait()
            leased = {
                s: frontier.Frontier(server, s, "probe", 1).leases_of(VICTIM) for s in SITE_PREFIXES
            }  # read before any lease can run out (3 s)
            victim_images = _journal_images(tmp_path, VICTIM)
            assert sum(map(len, leased.values())), "the victim held no lease when it was killed"
            assert len(victim_images) >= 2, "the victim had stored nothing when it was killed"
            for node in NODES:
                if node != VICTIM:
                    _, err = procs[node].communicate(timeout=150)
                    assert procs[node].returncode == 0, err.decode()[-2000:]
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        summary = nodes.merge_nodes(params)
        requests = site.requests

    # Every photo the site publishes is stored exactly once (the victim's spooled photos included).
    m = pd.read_parquet(tmp_path / "data/raw/manifest.parquet")
    published = {sha for sha, t in truth["images"].items() if not t["hostile"]}
    assert not published - set(m["image_id"]), (
        f"{len(published - set(m['image_id']))} published photos missing"
    )
    assert not m["image_id"].duplicated().any()
    assert {r["image_id"] for r in victim_images} <= set(m["image_id"])
    raw_store_agrees_with_manifest(tmp_path)  # one copy of each photo in the store, nothing left staged
    assert set(m.columns) >= {"image_id", "site", "query", "source_url", "page_url", "shard", "member"}

    # Nothing offsite or disallowed was requested; robots.txt once for the whole cluster.
    paths = [r["path"] for r in requests]
    assert not [p for p in paths if "/private/" in p]
    assert not [p for p in paths if p.startswith("http") or "example.invalid" in p]
    assert paths.count("/robots.txt") == 1
    rejects = pd.read_parquet(tmp_path / "data/raw/rejects.parquet")
    assert {"robots", "offsite"} <= set(rejects["reason"])

    # The per-site rate held for the cluster: at most W/INTERVAL requests in any W seconds, +2 for
    # sends that a busy machine delayed into the next window (the server sees arrivals, not the
    # reserved send times). Without the shared clock 3 nodes send several times that.
    for site_name, prefix in SITE_PREFIXES.items():
        times = [r["at"] for r in requests if r["path"].startswith(prefix)]
        assert len(times) > 15, site_name
        for window in (1.0, 2.0, 3.0):
            peak = peak_in_window(times, window)
            limit = window / INTERVAL
            assert peak <= limit + 2, f"{site_name}: {peak} requests within {window} s (limit {limit:.0f})"

    # The victim's leased requests were fetched again, after the kill, by the other nodes.
    after = {r["path"] for r in requests if r["at"] > killed_at}
    for site_name, held in leased.items():
        for payload in held.values():
            url = json.loads(payload)["__dict__"]
            url = dict((k, v) for k, v in url)["url"]
            assert "/" + url.split("/", 3)[3] in after, (
                f"{site_name}: {url} leased by the dead node, never refetched"
            )
    stats = json.loads((tmp_path / "data/raw/crawl_stats.json").read_text())
    assert set(stats["nodes"]) == set(NODES)
    refetched = sum(
        row.get("refetched", 0)
        for node, per in stats["nodes"].items()
        if node != VICTIM
        for row in per.values()
    )
    assert refetched >= sum(map(len, leased.values()))
    assert summary.new_images == len(m)
    assert not (tmp_path / "data/raw/.crawl/nodes").exists() or not list(
        (tmp_path / "data/raw/.crawl/nodes").iterdir()
    )


def _run_nodes(root: Path, names: tuple[str, ...]) -> None:
    procs = [_start(root, n) for n in names]
    for proc in procs:
        _, err = proc.communicate(timeout=150)
        assert proc.returncode == 0, err.decode()[-2000:]


def test_refresh_from_fresh_nodes_fetches_only_new_photos_the_bloom_filter_remembers(tmp_path):
    search = tuple(
        SITE_PREFIXES[s] + p
        for s, p in (
            ("123rf", "stock-photo/"),
            ("depositphotos", "photos/"),
            ("getty", "photos/"),
            ("profile", "search"),
        )
    )
    with redis_server() as url, timed_site(images=24, seed=9, hostile=False) as site:
        warm(site)
        crawl = {
            "frontier": url,
            "cluster": {"seen_filter": "bloom", "bloom_capacity": 10_000, "poll_seconds": 0.1},
        }
        first = tmp_path / "first"
        params = fixture_crawl_params(first, site.base_url, download_timeout=10, **crawl)
        _run_nodes(first, ("a", "b"))
        assert nodes.merge_nodes(params).new_images == 24

        new = site.add_images(2)
        truth = warm(site)
        mark = len(site.requests)
        # Nodes on "other machines": a fresh workspace without the manifest; only Redis remembers.
        later = tmp_path / "later"
        # max_images 2: the new photos must be found although every other detail page on the search
        # pages is one these nodes' (empty) manifest does not know; only the cluster's seen-set does
        params = fixture_crawl_params(later, site.base_url, download_timeout=10, max_images=2, **crawl)
        _run_nodes(later, ("c", "d"))
        refresh = [r["path"] for r in site.requests[mark:]]
        summary = nodes.merge_nodes(params)

    items = [t for t in truth["images"].values() if t.get("index") in new]
    expected = {t["image_url"] for t in items} | {t["detail_url"] for t in items}
    fetched = [p for p in refresh if p != "/robots.txt" and not p.startswith(search)]
    assert sorted(fetched) == sorted(expected)  # each new detail page and image once, nothing else
    assert [p for p in refresh if p.startswith(search)], "the refresh walks the search pages again"
    assert summary.new_images == 2


def test_a_node_that_loses_redis_stops_with_one_line_and_its_photos_are_merged(tmp_path):
    with (
        redis_process() as (url, redis_proc),
        timed_site(images=40, seed=4, latency_ms=50, hostile=False) as site,
    ):
        warm(site)
        params = fixture_crawl_params(
            tmp_path, site.base_url, frontier=url, download_delay=0.15, cluster={"poll_seconds": 0.1}
        )
        proc = _start(tmp_path, "a")
        deadline = time.monotonic() + 90
        while len(_journal_images(tmp_path, "a")) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        redis_proc.kill()  # Redis dies mid-crawl
        redis_proc.wait()
        stored = {r["image_id"] for r in _journal_images(tmp_path, "a")}
        _, err = proc.communicate(timeout=120)
        assert len(stored) >= 3
        assert proc.returncode != 0
        message = err.decode().strip().splitlines()
        assert "lost the frontier" in message[-1] and "Traceback" not in err.decode(), err.decode()[-2000:]
        nodes.merge_nodes(params)  # the merge needs no Redis

    m = pd.read_parquet(tmp_path / "data/raw/manifest.parquet")
    assert stored <= set(m["image_id"]) and len(m) < 40
    rejects = pd.read_parquet(tmp_path / "data/raw/rejects.parquet")
    assert not len(rejects), f"the lost frontier was blamed on URLs: {rejects['reason'].tolist()}"
    raw_store_agrees_with_manifest(tmp_path)


def test_max_images_counts_for_the_whole_cluster_not_per_node(tmp_path):
    with redis_server() as url, timed_site(images=24, seed=8, hostile=False) as site:
        warm(site)
        params = fixture_crawl_params(
            tmp_path,
            site.base_url,
            frontier=url,
            max_images=3,
            download_timeout=10,
            cluster={"poll_seconds": 0.1},
        )
        _run_nodes(tmp_path, ("a", "b"))
        nodes.merge_nodes(params)
    m = pd.read_parquet(tmp_path / "data/raw/manifest.parquet")
    assert m["site"].value_counts().to_dict() == dict.fromkeys(SITE_PREFIXES, 3)
