"""A crawl survives kill -9, refreshes only what is new, and runs as a DVC stage."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from adgen.crawl.stage import crawl
from adgen.fixtures.site.server import FixtureSite
from tests.conftest import REPO_ROOT
from tests.crawl.conftest import fixture_crawl_params, warm
from tests.store.helpers import raw_store_agrees_with_manifest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEARCH_PREFIXES = ("/123rf/stock-photo/", "/depositphotos/photos/", "/getty/photos/", "/profile/search")


def _manifest(root: Path) -> pd.DataFrame:
    m = pd.read_parquet(root / "data/raw/manifest.parquet")
    # shard names differ between runs (each writer session names its own); members do not
    return m.drop(columns=["crawled_at", "shard"]).sort_values("image_id").reset_index(drop=True)


def _journal_lines(root: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in (root / "data/raw/.crawl/journals").glob("*.jsonl"))


def test_kill_9_mid_crawl_then_rerun_gives_the_same_manifest_as_an_uninterrupted_crawl(tmp_path):
    # A generous timeout: the two crawls must not differ by a chance timeout on a busy machine.
    slow = {"download_timeout": 6.0}
    with FixtureSite(images=48, seed=11, latency_ms=40) as site:
        warm(site)
        whole = tmp_path / "whole"
        crawl(fixture_crawl_params(whole, site.base_url, **slow))

        killed = tmp_path / "killed"
        fixture_crawl_params(killed, site.base_url, **slow)
        proc = subprocess.Popen(
            [sys.executable, "-m", "adgen.cli", "--params", str(killed / "params.yaml"), "crawl"],
            cwd=killed,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while _journal_lines(killed) < 12 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and every Scrapy process, mid-crawl
        proc.wait()
        assert _journal_lines(killed) >= 12, "the crawl was killed before it stored anything"
        assert not (killed / "data/raw/manifest.parquet").exists(), "killed after the merge: not mid-crawl"

        crawl(fixture_crawl_params(killed, site.base_url, **slow))

    a, b = _manifest(whole), _manifest(killed)
    assert list(a["image_id"]) == list(b["image_id"])
    assert not b["image_id"].duplicated().any()
    pd.testing.assert_frame_equal(a, b)
    raw_store_agrees_with_manifest(killed)  # no partial shard, no orphan, nothing staged left
    assert not list((killed / "data/raw").rglob("*.tmp"))


def test_refresh_downloads_only_new_images(tmp_path):
    with FixtureSite(images=100, seed=7, slow_seconds=1) as site:
        warm(site)
        params = fixture_crawl_params(tmp_path, site.base_url, download_timeout=10)  # no chance timeouts
        first = crawl(params)
        before = _manifest(tmp_path)
        full_requests = len(site.requests)

        new = site.add_images(1)  # 1 % more photos
        truth = warm(site)
        mark = len(site.requests)
        again = crawl(params)
        refresh = [r["path"] for r in site.requests[mark:]]

    new_items = {sha: t for sha, t in truth["images"].items() if t.get("index") in new}
    assert len(new_items) == 1
    expected_fetches = {t["image_url"] for t in new_items.values()} | {
        t["detail_url"] for t in new_items.values()
    }
    fetched = [p for p in refresh if p != "/robots.txt" and not p.startswith(SEARCH_PREFIXES)]
    assert sorted(fetched) == sorted(expected_fetches)  # each new detail page and image once, nothing else
    after = _manifest(tmp_path)
    assert again.new_images == 1 and first.new_images == len(before)
    assert set(after["image_id"]) == set(before["image_id"]) | set(new_items)
    assert len(refresh) < 0.2 * full_requests


def test_dvc_repro_runs_the_crawl_stage_and_a_second_repro_is_a_no_op(tmp_path):
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
    }
    dvc = [sys.executable, "-m", "dvc"]
    with FixtureSite(images=16, seed=2, hostile=False) as site:
        warm(site)
        fixture_crawl_params(tmp_path, site.base_url, only=("profile",), download_timeout=10)
        (tmp_path / "dvc.yaml").write_text(
            yaml.safe_dump({"stages": {"crawl": stages["crawl"]}}, sort_keys=False)
        )
        for cmd in (["git", "init", "-q"], [*dvc, "init", "-q"]):
            subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True)
        first = subprocess.run(
            [*dvc, "repro", "crawl"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert first.returncode == 0, first.stdout + first.stderr
        assert len(pd.read_parquet(tmp_path / "data/raw/manifest.parquet")) == 4  # profile's share of 16
        assert (tmp_path / "dvc.lock").is_file()
        mark = len(site.requests)
        second = subprocess.run(
            [*dvc, "repro", "crawl"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert "didn't change" in second.stdout or "up to date" in second.stdout, second.stdout
        assert len(site.requests) == mark  # nothing crawled again
    assert shutil.which("git")


def _crawl_until_stored(root: Path, base_url: str, n: int, **opts: object) -> subprocess.Popen[bytes]:
    """`adgen crawl` of the profile site in its own process group, returned once n downloads are
    journalled (or it ended, or 60 s passed)."""
    fixture_crawl_params(root, base_url, only=("profile",), **opts)
    proc = subprocess.Popen(
        [sys.executable, "-m", "adgen.cli", "--params", str(root / "params.yaml"), "crawl"],
        cwd=root,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while _journal_lines(root) < n and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    return proc


def _children(pid: int) -> list[int]:
    """Direct child pids of `pid` (Linux /proc)."""
    tasks = Path(f"/proc/{pid}/task")
    kids: list[int] = []
    for task in tasks.iterdir():
        kids += [int(x) for x in (task / "children").read_text().split()]
    return kids


def test_a_scrapy_process_stopped_by_a_signal_of_its_own_fails_the_crawl_after_merging(tmp_path):
    """Ctrl-C that reaches Scrapy but not `adgen crawl` (e.g. started in the background with SIGINT
    ignored, or a process manager stopping only the child): the crawl is incomplete and must not exit 0, or DVC caches it."""
    with FixtureSite(images=640, seed=4, latency_ms=60, hostile=False) as site:
        warm(site)
        opts = {"concurrent_requests_per_domain": 2, "download_timeout": 10}
        proc = _crawl_until_stored(tmp_path, site.base_url, 8, **opts)
        (scrapy,) = _children(proc.pid)
        os.kill(scrapy, signal.SIGINT)  # the child alone
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert b"stopped early" in err and b"run `adgen crawl` again to resume" in err  # console: stderr
    assert 8 <= len(_manifest(tmp_path)) < 160  # what it stored is merged (not the site's 160)
    jobdir = tmp_path / "data/raw/.crawl/jobs/profile"
    assert (jobdir / "closed-reason").read_text().strip() == "shutdown"
    assert (jobdir / "requests.queue").is_dir()  # kept for the next run


def test_ctrl_c_stops_gracefully_keeps_what_was_stored_and_the_next_run_resumes(tmp_path):
    with FixtureSite(images=640, seed=4, latency_ms=60, hostile=False) as site:
        truth = warm(site)
        opts = {"concurrent_requests_per_domain": 2, "download_timeout": 10}
        proc = _crawl_until_stored(tmp_path, site.base_url, 8, **opts)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        interrupted = _manifest(tmp_path)  # merged on the way out
        assert 8 <= len(interrupted) < 160
        jobdir = tmp_path / "data/raw/.crawl/jobs/profile"
        assert (jobdir / "closed-reason").read_text().strip() == "shutdown"
        assert (jobdir / "requests.queue").is_dir()  # the pending requests, for the next run

        summary = crawl(fixture_crawl_params(tmp_path, site.base_url, only=("profile",), **opts))

    final = _manifest(tmp_path)
    listed = {sha for sha, t in truth["images"].items() if t["site"] == "profile"}
    assert set(final["image_id"]) == listed and not final["image_id"].duplicated().any()
    assert summary.new_images == len(listed) - len(interrupted)
    assert not jobdir.exists()  # finished: the next crawl starts afresh
    assert (
        "Resuming crawl" in (tmp_path / "data/raw/.crawl/profile.log").read_text()
    )  # Scrapy's JOBDIR resume
