"""Two machines that share nothing but the Prefect server, a bare git remote and the S3 store.

A refresh runs on one worker ("machine A", the `default` pool) and the training it starts runs on
another ("machine B", the `gpu` pool). Each worker has its own HOME and TMPDIR (so each flow run's
clone lives on its own machine) and knows only ADGEN_GIT_URL and the S3 credentials; the
deployments come from prefect.workers.yaml (each run clones the repository, installs nothing since
adgen is already in the environment, pulls its stage's inputs from S3). Both flows' commits must
then restore from a fresh clone of the git remote: `git clone` + `dvc pull` from S3 + a clean
`dvc status` (adgen.orchestrate.restore.verify).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from adgen.orchestrate import dag, restore
from tests.orchestrate import servers
from tests.orchestrate.conftest import dvc, make_workspace
from tests.orchestrate.harness import PrefectServer
from tests.orchestrate.servers import S3Store, bare_remote, git

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("orchestrate-two-workers")]

s3_store = servers.s3_store  # the fixture (a SeaweedFS server for the test)
UUID = re.compile(r"UUID: ([0-9a-f-]{36})")


def machine(root: Path, remote: Path, s3: S3Store) -> dict[str, str]:
    """What a worker machine has: its own home and temp dir, the git remote's URL, S3 credentials."""
    for sub in ("home", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(root / "home"),
        "TMPDIR": str(root / "tmp"),
        "ADGEN_GIT_URL": str(remote),
        "ADGEN_PROJECT_DIR": "",
        "AWS_EC2_METADATA_DISABLED": "true",
        **s3.env(),
    }


def assert_completed(server: PrefectServer, run: dict) -> None:
    if run["state"]["type"] != "COMPLETED":
        workers = server.log("worker-default.log")[-5000:] + server.log("worker-gpu.log")[-5000:]
        raise AssertionError(
            f"flow run {run['name']} ended {run['state']['type']}:\n{server.run_logs(run['id'])[-8000:]}\n"
            f"--- workers ---\n{workers}"
        )


def test_a_refresh_on_one_machine_and_a_training_on_another_both_restore_from_a_clone(
    tmp_path: Path,
    prefect_server: PrefectServer,
    s3_store: S3Store,
    fixture_site,
    models_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    trainings = [s for s in dag.stages(Path(__file__).parents[2]) if s.startswith("train_")]
    if not trainings:
        pytest.skip("no training stage in dvc.yaml yet")
    model = trainings[0].removeprefix("train_")

    # The team's repository: the demo workspace, its S3 remote committed, its inputs in the store.
    seed = make_workspace(
        tmp_path / "team",
        fixture_site.base_url,
        models_cache,
        overrides={"orchestrate": {"retrain_models": [model]}},
    )
    (seed / ".dvc" / "config.local").unlink(missing_ok=True)  # only what every machine shares
    s3_store.add_remote(seed, "s3", "adgen")  # the demo put its inputs under DVC already (inputs/*.dvc)
    git(seed, "add", ".dvc/config")
    git(seed, "commit", "-q", "-m", "Team set-up: S3 remote")
    for name, value in s3_store.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    dvc(seed, "push")  # inputs/ is not git-ignored (only its data files): its .dvc files are pushed too
    remote = bare_remote(seed, tmp_path / "pipeline.git")
    seed_head = git(seed, "rev-parse", "HEAD")

    server = prefect_server
    server.create_process_pools("default", "gpu")
    server.cli("deploy", "--all", "--prefect-file", "prefect.workers.yaml", cwd=seed)
    server.start_worker("default", **machine(tmp_path / "machine-a", remote, s3_store))
    server.start_worker("gpu", **machine(tmp_path / "machine-b", remote, s3_store))

    out = server.cli("deployment", "run", "refresh-dataset/weekly")
    refresh = server.wait_for_run(UUID.search(out).group(1), timeout=600)
    assert_completed(server, refresh)
    published = git(remote, "log", "--format=%s", "main")
    assert "Dataset version" in published, f"the refresh's commit is not in the git remote:\n{published}"
    [train] = server.flow_runs_of(f"train-{model}/gpu")
    train = server.wait_for_run(train["id"], timeout=480)
    assert_completed(server, train)
    waited = dt.datetime.fromisoformat(train["start_time"]) - dt.datetime.fromisoformat(train["created"])
    print(f"\n[measure] training run created -> flow start on machine B: {waited.total_seconds():.1f} s")

    # Each run worked in a clone on its own machine, never in the team's checkout.
    assert git(seed, "rev-parse", "HEAD") == seed_head
    assert not (seed / "metrics" / f"{model}.json").exists()

    # A fresh clone of the git remote holds both commits, and each restores from S3.
    clone = tmp_path / "fresh"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    subjects = git(clone, "log", "--format=%H %s").splitlines()
    # each commit holds only its own stages: check those (and what they depend on) restore clean
    made = {
        stage: [line.split()[0] for line in subjects if line.split(" ", 1)[1].startswith(kind)]
        for kind, stage in (("Dataset version", "build_datasets"), (f"Train {model}", f"train_{model}"))
    }
    assert all(made.values()), subjects
    for stage, commits in made.items():
        restore.verify(clone, commits[0], stages=[stage])
