"""Runs in their own clones meet only at the git remote: each publishes a commit of its own stages on
top of whatever the others pushed, never reverting their lock entries or params (real git, a bare
remote; the lock files are written as DVC writes them, no DVC needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adgen.orchestrate import runclone
from tests.orchestrate.conftest import git, lock_with

DVC_YAML = """stages:
  train_a: {cmd: a, outs: [out/train_a], metrics: [{metrics/a.json: {cache: false}}]}
  train_b: {cmd: b, outs: [out/train_b], metrics: [{metrics/b.json: {cache: false}}]}
"""


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "dvc.yaml").write_text(DVC_YAML)
    (seed / "dvc.lock").write_text(lock_with(train_a="a1", train_b="b1"))
    (seed / "params.yaml").write_text("train: {}\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "pipeline")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    return bare


def entries(repo: Path, rev: str = "main") -> dict[str, str]:
    data = yaml.safe_load(git(repo, "show", f"{rev}:dvc.lock"))
    return {stage: e["outs"][0]["md5"] for stage, e in data["stages"].items()}


def test_two_runs_from_one_base_both_land_without_reverting_each_other(origin: Path, tmp_path: Path):
    a, b = tmp_path / "run-a", tmp_path / "run-b"
    base_a, base_b = runclone.clone_at(origin, a), runclone.clone_at(origin, b)
    assert base_a == base_b
    (a / "params.yaml").write_text("train: {a: {preset: demo}}\n")  # run a applied a preset
    (a / "dvc.lock").write_text(lock_with(train_a="a2", train_b="b1"))
    (b / "dvc.lock").write_text(lock_with(train_a="a1", train_b="b2"))  # b knows nothing of a's run
    (b / "metrics").mkdir()
    (b / "metrics" / "b.json").write_text('{"step": 2}\n')
    assert runclone.publish(a, ["train_a"], "Train a", base=base_a, require_remote=False)
    pushed = runclone.publish(b, ["train_b"], "Train b", base=base_b, require_remote=False)
    assert pushed == git(origin, "rev-parse", "main").strip()
    assert entries(origin) == {"train_a": "a2", "train_b": "b2"}
    assert "preset: demo" in git(origin, "show", "main:params.yaml")  # b did not revert a's params
    assert git(origin, "show", "main:metrics/b.json")
    assert git(origin, "log", "--format=%s", "main").split("\n")[:2] == ["Train b", "Train a"]


def test_a_rejected_push_is_retried_on_the_new_head(origin: Path, tmp_path: Path):
    run = tmp_path / "run"
    base = runclone.clone_at(origin, run)
    (run / "dvc.lock").write_text(lock_with(train_a="a3", train_b="b1"))
    hook = run / ".git" / "hooks" / "pre-push"
    hook.write_text(
        f"#!/bin/sh\n[ -e {tmp_path}/rejected-once ] && exit 0\ntouch {tmp_path}/rejected-once\nexit 1\n"
    )
    hook.chmod(0o755)
    assert runclone.publish(run, ["train_a"], "Train a", base=base, require_remote=False, wait_s=0.01)
    assert (tmp_path / "rejected-once").exists()
    assert entries(origin) == {"train_a": "a3", "train_b": "b1"}


def test_a_push_that_keeps_failing_says_so_in_one_line(origin: Path, tmp_path: Path):
    run = tmp_path / "run"
    base = runclone.clone_at(origin, run)
    (run / "dvc.lock").write_text(lock_with(train_a="a4", train_b="b1"))
    hook = run / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(runclone.PublishFailed, match="after 2 tries"):
        runclone.publish(run, ["train_a"], "Train a", base=base, require_remote=False, tries=2, wait_s=0.01)
    assert entries(origin) == {"train_a": "a1", "train_b": "b1"}


def test_a_run_that_changed_nothing_publishes_nothing(origin: Path, tmp_path: Path):
    run = tmp_path / "run"
    base = runclone.clone_at(origin, run, rev="main")
    assert runclone.publish(run, ["train_a"], "Train a", base=base, require_remote=False) is None
    assert git(origin, "rev-parse", "main").strip() == base


def test_a_flow_commit_is_published_only_from_a_clone_of_the_pipeline_remote(
    origin: Path, tmp_path: Path, monkeypatch
):
    from adgen.orchestrate import versions

    run = tmp_path / "run"
    base = runclone.clone_at(origin, run)
    (run / "dvc.lock").write_text(lock_with(train_a="a5", train_b="b1"))
    monkeypatch.delenv(runclone.GIT_URL_ENV, raising=False)  # a checkout the worker was pointed at
    assert versions.commit_pipeline_state(run, "Train a", ["train_a"], base=base)
    assert entries(origin) == {"train_a": "a1", "train_b": "b1"}  # committed here only, not pushed
    (run / "dvc.lock").write_text(lock_with(train_a="a6", train_b="b1"))
    monkeypatch.setenv(runclone.GIT_URL_ENV, str(origin))  # the worker cloned the run from origin
    assert versions.commit_pipeline_state(run, "Train a again", ["train_a"], base=base)
    assert entries(origin) == {"train_a": "a6", "train_b": "b1"}
    git(run, "tag", "-a", "dataset-x", "-m", "kept=1")
    runclone.push_tag(run, "dataset-x")
    assert git(origin, "tag", "--list").split() == ["dataset-x"]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A project checkout on one machine (prefect.yaml's ADGEN_PROJECT_DIR): not bare, main checked out."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "dvc.lock").write_text(lock_with(train_a="a1", train_b="b1"))
    (repo / "params.yaml").write_text("train: {}\n")
    (repo / "flow.txt").write_text("deployed flows\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    return repo


def test_a_run_clone_of_a_checkout_runs_the_deployed_code_on_the_newest_state_and_publishes_into_it(
    checkout: Path, tmp_path: Path
):
    deployed = git(checkout, "rev-parse", "HEAD").strip()
    # after the deploy: a run published a lock entry, someone committed newer flows
    (checkout / "dvc.lock").write_text(lock_with(train_a="a2", train_b="b1"))
    (checkout / "flow.txt").write_text("newer flows, not deployed\n")
    git(checkout, "commit", "-q", "-am", "Train a; newer flows")
    head = git(checkout, "rev-parse", "HEAD").strip()

    run = runclone.clone_project(checkout, tmp_path / "run", commit=deployed)
    assert (run / "flow.txt").read_text() == "deployed flows\n"
    assert entries(run, "HEAD") == {"train_a": "a2", "train_b": "b1"}  # the newest pipeline state
    assert runclone.publishing_remote(run) == "origin"

    (run / "dvc.lock").write_text(lock_with(train_a="a2", train_b="b2"))
    pushed = runclone.publish(run, ["train_b"], "Train b", base=head, require_remote=False)
    assert pushed == git(checkout, "rev-parse", "main").strip()
    # the checkout's working tree followed the push: nothing shows as changed there
    assert not git(checkout, "status", "--porcelain").strip()
    assert entries(checkout, "main") == {"train_a": "a2", "train_b": "b2"}
    assert (checkout / "flow.txt").read_text() == "newer flows, not deployed\n"  # code is not a run's


def test_a_run_does_not_push_over_edits_in_the_checkout(checkout: Path, tmp_path: Path):
    run = runclone.clone_project(checkout, tmp_path / "run")
    base = git(run, "rev-parse", "HEAD").strip()
    (checkout / "params.yaml").write_text("train: {a: {edited: by hand}}\n")  # uncommitted
    (run / "dvc.lock").write_text(lock_with(train_a="a1", train_b="b2"))
    with pytest.raises(runclone.PublishFailed, match="uncommitted"):
        runclone.publish(run, ["train_b"], "Train b", base=base, require_remote=False, tries=2, wait_s=0)
    assert (checkout / "params.yaml").read_text() == "train: {a: {edited: by hand}}\n"


def test_a_rebuilt_lock_keeps_the_values_as_dvc_reads_them():
    """`2:1` (datasets.stylegan2_aspect, unquoted in DVC's dvc.lock) came back as 121 through
    PyYAML's YAML 1.1: a training rebuilt on another run's head then committed a build_datasets
    entry that no longer matched params.yaml, and `adgen versions verify` refused the commit."""
    from dvc.utils.serialize import loads_yaml

    from adgen.orchestrate import stagecommit

    head = lock_with(train_a="a1", train_b="b1").replace(
        "    cmd: train_a\n",
        "    cmd: train_a\n    params:\n      params.yaml:\n        d:\n          aspect: 2:1\n          n:\n",
    )
    merged = stagecommit.merged_lock(head, lock_with(train_a="a1", train_b="b2"), ["train_b"])
    stages = loads_yaml(merged)["stages"]
    assert stages["train_a"]["params"]["params.yaml"]["d"] == {"aspect": "2:1", "n": None}
    assert stages["train_b"]["outs"][0]["md5"] == "b2"


def test_runs_publishing_into_a_checkout_at_the_same_moment_all_land_and_leave_it_clean(tmp_path: Path):
    """CI's weekly-refresh test met it: a refresh and a training pushed into the checkout together,
    git applied the loser's working-tree update but refused its ref update, and the checkout kept a
    staged dvc.lock that refused every later push (7 of 8 runs failed here before the lock)."""
    import threading

    stages = [f"train_{i}" for i in range(6)]
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "dvc.yaml").write_text(
        "stages:\n" + "".join(f"  {s}: {{cmd: x, outs: [out/{s}]}}\n" for s in stages)
    )
    (repo / "dvc.lock").write_text(lock_with(**dict.fromkeys(stages, "old")))
    (repo / "params.yaml").write_text("train: {}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    runs = []
    for stage in stages:
        run = runclone.clone_project(repo, tmp_path / f"run-{stage}")
        (run / "dvc.lock").write_text(lock_with(**{s: ("new" if s == stage else "old") for s in stages}))
        runs.append((run, stage, git(run, "rev-parse", "HEAD").strip()))
    failed: list[str] = []

    def publish(run: Path, stage: str, base: str) -> None:
        try:
            runclone.publish(run, [stage], f"Train {stage}", base=base, require_remote=False, wait_s=0.2)
        except runclone.PublishFailed as exc:
            failed.append(str(exc))

    threads = [threading.Thread(target=publish, args=r) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    assert entries(repo) == dict.fromkeys(stages, "new")
    assert not git(repo, "status", "--porcelain").strip()  # the checkout's tree and index follow main
    assert len(git(repo, "log", "--format=%s", "main").splitlines()) == len(stages) + 1
