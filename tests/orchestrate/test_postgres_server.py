"""A Prefect server on PostgreSQL, and what a worker needs before a flow: the pull steps.

One real server for the module, its database a temp PostgreSQL cluster (pg_trgm created, as Prefect
requires), process workers, and a project repository with a bare git remote and a SeaweedFS S3
DVC remote. Checked against it:
- prefect.yaml (one machine): a worker started without ADGEN_PROJECT_DIR fails the run with one
  line naming the variable (before: the pull step "succeeded" in the worker's temp directory and
  the run crashed with FileNotFoundError for flows/train.py);
- prefect.workers.yaml (other machines): a worker with nothing but ADGEN_GIT_URL and S3
  credentials clones the repository into the run's own directory, skips the install (adgen is in
  its environment), pulls from S3 and completes the run; without ADGEN_GIT_URL the run fails with
  one line naming it. Deployment versions are the deployed commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from adgen.orchestrate.workspace import sync_workspace
from tests.conftest import free_port
from tests.orchestrate import servers
from tests.orchestrate.servers import bare_remote, git, prefect_on_postgres, start_postgres, stop_postgres

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("orchestrate-postgres")]

UUID = re.compile(r"UUID: ([0-9a-f-]{36})")


@pytest.fixture(scope="module")
def pg():
    if servers.postgres_bin() is None:
        pytest.skip("PostgreSQL server not installed (apt-get install postgresql)")
    root, conn = start_postgres()
    try:
        yield conn
    finally:
        stop_postgres(root)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    if servers.weed_binary() is None:
        pytest.skip(servers.WEED_MISSING)
    proc, store = servers.start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield store
    finally:
        servers._stop(proc, grace=3.0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg):
    root = tmp_path_factory.mktemp("prefect-pg")
    srv = prefect_on_postgres(root / "home", free_port(), root / "logs", pg)
    try:
        srv.start()
        srv.create_process_pools("default", "gpu")
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, repo_root: Path, s3) -> tuple[Path, Path]:
    """The project as a team has it: a checkout whose .dvc/config names the S3 remote, pushed to a
    bare git remote. Returns (checkout, remote)."""
    root = tmp_path_factory.mktemp("team")
    checkout = sync_workspace(repo_root, root / "checkout")
    s3.add_remote(checkout, "s3", "adgen")
    git(checkout, "add", ".dvc/config")
    git(checkout, "commit", "-q", "-m", "DVC remote: the team's S3 bucket")
    return checkout, bare_remote(checkout, root / "pipeline.git")


def run(server, name: str, *params: str) -> dict:
    args = [arg for p in params for arg in ("-p", p)]
    out = server.cli("deployment", "run", name, *args)
    m = UUID.search(out)
    assert m, out
    return server.wait_for_run(m.group(1), timeout=240)


def test_a_worker_without_its_project_dir_fails_in_one_line_naming_it(server, project):
    checkout, _ = project
    server.cli("deploy", "--all", cwd=checkout)
    dep = server.deployment("generate-ads/on-demand")
    assert dep["version"] == git(checkout, "rev-parse", "HEAD").strip()  # the deployed commit
    worker = server.start_worker("gpu", ADGEN_PROJECT_DIR="")
    try:
        result = run(server, "generate-ads/on-demand", "poses=[]", "bags=[]")
    finally:
        servers.stop_worker(server, worker)
    assert result["state"]["type"] in {"CRASHED", "FAILED"}
    logs = server.wait_for_log(result["id"], "ADGEN_PROJECT_DIR")
    [line] = [m for m in logs.splitlines() if "ADGEN_PROJECT_DIR" in m]
    assert line.startswith("ADGEN_PROJECT_DIR is not set on this worker"), logs
    assert "generate_ads.py" not in logs  # the run stopped at the pull step, not at loading the flow


def test_a_clean_worker_clones_the_repository_and_pulls_from_s3(server, project, s3):
    checkout, remote = project
    server.cli("deploy", "--all", "--prefect-file", "prefect.workers.yaml", cwd=checkout)
    dep = server.deployment("generate-ads/on-demand")
    assert dep["version"] == git(checkout, "rev-parse", "HEAD").strip()
    clone_step = next(s for s in dep["pull_steps"] if "prefect.deployments.steps.git_clone" in s)
    assert clone_step["prefect.deployments.steps.git_clone"]["commit_sha"] == dep["version"]  # at deploy time

    # the worker has no checkout: only the git remote's URL and the S3 credentials
    worker = server.start_worker("gpu", ADGEN_GIT_URL=str(remote), ADGEN_PROJECT_DIR="", **s3.env())
    try:
        result = run(server, "generate-ads/on-demand", "poses=[]", "bags=[]")
    finally:
        servers.stop_worker(server, worker)
    logs = server.run_logs(result["id"])
    assert result["state"]["type"] == "COMPLETED", logs[-6000:] + server.log("worker-gpu.log")[-6000:]
    for step in ("git_clone", "set_working_directory", "run_shell_script"):
        assert f"Executing deployment step: {step}" in logs
    created = dt.datetime.fromisoformat(result["created"])
    started = dt.datetime.fromisoformat(result["start_time"])
    print(
        f"\n[measure] deployment run -> flow start on a clean worker: {(started - created).total_seconds():.1f} s"
    )


def test_a_run_executes_the_deployed_commit_not_the_head_of_the_branch(server, project, s3, tmp_path):
    """Issue 26, workers: git_clone took the branch head, so a commit pushed after the deploy ran
    in its place (other flows, other params than the deployment's version says)."""
    checkout, remote = project
    server.cli("deploy", "--all", "--prefect-file", "prefect.workers.yaml", cwd=checkout)
    deployed = git(checkout, "rev-parse", "HEAD").strip()
    assert server.deployment("generate-ads/on-demand")["version"] == deployed

    # after the deploy, someone pushes flows that fail at load and a pipeline state (metrics/)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    flow = other / "flows" / "generate_ads.py"
    flow.write_text(flow.read_text() + '\nraise RuntimeError("the head of the branch ran")\n')
    (other / "metrics").mkdir(exist_ok=True)
    (other / "metrics" / "pushed-later.json").write_text("{}\n")
    git(other, "add", "flows/generate_ads.py", "metrics/pushed-later.json")
    git(other, "commit", "-q", "-m", "Pushed after the deploy")
    git(other, "push", "-q", "origin", "HEAD:main")
    head = git(other, "rev-parse", "HEAD").strip()

    worker = server.start_worker("gpu", ADGEN_GIT_URL=str(remote), ADGEN_PROJECT_DIR="", **s3.env())
    try:
        result = run(server, "generate-ads/on-demand", "poses=[]", "bags=[]")
    finally:
        servers.stop_worker(server, worker)
    worker_log = server.log("worker-gpu.log")
    assert result["state"]["type"] == "COMPLETED", server.run_logs(result["id"])[-6000:] + worker_log[-6000:]
    # the deployed code, on the branch head's pipeline state (which the run's commits build on)
    said = f"code and params of the deployed commit {deployed}, pipeline state of main at {head}"
    assert said in " ".join(worker_log.split()), worker_log[-6000:]


def test_a_worker_without_the_git_url_fails_in_one_line_naming_it(server, project, s3):
    checkout, _ = project
    server.cli("deploy", "--all", "--prefect-file", "prefect.workers.yaml", cwd=checkout)
    worker = server.start_worker("gpu", ADGEN_GIT_URL="", **s3.env())
    try:
        result = run(server, "generate-ads/on-demand", "poses=[]", "bags=[]")
    finally:
        servers.stop_worker(server, worker)
    assert result["state"]["type"] in {"CRASHED", "FAILED"}
    worker_log = server.log("worker-gpu.log")
    assert "ADGEN_GIT_URL is not set on this worker: start it as ADGEN_GIT_URL=" in worker_log, worker_log[
        -4000:
    ]


def test_the_server_keeps_its_runs_in_postgres(server, pg):
    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=pg.port, user=pg.user, password=pg.password, database=pg.database
        )
        try:
            return await conn.fetchval("SELECT count(*) FROM flow_run")
        finally:
            await conn.close()

    assert asyncio.run(count()) >= 3  # the runs of the tests above


def test_worker_deployments_are_prefect_yaml_deployments_with_other_pull_steps(repo_root: Path):
    """prefect.workers.yaml repeats prefect.yaml's deployments; only where the code comes from differs."""
    local = yaml.safe_load((repo_root / "prefect.yaml").read_text())["deployments"]
    workers = yaml.safe_load((repo_root / "prefect.workers.yaml").read_text())["deployments"]

    def without_pull(deployments: list[dict]) -> list[dict]:
        return [{k: v for k, v in d.items() if k != "pull"} for d in deployments]

    assert without_pull(workers) == without_pull(local)
    assert all(d["pull"][1]["prefect.deployments.steps.git_clone"] for d in workers)
