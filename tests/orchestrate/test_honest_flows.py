"""The refresh flow tells the truth and stops when told, against a real Prefect server.

- a site that is down fails its crawl task (after Scrapy's and Prefect's retries) and the flow ends
  Failed naming it, while the other sites' data is still crawled;
- a misspelt site fails the run at once: no crawl task, no retry, no concurrency limit left behind;
- SIGTERM while a task waits to retry ends the flow run (Crashed/Cancelled) and frees its slot.

The workspace is a copy of this project whose dvc.yaml keeps only the crawl stage (what these
promises are about), with the demo preset, crawling the fixture stock site on 127.0.0.1; the flow
runs in its own process against the real server, as a worker would start it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from adgen.orchestrate import commands, presets, workspace
from tests.conftest import REPO_ROOT, free_port
from tests.orchestrate.harness import FINAL_STATES, PrefectServer

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("orchestrate-prefect")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("prefect-honest")
    srv = PrefectServer(home=root / "home", port=free_port(), logs=root / "logs")
    try:
        yield srv.start()
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def site():
    from adgen.fixtures.site.server import FixtureSite

    with FixtureSite(images=12, seed=5, per_page=10, slow_seconds=4) as s:
        yield s


def crawl_workspace(root: Path, base_url: str, overrides: dict) -> Path:
    """A copy of the project (git + DVC) with the demo preset and only the crawl stage."""
    from adgen.demo import write_params

    ws = root / "ws"
    workspace.sync_workspace(REPO_ROOT, ws)
    stages = yaml.safe_load((ws / "dvc.yaml").read_text())["stages"]
    (ws / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"crawl": stages["crawl"]}}, sort_keys=False))
    settings = {
        "crawl": {"base_url_override": base_url, "max_images": 4, "max_pages": 1},
        "orchestrate": {"push": False},
    }
    write_params(ws, REPO_ROOT, "demo", presets.merge(settings, overrides))
    workspace.commit_all(ws, "crawl-only workspace")
    return ws


def dead_url() -> str:
    """An address nothing listens on (a port just freed)."""
    return f"http://127.0.0.1:{free_port()}"


def start_flow(server: PrefectServer, ws: Path, sites: list[str]) -> subprocess.Popen:
    code = (
        "from flows.refresh_dataset import refresh_dataset\n"
        f"refresh_dataset(sites={sites!r}, trigger=False)\n"
    )
    log = open(ws.parent / "flow.log", "wb")  # noqa: SIM115 - closed with the test's tmp dir
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ws,
        env=server.env(**{k: v for k, v in commands.tool_env().items() if k == "PATH"}),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def newest_run(server: PrefectServer) -> dict:
    runs = server.post("/flow_runs/filter", {"sort": "EXPECTED_START_TIME_DESC", "limit": 1})
    assert runs, "no flow run on the server"
    return runs[0]


def task_runs(server: PrefectServer, run_id: str) -> list[dict]:
    return server.post("/task_runs/filter", {"task_runs": {"flow_run_id": {"any_": [run_id]}}})


def limits(server: PrefectServer) -> dict[str, dict]:
    return {lim["name"]: lim for lim in server.post("/v2/concurrency_limits/filter", {})}


def flow_log(ws: Path) -> str:
    return (ws.parent / "flow.log").read_text(errors="replace")


def test_a_dead_site_fails_its_task_and_the_flow_names_it(tmp_path: Path, server: PrefectServer, site):
    ws = crawl_workspace(tmp_path, site.base_url, {"crawl": {"sites": {"getty": {"base_url": dead_url()}}}})
    proc = start_flow(server, ws, ["123rf", "getty"])
    assert proc.wait(timeout=600) != 0, flow_log(ws)
    run = newest_run(server)
    assert run["state"]["type"] == "FAILED", run["state"]
    assert "getty" in run["state"]["message"] and "123rf" not in run["state"]["message"]
    by_name = {t["name"]: t for t in task_runs(server, run["id"])}
    assert by_name["crawl-getty"]["state"]["type"] == "FAILED"
    assert "answered no request successfully" in by_name["crawl-getty"]["state"]["message"]
    assert by_name["crawl-getty"]["run_count"] == 2  # the demo preset's one retry: down may be transient
    assert by_name["crawl-123rf"]["state"]["type"] == "COMPLETED"
    stats = json.loads((ws / "data/raw/crawl_stats.json").read_text())
    assert stats["sites"]["123rf"]["images_stored"] > 0 and stats["sites"]["getty"]["responses_ok"] == 0


def test_a_misspelt_site_fails_the_run_at_once_without_retries_or_limits(
    tmp_path: Path, server: PrefectServer, site
):
    ws = crawl_workspace(
        tmp_path, site.base_url, {"orchestrate": {"crawl_retries": 3, "crawl_retry_delay_s": 60}}
    )
    started = time.monotonic()
    proc = start_flow(server, ws, ["gettty"])
    assert proc.wait(timeout=300) != 0
    print(f"misspelt site: the flow process ended {time.monotonic() - started:.1f} s after it started")
    run = newest_run(server)
    assert run["state"]["type"] == "FAILED", run["state"]
    assert "'gettty' is not in crawl.sites" in run["state"]["message"]
    assert not [t for t in task_runs(server, run["id"]) if t["name"].startswith("crawl-")]
    assert "crawl-site-gettty" not in limits(server)


def test_a_bad_param_fails_the_run_at_once_naming_the_key(tmp_path: Path, server: PrefectServer, site):
    ws = crawl_workspace(
        tmp_path, site.base_url, {"orchestrate": {"crawl_retries": 3, "crawl_retry_delay_s": 60}}
    )
    text = (ws / "params.yaml").read_text()
    bad = re.sub(r"^  max_images: 4\b", "  max_images: -4", text, count=1, flags=re.M)  # crawl.max_images
    assert bad != text
    (ws / "params.yaml").write_text(bad)
    proc = start_flow(server, ws, ["123rf"])
    assert proc.wait(timeout=300) != 0
    run = newest_run(server)
    assert run["state"]["type"] == "FAILED" and "crawl.max_images" in run["state"]["message"], run["state"]
    assert not [t for t in task_runs(server, run["id"]) if t["name"].startswith("crawl-")]


def test_sigterm_while_a_crawl_waits_to_retry_stops_the_run_and_frees_its_slot(
    tmp_path: Path, server: PrefectServer, site
):
    ws = crawl_workspace(
        tmp_path,
        site.base_url,
        {
            "crawl": {"sites": {"getty": {"base_url": dead_url()}}},
            "orchestrate": {"crawl_retries": 3, "crawl_retry_delay_s": 600},  # 10 min before the retry
        },
    )
    proc = start_flow(server, ws, ["getty"])
    deadline = time.monotonic() + 300
    waiting = None
    while waiting is None and time.monotonic() < deadline and proc.poll() is None:
        runs = server.post("/flow_runs/filter", {"sort": "EXPECTED_START_TIME_DESC", "limit": 1})
        if runs:
            waiting = next(
                (
                    t
                    for t in task_runs(server, runs[0]["id"])
                    if (t.get("state") or {}).get("name") == "AwaitingRetry"
                ),
                None,
            )
        time.sleep(1)
    assert waiting is not None, flow_log(ws)

    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=120)  # without the fix: until the 10-minute retry delay is over
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"the flow kept running after SIGTERM:\n{flow_log(ws)[-4000:]}") from None
    run = server.get(f"/flow_runs/{waiting['flow_run_id']}")
    assert run["state"]["type"] in FINAL_STATES - {"COMPLETED"}, run["state"]
    assert run["state"]["type"] in {"CRASHED", "CANCELLED"}, run["state"]
    assert limits(server)["crawl-site-getty"]["active_slots"] == 0


def _pipeline_processes(ws: Path) -> list[str]:
    """Command lines of live processes working in `ws` (the flow's crawl and Scrapy processes)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(os.readlink(proc / "cwd")) != ws:
                continue
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and ("adgen.cli" in cmdline or "crawlers.run" in cmdline):
            found.append(cmdline)
    return found


def test_sigterm_while_a_site_is_being_crawled_ends_the_crawl_processes_too(
    tmp_path: Path, server: PrefectServer
):
    from adgen.fixtures.site.server import FixtureSite

    # a site answering each request after 60 s: left alone, this crawl takes minutes
    with FixtureSite(images=12, seed=6, per_page=10, slow_seconds=4, latency_ms=60_000) as slow:
        ws = crawl_workspace(tmp_path, slow.base_url, {"crawl": {"max_images": 8, "download_timeout": 120}})
        proc = start_flow(server, ws, ["123rf"])
        deadline = time.monotonic() + 300
        while not any("crawlers.run" in c for c in _pipeline_processes(ws)):
            assert proc.poll() is None and time.monotonic() < deadline, flow_log(ws)
            time.sleep(0.5)
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=120)  # without the fix: until the crawl is over
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"the flow kept running after SIGTERM:\n{flow_log(ws)[-4000:]}") from None
        assert _pipeline_processes(ws) == []
    run = newest_run(server)
    assert run["state"]["type"] in {"CRASHED", "CANCELLED"}, run["state"]
    assert limits(server)["crawl-site-123rf"]["active_slots"] == 0
