"""The distributed crawl: `adgen crawl --node NAME` runs one crawler node; `--merge-nodes` folds them.

A node crawls the enabled sites from the shared frontier in Redis (`crawl.frontier`; rules in
adgen/crawl/frontier.py) in its own Scrapy process and its own workspace,
`paths.raw/.crawl/nodes/<NAME>/`: job files, logs, per-site journals and stats, and `store/`,
where its process spools its photos into its own shards. Nothing a node writes is shared with
another node except through Redis, so a node may run on any machine (its workspace is then copied,
or lives on a shared filesystem, before the merge).

The merge takes every finished node's workspace (a node killed with -9 counts: its journal and spool
are whole up to its last fsynced photo, and the store cuts a torn spool back), moves its spools
into the raw store, and folds all journals into one new version of data/raw in one step: every
photo once (sha256), the same manifest columns as the single-machine crawl, per-node statistics
in crawl_stats.json. Run it after the nodes finish; a second run with nothing new is a no-op.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adgen import atomic, manifest, safety
from adgen.config import Params
from adgen.crawl import jobs, journal, merge, seen, stage
from adgen.errors import UserError
from adgen.store import layout

NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
NODES_DIR = "nodes"


def workspace(params: Params, node: str) -> Path:
    return stage.paths(params)["state"] / NODES_DIR / node


def _check_name(node: str) -> str:
    if not NODE_NAME.fullmatch(node) or node in {".", ".."}:
        raise UserError(
            f"--node {node!r}: use letters, digits, '_', '-', '.' (at most 63, not starting with . - _)"
        )
    return node


def _frontier(params: Params) -> str:
    if not params.crawl.frontier:
        raise UserError(
            "--node needs crawl.frontier (redis://host:port/db) in params.yaml; see docs/crawl.md"
        )
    return params.crawl.frontier


def check_frontier(url: str) -> None:
    """One line when Redis cannot be reached, before any Scrapy process starts."""
    import redis

    from adgen.crawl import frontier

    try:
        frontier.connect(url).ping()
    except redis.RedisError as exc:
        raise UserError(f"crawl.frontier {url}: cannot reach Redis ({exc})") from None


def cluster_block(params: Params, site: str, node: str) -> dict[str, Any]:
    """What crawlers/frontier.py needs for one site on this node (the job's `cluster`)."""
    c, cl = params.crawl, params.crawl.cluster
    return {
        "url": c.frontier,
        "site": site,
        "node": node,
        "lease_seconds": cl.lease_seconds,
        "poll_seconds": cl.poll_seconds,
        "seen_filter": cl.seen_filter,
        "bloom_capacity": cl.bloom_capacity,
        "bloom_error_rate": cl.bloom_error_rate,
        "site_concurrency": c.concurrent_requests_per_domain,
        "interval_s": c.download_delay,
        "slot_ttl_s": c.download_timeout + 10.0,
    }


def crawl_node(
    params: Params,
    node: str,
    sites: list[str] | None = None,
    max_images: int | None = None,
    on_progress: Callable[[list[stage.SiteProgress]], None] | None = None,
    poll_s: float = 0.3,
) -> dict[str, dict[str, Any]]:
    """Run one crawler node until every site's shared frontier is drained; returns per-site stats.

    Its photos and journals stay in its workspace for `merge_nodes`.
    """
    t0 = time.monotonic()
    url = _frontier(params)
    _check_name(node)
    check_frontier(url)
    names = jobs.pick_sites(params.crawl, sites)
    p = stage.paths(params)
    ws = workspace(params, node)
    with safety.flock(
        p["state"] / "locks" / f"node-{node}.lock",
        fcntl.LOCK_EX | fcntl.LOCK_NB,
        busy=f"node {node} is already running on this machine",
    ):
        # What this machine's manifest knows is skipped too (a node far from it knows nothing here:
        # the seen-set in Redis is what the cluster remembers).
        known = seen.collect(
            manifest.read(p["manifest"], merge.MANIFEST_COLUMNS),
            manifest.read(p["rejects"], merge.REJECT_COLUMNS),
            sorted((ws / "journals").glob("*.jsonl")),
        )
        with safety.writing(ws):
            ws.mkdir(parents=True, exist_ok=True)
            known.save(ws / "seen.json")
        store = ws / "store"
        site_jobs = []
        for name in names:
            job = jobs.build(
                params.crawl,
                name,
                root=params.root,
                raw_dir=p["raw"],
                state=ws,
                seen_file=ws / "seen.json",
                max_images=max_images,
                store={
                    "dir": str(store),
                    "max_samples": params.store.shard_max_samples,
                    "max_bytes": params.store.shard_max_bytes,
                    "label": f"{node}-{name}",
                },
            )
            job.spec["cluster"] = cluster_block(params, name, node)
            job.spec["settings"].pop("JOBDIR", None)  # the queue is in Redis
            job.spec["settings"]["LOG_FILE"] = str(ws / "node.log")
            job.stats_file.unlink(missing_ok=True)
            atomic.write_json(job.job_file, job.spec)
            site_jobs.append(job)
        tails = {j.site: journal.JournalTail(j.journal) for j in site_jobs}
        progress = [stage.SiteProgress(j.site, int(j.spec["max_images"])) for j in site_jobs]
        with safety.writing(ws), open(ws / "node.stderr", "ab") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "crawlers.run", *(str(j.job_file) for j in site_jobs)],
                cwd=params.root,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            try:
                stage._watch({j.site: proc for j in site_jobs}, tails, progress, on_progress, poll_s)
            except KeyboardInterrupt:
                with contextlib.suppress(KeyboardInterrupt):
                    proc.wait()  # it got the same Ctrl-C: gives its leases back and stops
                raise
        elapsed = time.monotonic() - t0
        stats = {j.site: stage.site_stats(j.stats_file, elapsed) for j in site_jobs}
        if proc.returncode != 0:
            raise UserError(f"node {node}: crawl exited with status {proc.returncode}; see {ws / 'node.log'}")
        if any(s["finish_reason"] == "frontier_lost" for s in stats.values()):
            raise UserError(
                f"node {node}: lost the frontier at {url} (Redis down?); what it stored is kept in {ws}"
                " for `adgen crawl --merge-nodes`; run the node again once Redis is back"
            )
        return stats


