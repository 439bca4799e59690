"""Issue 14, cases 2 and 7 (read-only output dirs): a disk error is never an item's fault.

A stage whose output dir cannot be written stops with one line, writes no stamp and leaves its
previous complete outputs as they were; after the disk is fixed the same command does the work.
Before the fix `adgen strip` recorded every photo as "unreadable", wrote its manifest and stamp and
then said "up to date" for good.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.matting.scenes import draw_person, write_filtered_project

from .conftest import adgen, broken_dir, error_line


def _strip_project(root: Path, crop_margin: float) -> None:
    (root / "params.yaml").write_text(
        yaml.safe_dump({"strip": {"refine_detector_masks": False, "crop_margin": crop_margin}})
    )


@pytest.mark.parametrize("how", ["bind-mount", "injected"])
def test_strip_with_a_read_only_cutout_dir_stops_and_the_rerun_does_the_work(
    how: str, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    write_filtered_project(root, [draw_person(seed=s) for s in (1, 2)], image_format="PNG")
    _strip_project(root, 0.05)
    assert adgen("strip", cwd=root).returncode == 0
    manifest = root / "data/stripped/manifest.parquet"
    stamp = root / "data/stripped/.stamp"
    before, stamp_before = manifest.read_bytes(), stamp.read_text()
    assert pd.read_parquet(manifest)["keep"].sum() == 2

    _strip_project(root, 0.2)  # new params: every photo must be cut out again
    with broken_dir(root / "data/stripped/images", tmp_path / "hook", inject=how == "injected") as env:
        proc = adgen("strip", cwd=root, env=env)
    line = error_line(proc)
    assert "cannot write" in line and "data/stripped/images" in line
    assert manifest.read_bytes() == before and stamp.read_text() == stamp_before  # the last good run stands

    proc = adgen("strip", cwd=root)  # the disk is fixed
    assert proc.returncode == 0, proc.stderr
    assert "up to date" not in proc.stdout
    df = pd.read_parquet(manifest)
    assert df["keep"].sum() == 2 and (df["reason"] == "kept").all()
    assert all((root / p).is_file() for p in df["person_rgba_path"])
    assert "up to date" in adgen("strip", cwd=root).stdout
