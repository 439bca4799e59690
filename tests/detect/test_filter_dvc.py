"""The `filter` stage block of dvc.yaml runs under real `dvc repro` (and a second repro is a no-op)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import PERSON, RED, Project, draw_photo, kept_photo

BIN = Path(sys.executable).parent  # the venv's bin: `adgen` and `dvc`


def run(cmd: list[str], cwd: Path) -> str:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.integration
def test_dvc_repro_runs_the_filter_stage_and_then_does_nothing(project: Project, repo_root: Path) -> None:
    project.add_image(kept_photo())
    project.add_image(draw_photo([(PERSON, RED)], []))
    root = project.root
    # the model is a DVC-tracked input under inputs/ (issue 26), the ground truth a git-tracked one
    shutil.copytree(project.detect["model"], root / "inputs/detector")
    shutil.copy2(repo_root / "inputs/ground-truth.json", root / "inputs/ground-truth.json")
    project.detect["model"] = "inputs/detector"
    project.write()
    stage = yaml.safe_load((repo_root / "dvc.yaml").read_text())["stages"]["filter"]
    stage["deps"] = [d for d in stage["deps"] if not str(d).startswith("adgen/")]  # code is installed here
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"filter": stage}}))
    (root / "review").mkdir()
    (root / "review/overrides.yaml").write_text(
        (repo_root / "review/overrides.yaml").read_text()
    )  # as a clone has it
    run(["git", "init", "-q"], root)
    run(["dvc", "init", "-q"], root)

    first = run(["dvc", "repro"], root)
    assert "Running stage 'filter'" in first
    assert len((root / "data/filtered/manifest.parquet").read_bytes()) > 0
    assert "kept 1 of 2" in first

    second = run(["dvc", "repro"], root)
    assert "Running stage 'filter'" not in second
    metrics = run(["dvc", "metrics", "show", "--json"], root)
    assert '"kept": 1' in metrics.replace(" ", "").replace('"kept":1', '"kept": 1')
