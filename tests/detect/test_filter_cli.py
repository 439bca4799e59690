"""`adgen filter` and `adgen fixture-models detector` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from adgen.config.detect import MASK_RCNN_HANDLE
from adgen.detect.stage import run_filter

from .conftest import (
    BAG_IN_HAND,
    HANDBAG,
    PERSON,
    RED,
    build_scripted_detector,
    draw_photo,
    kept_photo,
)


def adgen(*args: str, cwd: Path, env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "adgen.cli", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("adgen: error:")]


def test_a_missing_hub_model_is_one_line_naming_handle_download_and_param(
    make_project, tmp_path: Path
) -> None:
    project = make_project(Path("unused"))
    project.add_image(kept_photo())
    project.detect = {}  # the default: the Mask R-CNN Hub handle; no network, empty cache here
    project.write()
    offline = {  # even where there is network, never download a 1 GB model in a test: a dead proxy
        "TFHUB_CACHE_DIR": str(tmp_path / "hub"),
        **{k: "http://127.0.0.1:9" for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")},
        "NO_PROXY": "",
        "no_proxy": "",
    }
    code, _, err = finish(adgen("filter", cwd=project.root, env=offline))
    assert code == 2
    (line,) = error_lines(err)
    assert MASK_RCNN_HANDLE in line and "detect.model" in line and "?tf-hub-format=compressed" in line
    assert "Traceback" not in err


def test_a_local_model_dir_without_a_savedmodel_is_one_line(make_project, tmp_path: Path) -> None:
    project = make_project(tmp_path / "nothing-here")
    project.add_image(kept_photo())
    project.write()
    code, _, err = finish(adgen("filter", cwd=project.root))
    assert code == 2
    (line,) = error_lines(err)
    assert "detect.model" in line and "nothing-here" in line


@pytest.mark.slow
def test_fixture_detector_command_builds_a_model_the_filter_uses(make_project, tmp_path: Path) -> None:
    model = tmp_path / "fixture-detector"
    code, out, err = finish(adgen("fixture-models", "detector", str(model), cwd=tmp_path))
    assert code == 0, err
    assert "FIXTURE" in out and (model / "saved_model.pb").is_file()

    project = make_project(model)
    keep = project.add_image(kept_photo())
    project.add_image(draw_photo([(PERSON, RED)], []))
    project.write()
    truth = project.root / "truth.json"
    truth.write_text(json.dumps({"images": {keep: {"expected_keep": True}}}))
    code, out, err = finish(adgen("filter", "--ground-truth", str(truth), cwd=project.root))
    assert code == 0, err
    assert "kept 1 of 2" in out and "no_bag" in out and "precision 1.0 recall 1.0" in out

    code, out, err = finish(adgen("filter", "--ground-truth", str(truth), cwd=project.root))
    assert code == 0 and "up to date" in out


@pytest.mark.slow
def test_a_killed_run_resumes_with_only_the_undecided_images(make_project, tmp_path: Path) -> None:
    slow = build_scripted_detector(
        tmp_path / "slow",
        [[0.1, 0.35, 0.9, 0.62], [0.5, 0.6, 0.62, 0.72]],
        [1, 31],
        [0.9, 0.9],
        delay_matmuls=300,
    )
    project = make_project(slow)
    for i in range(30):
        project.add_image(draw_photo([(PERSON, RED)], [(BAG_IN_HAND, HANDBAG)], (100 + i, 150)))
    project.detect["chunk_size"] = 2
    params = project.write()

    proc = adgen("filter", cwd=project.root, start_new_session=True)
    parts = project.root / "data/filtered/parts"
    deadline = time.monotonic() + 120
    while not list(parts.glob("*/*.parquet")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    decided = sum(len(pd.read_parquet(p)) for p in parts.glob("*/*.parquet"))
    assert 0 < decided < 30, "the run should have been killed between chunks"
    assert not (project.root / "data/filtered/manifest.parquet").exists()

    result = run_filter(params)
    assert result.processed == 30 - decided
    assert len(project.filtered()) == 30 and set(project.filtered()["reason"]) == {"kept"}
