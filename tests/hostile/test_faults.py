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

from adgen.store.photos import Photos
from tests.detect.conftest import Project, fixture_detector_dir, kept_photo  # noqa: F401
from tests.matting.scenes import draw_person, write_filtered_project
from tests.pose.conftest import fixture_pose_dir  # noqa: F401

from .conftest import adgen, broken_dir, error_line, write_png


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
    with broken_dir(root / "data/stripped/store", tmp_path / "hook", inject=how == "injected") as env:
        proc = adgen("strip", cwd=root, env=env)
    line = error_line(proc)
    assert "cannot write" in line and "data/stripped/store" in line
    assert manifest.read_bytes() == before and stamp.read_text() == stamp_before  # the last good run stands

    proc = adgen("strip", cwd=root)  # the disk is fixed
    assert proc.returncode == 0, proc.stderr
    assert "up to date" not in proc.stdout
    df = pd.read_parquet(manifest)
    assert df["keep"].sum() == 2 and (df["reason"] == "kept").all()
    from adgen import config
    from adgen.matting.strip import cutouts

    stored = cutouts(config.load(root / "params.yaml"))
    assert all(stored.get(m) for m in df["person_rgba"])
    assert "up to date" in adgen("strip", cwd=root).stdout


def test_filter_with_a_read_only_mask_dir_stops_and_the_rerun_does_the_work(
    tmp_path: Path,
    fixture_detector_dir: Path,  # noqa: F811
) -> None:
    project = Project(tmp_path, fixture_detector_dir)
    project.add_image(kept_photo())
    project.add_image(kept_photo((170, 250)))
    project.write()
    with broken_dir(tmp_path / "data/filtered/store", tmp_path / "hook") as env:  # where the masks go
        line = error_line(adgen("filter", cwd=tmp_path, env=env))
    assert "cannot write" in line and "store" in line
    assert not (tmp_path / "data/filtered/.filter-stamp").exists()
    assert not (tmp_path / "data/filtered/manifest.parquet").exists()

    proc = adgen("filter", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    df = project.filtered()
    masks = Photos(tmp_path / "data/filtered/store")
    assert df["keep"].all() and all(masks.read({"member": m}) for m in df["person_mask"])


def test_pose_with_a_read_only_output_dir_stops_and_the_rerun_does_the_work(
    tmp_path: Path,
    fixture_pose_dir: Path,  # noqa: F811
) -> None:
    write_filtered_project(tmp_path, [draw_person(seed=1)], image_format="PNG")
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"pose": {"model": str(fixture_pose_dir)}, "strip": {"refine_detector_masks": False}})
    )
    assert adgen("strip", cwd=tmp_path).returncode == 0  # pose runs on strip's output
    with broken_dir(tmp_path / "data/pose", tmp_path / "hook") as env:
        line = error_line(adgen("pose", cwd=tmp_path, env=env))
    assert "cannot write" in line and "data/pose" in line
    proc = adgen("pose", cwd=tmp_path)
    assert proc.returncode == 0 and "1 images estimated" in proc.stdout, proc.stderr


def test_build_datasets_that_fills_the_disk_puts_the_last_datasets_back(tmp_path: Path) -> None:
    write_filtered_project(
        tmp_path, [draw_person(seed=s, w=180, h=300) for s in range(3)], image_format="PNG"
    )
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"strip": {"refine_detector_masks": False}, "datasets": {"stylegan2_resolution": 32}})
    )
    assert adgen("strip", cwd=tmp_path).returncode == 0
    assert adgen("build-datasets", cwd=tmp_path).returncode == 0
    out = tmp_path / "data/datasets"
    before = {
        p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".stamp"
    }

    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"strip": {"refine_detector_masks": False}, "datasets": {"stylegan2_resolution": 64}})
    )
    with broken_dir(out, tmp_path / "hook", "ENOSPC", after=4) as env:  # full after a few files
        line = error_line(adgen("build-datasets", cwd=tmp_path, env=env))
    assert "No space left on device" in line
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".stamp"}
    assert after == before  # the last complete datasets, as they were

    proc = adgen("build-datasets", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    card = yaml.safe_load((out / "stylegan2/card.json").read_text())
    assert card["sizes"]["height"] == 64 and not (out / ".previous").exists()


def test_bags_import_into_a_read_only_bag_dir_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    bags = tmp_path / "bags"
    write_png(bags / "one.png", mode="RGBA")
    (tmp_path / "params.yaml").write_text("{}\n")
    assert adgen("bags", "import", str(bags), cwd=tmp_path).returncode == 0
    table = tmp_path / "data/user_bags/bags.parquet"
    before = table.read_bytes()
    write_png(bags / "two.png", size=(20, 30), mode="RGBA")
    with broken_dir(tmp_path / "data/user_bags/store", tmp_path / "hook") as env:
        line = error_line(adgen("bags", "import", str(bags), cwd=tmp_path, env=env))
    assert "cannot write" in line
    assert table.read_bytes() == before
