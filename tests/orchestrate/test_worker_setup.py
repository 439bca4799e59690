"""The one-machine pull step: a flow run enters ADGEN_PROJECT_DIR, or fails in one line saying what to set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adgen.orchestrate.worker_setup import WorkerSetupError, check_project_dir, enter_project_dir


@pytest.mark.parametrize("value", [None, "", "   "])
def test_an_unset_project_dir_names_the_variable_to_set(value):
    with pytest.raises(WorkerSetupError) as err:
        check_project_dir(value)
    message = str(err.value)
    assert message.startswith("ADGEN_PROJECT_DIR is not set on this worker")
    assert "\n" not in message


def test_a_relative_project_dir_is_refused(tmp_path: Path):
    with pytest.raises(WorkerSetupError, match="must be an absolute path"):
        check_project_dir("adgen")


def test_a_dir_that_is_not_a_checkout_says_what_is_missing(tmp_path: Path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(WorkerSetupError, match=r"is not an AdGen checkout \(no params.yaml, flows\)"):
        check_project_dir(str(tmp_path))


def test_the_step_enters_the_checkout(repo_root: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir("/")
    monkeypatch.delenv("ADGEN_PROJECT_DIR", raising=False)
    assert enter_project_dir(str(repo_root)) == {"directory": str(repo_root.resolve())}
    assert Path(os.getcwd()) == repo_root.resolve()


def test_the_step_reads_the_variable_when_the_template_left_nothing(repo_root: Path, monkeypatch):
    monkeypatch.chdir("/")
    monkeypatch.setenv("ADGEN_PROJECT_DIR", str(repo_root))
    assert enter_project_dir("") == {"directory": str(repo_root.resolve())}


def test_each_run_gets_its_own_clone_sharing_the_checkouts_dvc_cache(tmp_path: Path, monkeypatch):
    """prefect.yaml's step (issue 26 case 4): runs on one machine never share a working tree or
    DVC's lock, and restore the checkout's data from its cache without a network copy."""
    import subprocess
    import sys

    from adgen.orchestrate import commands
    from adgen.orchestrate.worker_setup import clone_project_dir
    from tests.orchestrate.conftest import git

    project = tmp_path / "project"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "x.py").write_text("")
    git(project, "init", "-q", "-b", "main")
    subprocess.run(
        [sys.executable, "-m", "dvc", "init", "-q"], cwd=project, check=True, env=commands.tool_env()
    )
    (project / "params.yaml").write_text("x: 1\n")
    (project / "data.txt").write_text("a dataset version\n")
    subprocess.run(
        [sys.executable, "-m", "dvc", "add", "-q", "data.txt"],
        cwd=project,
        check=True,
        env=commands.tool_env(),
    )
    (project / "dvc.yaml").write_text("stages: {}\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "project")
    deployed = git(project, "rev-parse", "HEAD").strip()

    dirs = []
    for run in ("run-1", "run-2"):
        (tmp_path / run).mkdir()
        monkeypatch.chdir(tmp_path / run)
        dirs.append(Path(clone_project_dir(str(project), deployed, "main", [])["directory"]))
        assert Path(os.getcwd()) == dirs[-1]
    assert dirs[0] != dirs[1] and all(project not in d.parents for d in dirs)
    for clone in dirs:
        assert (clone / "data.txt").read_text() == "a dataset version\n"  # from the checkout's cache
        cache = commands.run(commands.dvc("cache", "dir"), cwd=clone).strip().splitlines()[-1]
        assert Path(cache).resolve() == (project / ".dvc" / "cache").resolve()


@pytest.mark.parametrize("prefect_file", ["prefect.yaml", "prefect.workers.yaml"])
def test_the_generate_deployment_restores_every_declared_models_training(repo_root: Path, prefect_file: str):
    """generate.approach may name any chain (or best), so a generate run's clone needs every trained
    model: it restored only approach 1's three, and `best` skipped the rest as untrained."""
    import yaml

    from adgen.models.registry import models

    deployments = yaml.safe_load((repo_root / prefect_file).read_text())["deployments"]
    (generate,) = [d for d in deployments if d["entrypoint"].startswith("flows/generate_ads.py")]
    pulled = set(
        yaml.safe_dump(generate["pull"]).replace(",", " ").replace("[", " ").replace("]", " ").split()
    )
    assert {f"train_{name}" for name in models()} <= pulled
