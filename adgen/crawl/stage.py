"""The crawl stage: one Scrapy subprocess per site, live progress, then a merge into data/raw.

Outputs under `paths.raw`:
- `manifest.parquet` (RAW_COLUMNS + phash, duplicate_of), the image store `store/` (shards + index,
  adgen.store; rows name their photo by shard and member),
- `rejects.parquet` (url, site, reason, detail, page_url, at), `crawl_stats.json` (DVC metrics).
Working state lives in `paths.raw/.crawl/` (journals, per-site JOBDIRs, logs) and is removed
when a crawl ends cleanly.

Sites are spread over one Scrapy subprocess per CPU core (`crawl.processes`).

Crash safety: the subprocess journals each stored/rejected download (fsync) after its bytes are
appended, fsynced, to the process's own open shard (adgen.store.spool); the merge links every
finished shard into the store, after cutting a killed process's back to its last whole photo. A
run killed at any point (even kill -9) leaves the last good manifest; the next run keeps
the killed run's journal, skips everything it records, and merges it with its own at the end, so
the result equals an uninterrupted crawl. A run stopped gracefully (Ctrl-C, a full disk) merges what
it stored, and those rows stay open to the rest of that crawl (adgen.crawl.provisional). Scrapy's
JOBDIR queue is resumed only after a graceful stop (Ctrl-C); after a hard kill it is discarded (its
on-disk queue may be torn) and the search pages are simply walked again, skipping what the journal
already has.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from adgen import atomic, manifest, safety
from adgen.config import Params
from adgen.crawl import jobs, journal, locks, merge, provisional, seen
from adgen.errors import UserError
from adgen.stage_metrics import write_training_outputs
from adgen.store import layout, locations
from adgen.store.reader import StoreReader

STATE_DIR = ".crawl"


@dataclass
class SiteProgress:
    site: str
    max_images: int
    images: int = 0
    rejects: int = 0
    done: bool = False


@dataclass
class CrawlSummary:
    new_images: int
    near_duplicates: int
    new_rejects: int
    manifest_rows: int
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    elapsed_s: float = 0.0


class CrawlInterrupted(KeyboardInterrupt):
    """A Scrapy process stopped on a signal (Ctrl-C, a process manager's SIGTERM) before its site
    was done. What it stored is merged and its request queue kept for the next run, but the crawl
    is incomplete and must not end like a success (DVC would cache a partial raw dataset). Raised
    even when this process never saw the signal itself, e.g. when it inherited SIGINT ignored."""

    def __init__(self, summary: CrawlSummary, sites: list[str]):
        super().__init__(f"crawl of {', '.join(sites)} stopped early")
        self.summary, self.sites = summary, sites


def _prepare_jobdir(jobdir: Path) -> None:
    """Keep a JOBDIR only when its last crawl was stopped gracefully (its queue is then whole)."""
    if not jobdir.exists():
        return
    marker = jobdir / "closed-reason"
    reason = marker.read_text().strip() if marker.exists() else None
    if reason == "shutdown":
        marker.unlink()
        return
    shutil.rmtree(jobdir)


def paths(params: Params) -> dict[str, Path]:
    raw = params.path(params.paths.raw)
    return {
        "raw": raw,
        "manifest": raw / "manifest.parquet",
        "rejects": raw / "rejects.parquet",
        "stats": raw / "crawl_stats.json",
        "state": raw / STATE_DIR,
        "store": raw / locations.STORE_DIR,
    }


def crawl(
    params: Params,
    sites: list[str] | None = None,
    max_images: int | None = None,
    on_progress: Callable[[list[SiteProgress]], None] | None = None,
    poll_s: float = 0.3,
) -> CrawlSummary:
    """Crawl the chosen sites into `paths.raw` and merge the results; returns what was added."""
    t0 = time.monotonic()
    p = paths(params)
    names = jobs.pick_sites(params.crawl, sites)
    state = p["state"]
    with safety.writing(p["store"]):
        (p["store"] / layout.SHARDS).mkdir(
            parents=True, exist_ok=True
        )  # a DVC output even when nothing is new
    with locks.crawl_locks(state, p["raw"], names):
        old_manifest = manifest.read(p["manifest"], merge.MANIFEST_COLUMNS)
        if "path" in old_manifest.columns:
            raise UserError(
                f"{p['manifest']}: names per-file images (a `path` column); run `adgen store migrate` once"
            )
        old_rejects = manifest.read(p["rejects"], merge.REJECT_COLUMNS)
        leftover = sorted((state / "journals").glob("*.jsonl"))
        known = seen.collect(
            old_manifest,
            old_rejects,
            leftover,
            retry_transient_after=timedelta(hours=params.crawl.retry_transient_after_hours),
        )
        seen_file = state / "seen.json"
        known.save(seen_file)
        site_jobs = [
            jobs.build(
                params.crawl,
                n,
                root=params.root,
                raw_dir=p["raw"],
                state=state,
                seen_file=seen_file,
                max_images=max_images,
                store={
                    "dir": str(p["store"]),
                    "max_samples": params.store.shard_max_samples,
                    "max_bytes": params.store.shard_max_bytes,
                },
            )
            for n in names
        ]
        groups = _spread(site_jobs, params.crawl.processes or os.cpu_count() or 1, state)
        site_jobs = [job for group in groups for job in group]
        procs: dict[str, subprocess.Popen[bytes]] = {}  # site -> the process crawling it
        logs: list[Any] = []
        tails: dict[str, journal.JournalTail] = {}
        progress = [SiteProgress(j.site, int(j.spec["max_images"])) for j in site_jobs]
        try:
            for group in groups:
                for job in group:
                    _prepare_jobdir(job.jobdir)
                    job.stats_file.unlink(missing_ok=True)
                    atomic.write_json(job.job_file, job.spec)
                    tails[job.site] = journal.JournalTail(job.journal)
                group[0].log_file.unlink(missing_ok=True)
                with safety.writing(group[0].log_file.with_suffix(".stderr")):
                    logs.append(open(group[0].log_file.with_suffix(".stderr"), "wb"))  # noqa: SIM115
                proc = subprocess.Popen(
                    [sys.executable, "-m", "crawlers.run", *(str(j.job_file) for j in group)],
                    cwd=params.root,
                    stdout=subprocess.DEVNULL,
                    stderr=logs[-1],
                )
                procs.update({j.site: proc for j in group})
            _watch(procs, tails, progress, on_progress, poll_s)
        except KeyboardInterrupt:
            # The children got the same Ctrl-C and stop gracefully (their JOBDIR is kept for resume);
            # wait for them, then merge what they stored so nothing is lost.
            for proc in procs.values():
                with contextlib.suppress(KeyboardInterrupt):
                    proc.wait()
            _commit(params, p, site_jobs, time.monotonic() - t0)
            raise
        finally:
            for fh in logs:
                fh.close()
        summary = _commit(params, p, site_jobs, time.monotonic() - t0)
        disk = {s: v["disk_error"] for s, v in summary.sites.items() if v.get("disk_error")}
        if disk:  # what was stored is merged above; the next run, with space, does the rest
            site, message = next(iter(disk.items()))
            raise UserError(f"crawl of {site} stopped: {message}")
        failed = {s: proc.returncode for s, proc in procs.items() if proc.returncode != 0}
        if failed:
            site, rc = next(iter(failed.items()))
            log = next(j.log_file for j in site_jobs if j.site == site)
            raise UserError(
                f"crawl of {site} exited with status {rc}; see {log} and {log.with_suffix('.stderr')}"
            )
        for job in site_jobs:
            if job.jobdir.exists() and _closed_reason(job.jobdir) != "shutdown":
                shutil.rmtree(job.jobdir)
        stopped = [site for site, s in summary.sites.items() if s["finish_reason"] == "shutdown"]
        if stopped:
            raise CrawlInterrupted(summary, stopped)
        return summary


def _spread(site_jobs: list[jobs.SiteJob], processes: int, state: Path) -> list[list[jobs.SiteJob]]:
    """Sites round-robin over at most `processes` Scrapy processes (one per CPU core by default).

    A process per site would pay Scrapy's start-up (seconds of CPU) once per site; one process per
    core keeps the cores busy and a refresh, which is mostly start-up, short. Sites sharing a
    process share its log file.
    """
    n = max(1, min(processes, len(site_jobs)))
    groups = [site_jobs[i::n] for i in range(n)]
    out: list[list[jobs.SiteJob]] = []
    for group in groups:
        log = state / ("+".join(j.site for j in group) + ".log")
        for job in group:
            job.spec["settings"]["LOG_FILE"] = str(log)
        out.append([dataclasses.replace(j, log_file=log) for j in group])
    return out


def _closed_reason(jobdir: Path) -> str | None:
    marker = jobdir / "closed-reason"
    return marker.read_text().strip() if marker.exists() else None


def _watch(
    procs: dict[str, subprocess.Popen[bytes]],
    tails: dict[str, journal.JournalTail],
    progress: list[SiteProgress],
    on_progress: Callable[[list[SiteProgress]], None] | None,
    poll_s: float,
) -> None:
    while True:
        running = False
        for item in progress:
            tail = tails[item.site]
            tail.poll()
            item.images, item.rejects = tail.images, tail.rejects
            item.done = procs[item.site].poll() is not None
            running |= not item.done
        if on_progress:
            on_progress(progress)
        if not running:
            return
        time.sleep(poll_s)


def _commit(
    params: Params, p: dict[str, Path], site_jobs: list[jobs.SiteJob], elapsed: float
) -> CrawlSummary:
    """Merge this run's sites' journals (with whatever a killed run of them left) into data/raw.

    Under a lock, on the manifest as it is now: crawls of other sites may have merged meanwhile.
    """
    with safety.flock(p["state"] / "locks" / "merge.lock", fcntl.LOCK_EX):
        return _commit_locked(params, p, site_jobs, elapsed)


def _commit_locked(
    params: Params, p: dict[str, Path], site_jobs: list[jobs.SiteJob], elapsed: float
) -> CrawlSummary:
    journals = [j.journal for j in site_jobs if j.journal.exists()]
    per_site = {job.site: site_stats(job.stats_file, elapsed) for job in site_jobs}
    return fold(params, p, journals, per_site, elapsed)


def site_stats(stats_file: Path, elapsed: float) -> dict[str, Any]:
    """One site's line of crawl_stats.json from the stats its Scrapy process wrote on closing."""
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    row: dict[str, Any] = {
        "requests": int(stats.get("downloader/request_count", 0)),
        "responses": int(stats.get("downloader/response_count", 0)),
        "responses_ok": sum(  # 2xx: a site that answered only errors (or nothing) is down
            int(v) for k, v in stats.items() if k.startswith("downloader/response_status_count/2")
        ),
        "images_stored": int(stats.get("adgen/images_stored", 0)),
        "rejected": sum(int(v) for k, v in stats.items() if k.startswith("adgen/rejects/")),
        "finish_reason": stats.get("finish_reason", "killed"),
        "elapsed_s": round(elapsed, 2),
    }
    if stats.get("adgen/disk_error"):
        row["disk_error"] = str(stats["adgen/disk_error"])
    for key in ("adgen/frontier/refetched", "adgen/frontier/requeued"):  # distributed crawl only
        if key in stats:
            row[key.rsplit("/", 1)[1]] = int(stats[key])
    return row


def fold(
    params: Params,
    p: dict[str, Path],
    journals: list[Path],
    per_site: dict[str, dict[str, Any]],
    elapsed: float,
    nodes: dict[str, dict[str, Any]] | None = None,
) -> CrawlSummary:
    """Merge journals (of this run, of killed runs, of cluster nodes) into data/raw; the caller
    holds the merge lock. `nodes`: per-node statistics of a distributed crawl, kept in crawl_stats.json."""
    images: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for path in journals:
        for kind, row in journal.read(path):
            (images if kind == journal.IMAGE else rejects).append(row)
    old_manifest = manifest.read(p["manifest"], merge.MANIFEST_COLUMNS)
    old_rejects = manifest.read(p["rejects"], merge.REJECT_COLUMNS)
    open_ids = provisional.load(p["state"])
    standing, reopened = provisional.reopen(old_manifest, {i for ids in open_ids.values() for i in ids})
    images = _locate(params, p["store"], images, reopened)
    result = merge.merge(standing, old_rejects, images, rejects, params.crawl.phash_threshold)
    manifest.write(result.rejects, p["rejects"])
    manifest.write(result.manifest, p["manifest"])
    decided = result.manifest[~result.manifest["image_id"].isin(standing["image_id"])]  # this merge's rows
    provisional.save(
        p["state"], provisional.update(open_ids, decided, {s: _finished(r) for s, r in per_site.items()})
    )
    new = ~decided["image_id"].isin(old_manifest["image_id"])
    summary = CrawlSummary(
        new_images=int(new.sum()),
        near_duplicates=int((new & decided["duplicate_of"].notna()).sum()),
        new_rejects=result.new_rejects,
        manifest_rows=len(result.manifest),
        sites=per_site,
        elapsed_s=round(elapsed, 2),
    )
    stats = _write_stats(p["stats"], result, per_site, nodes)
    # The DVC metric: numbers only, in the git-tracked metrics dir (strings in crawl.info.json).
    # Timings stay in crawl_stats.json: as a metric they made `dvc metrics diff` report a change
    # after every crawl, whatever it fetched.
    write_training_outputs(params.path(params.paths.metrics), "crawl", _without_timings(stats))
    for path in journals:  # only now: a kill before this line re-merges the same journal (idempotent)
        path.unlink()
    return summary


def _finished(site_row: dict[str, Any]) -> bool:
    """Whether a site's crawl ran to its end (not stopped by a signal, a full disk, a kill)."""
    return site_row.get("finish_reason") == "finished" and not site_row.get("disk_error")


def _locate(
    params: Params, store: Path, images: list[dict[str, Any]], reopened: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Give each journalled image (and each reopened row, adgen.crawl.provisional) its shard and
    member, after linking in the shards the Scrapy processes spooled (a packing writer that opens
    the store takes in every finished writer's staging first).

    A journal line is written only after its bytes are fsynced in a spool, so every row is found; a
    row that is not (staging deleted by hand) is left out, and the next crawl fetches it again. A
    reopened row was in the manifest: its photo missing is a damaged store, and stops the merge.
    """
    locations.writer(params, store, label="merge").open().close()
    reader = StoreReader(store)
    out = []
    for row in reopened:
        if row.get("image_id") not in reader:
            raise UserError(
                f"{store}: image {row.get('image_id')} of the manifest is not in the store;"
                " run `adgen store verify` and restore the store (e.g. `dvc pull`)"
            )
    for row in [*images, *reopened]:
        if row.get("image_id") in reader:
            shard, member = reader.location(row["image_id"])
            out.append({**row, "shard": shard, "member": member})
    return out


def _without_timings(stats: dict[str, Any]) -> dict[str, Any]:
    sites = {name: {k: v for k, v in row.items() if k != "elapsed_s"} for name, row in stats["sites"].items()}
    out = {**stats, "sites": sites}
    if "nodes" in stats:
        out["nodes"] = {
            node: {site: {k: v for k, v in row.items() if k != "elapsed_s"} for site, row in per.items()}
            for node, per in stats["nodes"].items()
        }
    return out


def _write_stats(
    path: Path,
    result: merge.MergeResult,
    per_site: dict[str, dict[str, Any]],
    nodes: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """crawl_stats.json: totals of data/raw, and each site's last crawl; returns what it wrote."""
    try:
        sites = json.loads(path.read_text()).get("sites", {}) if path.exists() else {}
    except (json.JSONDecodeError, AttributeError):
        sites = {}
    sites.update(per_site)
    m, r = result.manifest, result.rejects
    reasons = r["reason"].value_counts().to_dict() if len(r) else {}
    per_site_rows = m["site"].value_counts().to_dict() if len(m) else {}
    for name, row in sites.items():
        row["manifest_rows"] = int(per_site_rows.get(name, 0))
    stats = {
        "manifest_rows": len(m),
        "distinct_files": int(m["duplicate_of"].isna().sum()),
        "near_duplicates": int(m["duplicate_of"].notna().sum()),
        "rejects_total": len(r),
        "rejects_by_reason": {str(k): int(v) for k, v in sorted(reasons.items())},
        "sites": dict(sorted(sites.items())),
    }
    if nodes:  # the last distributed crawl: each node's share, per site
        stats["nodes"] = dict(sorted(nodes.items()))
    atomic.write_json(path, stats)
    return stats
