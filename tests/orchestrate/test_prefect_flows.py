"""Prefect end to end: deploy from prefect.yaml, run the weekly refresh on workers, see it version
the dataset and start the GPU training deployment, which trains and publishes its metrics.

Real server on 127.0.0.1, real process workers for the `default` and `gpu` pools, the real flows
running the real DAG in a demo workspace against the fixture stock site.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from adgen.orchestrate import dag
from tests.conftest import free_port
from tests.orchestrate.conftest import make_workspace
from tests.orchestrate.harness import PrefectServer

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("orchestrate-prefect")]

UUID = re.compile(r"UUID: ([0-9a-f-]{36})")


def run_deployment(server: PrefectServer, name: str, ws: Path) -> str:
    out = server.cli("deployment", "run", name, cwd=ws)
    m = UUID.search(out)
    assert m, out
    return m.group(1)


def assert_completed(server: PrefectServer, run: dict) -> None:
    state = run["state"]["type"]
    if state != "COMPLETED":
        logs = server.run_logs(run["id"])
        workers = server.log("worker-default.log")[-4000:] + server.log("worker-gpu.log")[-4000:]
        raise AssertionError(
            f"flow run {run['name']} ended {state}:\n{logs[-8000:]}\n--- workers ---\n{workers}"
        )


def git_tags(ws: Path) -> list[str]:
    return subprocess.run(
        ["git", "tag", "--list"], cwd=ws, capture_output=True, text=True, check=True
    ).stdout.split()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """One real Prefect server for this module, with the `default` and `gpu` process pools."""
    root = tmp_path_factory.mktemp("prefect")
    srv = PrefectServer(home=root / "home", port=free_port(), logs=root / "logs")
    try:
        srv.start()
        srv.create_process_pools("default", "gpu")
        yield srv
    finally:
        srv.stop()


def test_deployments_carry_the_weekly_utc_schedule_and_the_gpu_pool(server: PrefectServer, repo_root: Path):
    server.cli("deploy", "--all", cwd=repo_root)
    weekly = server.deployment("refresh-dataset/weekly")
    [schedule] = weekly["schedules"]
    assert schedule["schedule"]["cron"] == "0 3 * * 1"
    assert schedule["schedule"]["timezone"] == "UTC"
    assert schedule["active"] is True
    assert weekly["work_pool_name"] == "default"
    assert weekly["global_concurrency_limit"]["limit"] == 1  # one refresh at a time
    branch = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=repo_root, capture_output=True, text=True
    ).stdout.strip()
    assert weekly["pull_steps"] == [  # each run in its own clone at the deployed commit
        {
            "adgen.orchestrate.worker_setup.clone_project_dir": {
                "directory": "{{ $ADGEN_PROJECT_DIR }}",
                "commit": weekly["version"],  # the commit deployed from (git rev-parse HEAD then)
                "branch": branch,
                "checkout": ["build_datasets"],
            }
        }
    ]
    assert re.fullmatch(r"[0-9a-f]{40}", weekly["version"])
    for model in dag.MODELS:
        dep = server.deployment(f"train-{model}/gpu")
        assert dep["work_pool_name"] == "gpu"
        assert dep["parameters"] == {"model": model}
        assert not dep["schedules"]
        choices = dep["parameter_openapi_schema"]["properties"]["model"]
        assert model in choices["enum"] and choices["description"]
    on_demand = server.deployment("generate-ads/on-demand")
    assert on_demand["work_pool_name"] == "gpu" and not on_demand["schedules"]
    assert set(on_demand["parameter_openapi_schema"]["required"]) == {"poses", "bags"}


def test_weekly_refresh_versions_the_dataset_and_triggers_gpu_training(
    tmp_path: Path, server: PrefectServer, fixture_site, models_cache: Path
):
    ws_probe = [s for s in dag.stages(Path(__file__).parents[2]) if s.startswith("train_")]
    if not ws_probe:
        pytest.skip("no training stage in dvc.yaml yet")
    model = ws_probe[0].removeprefix("train_")
    ws = make_workspace(
        tmp_path, fixture_site.base_url, models_cache, overrides={"orchestrate": {"retrain_models": [model]}}
    )
    server.cli("deploy", "--all", cwd=ws)
    server.start_worker("default", ADGEN_PROJECT_DIR=str(ws))
    server.start_worker("gpu", ADGEN_PROJECT_DIR=str(ws))

    # First refresh: everything is new → a dataset version and a training run.
    refresh = server.wait_for_run(run_deployment(server, "refresh-dataset/weekly", ws), timeout=480)
    assert_completed(server, refresh)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert git_tags(ws) == [f"dataset-{today}"]
    limits = server.post("/v2/concurrency_limits/filter", {})
    assert {lim["name"]: lim["limit"] for lim in limits if lim["name"].startswith("crawl-site-")} == {
        f"crawl-site-{site}": 1 for site in ("123rf", "depositphotos", "getty", "profile")
    }
    assert any((tmp_path / "remote").rglob("*")), "the dataset version was not pushed"

    [train_run] = server.flow_runs_of(f"train-{model}/gpu")
    assert train_run["parameters"] == {"model": model}
    train_run = server.wait_for_run(train_run["id"], timeout=300)
    assert_completed(server, train_run)
    assert (ws / "metrics" / f"{model}.json").exists()  # paths.metrics: git-tracked, numbers only
    artifacts = server.post("/artifacts/filter", {"artifacts": {"key": {"any_": [f"{model}-metrics"]}}})
    assert artifacts and artifacts[0]["type"] == "table"
    log = subprocess.run(["git", "log", "--format=%s"], cwd=ws, capture_output=True, text=True).stdout
    assert f"Train {model}" in log and f"Dataset version dataset-{today}" in log
    # the training commit holds its own stage only (issue 26 case 1): its lock entry and metrics
    trained = subprocess.run(
        ["git", "log", "-1", "--format=", "--name-only", f"--grep=^Train {model}$"],
        cwd=ws,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert set(trained) <= {
        "dvc.lock",
        *(f"metrics/{model}{s}" for s in (".json", ".info.json", "_loss.csv")),
    }
    assert "restores from a fresh clone" in server.wait_for_log(
        train_run["id"], "restores from a fresh clone"
    )
    [refreshed] = server.post("/artifacts/filter", {"artifacts": {"key": {"any_": ["dataset-refresh"]}}})[:1]
    assert f"dataset-{today}" in refreshed["data"] and "stages rerun by DVC" in refreshed["data"]
    assert "index.html" in refreshed["data"]

    # Each run worked in its own clone (issue 26 case 4): the checkout got commits, not run files.
    assert not (ws / "data" / "models" / model).exists()

    # Second refresh with nothing new on the site: no new version, no new training; started together
    # with another model's training on the same machine, and neither waits for or breaks the other.
    others = [m for m in ("dcgan", *dag.MODELS) if m != model and f"train_{m}" in dag.stages(ws)]
    other = others[0] if others else None  # DCGAN's demo preset trains in seconds
    together = [run_deployment(server, "refresh-dataset/weekly", ws)]
    if other is not None:
        together.append(run_deployment(server, f"train-{other}/gpu", ws))
    again, *trained_too = (server.wait_for_run(run_id, timeout=420) for run_id in together)
    for run in (again, *trained_too):
        assert_completed(server, run)
        assert "is busy" not in server.run_logs(run["id"])
    assert git_tags(ws) == [f"dataset-{today}"]
    if other is not None:  # its commit restores from a fresh clone (adgen versions verify)
        from adgen.orchestrate import restore

        [commit] = subprocess.run(
            ["git", "log", "-1", "--format=%H", f"--grep=^Train {other}$"],
            cwd=ws,
            capture_output=True,
            text=True,
        ).stdout.split()
        restore.verify(ws, commit, stages=[f"train_{other}"])
    # its new crawl records were committed, not left behind in dvc.lock (issue 26 case 4)
    assert not subprocess.run(
        ["git", "status", "--porcelain", "--", "dvc.lock"], cwd=ws, capture_output=True, text=True
    ).stdout.strip()
    assert len(server.flow_runs_of(f"train-{model}/gpu")) == 1
