"""The strip, pose and build_datasets blocks of the repository's dvc.yaml run under a real `dvc repro`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.matting.scenes import draw_person, write_filtered_project


@pytest.mark.slow
def test_dvc_repro_runs_the_prepare_stages_then_skips_them(
    tmp_path: Path, repo_root: Path, fixture_pose_dir: Path
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    stages = yaml.safe_load((repo_root / "dvc.yaml").read_text())["stages"]
    mine = {k: stages[k] for k in ("strip", "pose", "build_datasets")}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": mine}, sort_keys=False))
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump(
            {
                # DVC needs every param key a stage names to be present in the file.
                "strip": {"refine_detector_masks": False, "include_no_bag": True},
                "pose": {"model": "inputs/pose"},  # a DVC-tracked input (issue 26), copied below
                "datasets": {"deepfashion": None, "stylegan2_resolution": 32, "stgan_sizes": [64]},
            }
        )  # fmt: skip
    )
    code = {d for stage in mine.values() for d in stage["deps"] if d.startswith("adgen/")}
    for dep in sorted(code):  # the code each stage declares (folders and single modules)
        src, dest = repo_root / dep, tmp_path / dep
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    shutil.copytree(fixture_pose_dir, tmp_path / "inputs/pose")
    for dep in sorted({d for stage in mine.values() for d in stage["deps"] if d.startswith("inputs/")}):
        if (repo_root / dep).is_file():  # git-tracked inputs (the ground truth) as a clone has them
            (tmp_path / dep).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo_root / dep, tmp_path / dep)
    write_filtered_project(tmp_path, [draw_person(seed=1), draw_person(seed=2, bag=None)])
    assert (tmp_path / "data/filtered/store/index.parquet").is_file()  # the masks, as the filter stores them
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip

    def run(*cmd: str) -> str:
        out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    run("git", "init", "-q")
    run(sys.executable, "-m", "dvc", "init", "-q")
    first = run(sys.executable, "-m", "dvc", "repro")
    assert "adgen strip" in first and "adgen pose" in first and "adgen build-datasets" in first
    assert (tmp_path / "data/datasets/stylegan2/people-bags.zip").is_file()
    metrics = run(sys.executable, "-m", "dvc", "metrics", "show", "--json")
    assert "metrics/datasets.json" in metrics and "real_64" in metrics  # numbers only, git-tracked
    second = run(sys.executable, "-m", "dvc", "repro")
    assert "adgen strip" not in second and "didn't change" in second