def _node_dirs(state: Path) -> list[Path]:
    root = state / NODES_DIR
    return (
        sorted(d for d in root.iterdir() if d.is_dir() and NODE_NAME.fullmatch(d.name))
        if root.is_dir()
        else []
    )


def merge_nodes(params: Params) -> stage.CrawlSummary:
    """Fold every node workspace under paths.raw/.crawl/nodes into data/raw, as one new version."""
    t0 = time.monotonic()
    p = stage.paths(params)
    state = p["state"]
    dirs = _node_dirs(state)
    if not dirs:
        raise UserError(f"no node workspace under {state / NODES_DIR}: run `adgen crawl --node NAME` first")
    with safety.flock(state / "locks" / "merge.lock", fcntl.LOCK_EX):
        running = [d.name for d in dirs if _running(state, d.name)]
        if running:
            raise UserError(f"node {running[0]} is still crawling; merge when every node has finished")
        journals: list[Path] = []
        nodes: dict[str, dict[str, Any]] = {}
        for d in dirs:
            _adopt_spools(d / "store", p["store"])
            journals += sorted((d / "journals").glob("*.jsonl"))
            nodes[d.name] = {
                f.name.removesuffix(".stats.json"): stage.site_stats(f, 0.0)
                for f in sorted(d.glob("*.stats.json"))
            }
            for f in sorted((d / "journals").glob("*.jsonl")):
                nodes[d.name].setdefault(f.stem, stage.site_stats(d / "missing", 0.0))  # killed: no stats
        per_site = _sum_sites(nodes)
        summary = stage.fold(params, p, journals, per_site, time.monotonic() - t0, nodes=nodes)
        for d in dirs:
            shutil.rmtree(d)
        return summary


def _running(state: Path, node: str) -> bool:
    path = state / "locks" / f"node-{node}.lock"
    if not path.exists():
        return False
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def _adopt_spools(node_store: Path, store: Path) -> None:
    """Move a node's spool dirs into the raw store's staging, where the merge's writer takes them in
    (a rename on one filesystem; a dir already moved by a merge that was killed is simply gone)."""
    staging = node_store / layout.STAGING
    if not staging.is_dir():
        return
    target = store / layout.STAGING
    with safety.writing(target):
        target.mkdir(parents=True, exist_ok=True)
        for d in sorted(staging.iterdir()):
            if d.is_dir():
                d.rename(target / d.name)


def _sum_sites(nodes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per site, the nodes' counts added up; finish_reason `finished` only when every node's was."""
    out: dict[str, dict[str, Any]] = {}
    for per in nodes.values():
        for site, row in per.items():
            total = out.setdefault(site, {"finish_reason": "finished"})
            for k, v in row.items():
                if k == "finish_reason":
                    if v != "finished":
                        total[k] = v
                elif isinstance(v, int | float):
                    total[k] = total.get(k, 0) + v
    return out


def node_summary_lines(stats: dict[str, dict[str, Any]]) -> list[str]:
    return [
        f"  {site}: {s['requests']} requests, {s['images_stored']} stored, {s['rejected']} rejected,"
        f" {s.get('refetched', 0)} taken over from dead nodes ({s['finish_reason']})"
        for site, s in stats.items()
    ]


def stats_json(stats: dict[str, Any]) -> str:
    return json.dumps(stats, indent=2, sort_keys=True)
