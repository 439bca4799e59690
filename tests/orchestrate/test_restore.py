"""A commit is made only once its outputs are in the DVC remote, and `adgen versions verify` proves a
commit restores from a fresh clone (real git, real DVC, a local-directory remote; a two-stage toy
pipeline so each check takes seconds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adgen.orchestrate import commands, restore, stagecommit, versions
from tests.orchestrate.conftest import dvc, git

pytestmark = [pytest.mark.integration]

WRITE = """import json, pathlib, sys
name = sys.argv[1]
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path(f"out/{name}.txt").write_text(pathlib.Path("seed.txt").read_text() + name)
pathlib.Path(f"metrics/{name}.json").write_text(json.dumps({"n": len(name)}))
"""
DVC_YAML = """stages:
  a:
    cmd: python write.py a
    deps: [write.py, seed.txt]
    outs: [out/a.txt]
    metrics: [{metrics/a.json: {cache: false}}]
  b:
    cmd: python write.py b
    deps: [write.py, out/a.txt]
    outs: [out/b.txt]
    metrics: [{metrics/b.json: {cache: false}}]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    dvc(root, "init", "-q")
    (root / "write.py").write_text(WRITE)
    (root / "seed.txt").write_text("1")
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "metrics").mkdir()
    (root / "params.yaml").write_text("{}\n")
    # a relative local remote, as the project's .dvc/config has: a clone elsewhere must still find it
    dvc(root, "remote", "add", "-d", "local", "../remote")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pipeline")
    dvc(root, "repro")
    return root


def test_no_commit_is_made_while_the_remote_lacks_the_stage_outputs(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(stagecommit.NotPushed, match="out/a.txt"):
        versions.commit_pipeline_state(repo, "unpushed", ["a"], require_remote=True)
    assert git(repo, "rev-parse", "HEAD") == head


def test_verify_names_what_a_clone_of_an_unpushed_commit_cannot_restore(repo: Path):
    dvc(repo, "push", "a")  # b's output stays only in this checkout's cache
    assert versions.commit_pipeline_state(repo, "both stages")
    with pytest.raises(restore.NotRestorable, match="does not restore") as err:
        restore.verify(repo, "HEAD")
    assert "out/b.txt" in str(err.value)
    assert restore.verify(repo, "HEAD", stages=["a"])  # stage a alone is complete in the remote


def test_versions_verify_command_reports_in_one_line(repo: Path):
    dvc(repo, "push")
    versions.commit_pipeline_state(repo, "both stages")
    ok = subprocess.run(
        [sys.executable, "-m", "adgen.cli", "versions", "verify"],
        cwd=repo,
        env=commands.tool_env(),
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "restores from a fresh clone" in ok.stdout
    (repo / "seed.txt").write_text("2")
    git(repo, "commit", "-q", "-m", "new seed", "--", "seed.txt")
    dvc(repo, "repro")
    versions.commit_pipeline_state(repo, "new seed, not pushed")  # a: new output only in the cache
    bad = subprocess.run(
        [sys.executable, "-m", "adgen.cli", "versions", "verify", "HEAD"],
        cwd=repo,
        env=commands.tool_env(),
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "does not restore" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_long_remote_path_comes_back_whole(tmp_path: Path):
    """`dvc remote list` wraps its table at the terminal's width: a long path was cut in two."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    dvc(root, "init", "-q")
    far = tmp_path / ("a-remote-directory-with-a-long-name-" * 4) / "remote"
    dvc(root, "remote", "add", "-d", "far", str(far))
    assert restore.remotes(root) == {"far": str(far)}
