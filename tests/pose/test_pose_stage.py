"""The pose stage: stripped people estimated on their photo's crop, stored in the whole photo's frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adgen import config
from adgen.errors import UserError
from adgen.pose.openpose import coco17_to_openpose18
from adgen.pose.stage import estimate_poses, keypoints_array
from tests.datasets.deepfashion_folder import build_deepfashion
from tests.matting.scenes import draw_person
from tests.pose.conftest import write_stripped_project


def test_pose_table_has_18_keypoints_per_kept_person_in_photo_coordinates(
    tmp_path: Path, fixture_pose_dir: Path
) -> None:
    scenes = [draw_person(w=240, h=300, seed=i, dx=0.15 * (i - 1)) for i in range(3)]
    df = write_stripped_project(tmp_path, scenes)
    p = config.from_dict({"pose": {"model": str(fixture_pose_dir)}}, root=tmp_path)
    r = estimate_poses(p)
    assert (r.n_kept, r.n_estimated, r.skipped) == (3, 3, False)
    table = pd.read_parquet(r.table_path)
    assert set(table["source"]) == {"kept"}
    for image_id, scene in zip(df["image_id"], scenes, strict=True):
        row = table[table["image_id"] == image_id].iloc[0]
        assert (row["width"], row["height"]) == (240, 300)
        kp = keypoints_array(row["keypoints"])
        err = np.abs(kp[:, :2] - coco17_to_openpose18(scene.coco)[:, :2]) * [240, 300]
        assert err.max() < 2.5


def test_rerun_with_unchanged_inputs_does_nothing_and_new_photos_only_are_estimated(
    tmp_path: Path, fixture_pose_dir: Path
) -> None:
    write_stripped_project(tmp_path, [draw_person(seed=1)])
    p = config.from_dict({"pose": {"model": str(fixture_pose_dir)}}, root=tmp_path)
    assert estimate_poses(p).n_estimated == 1
    before = (tmp_path / "data/pose/keypoints.parquet").stat().st_mtime_ns
    assert estimate_poses(p).skipped
    assert (tmp_path / "data/pose/keypoints.parquet").stat().st_mtime_ns == before
    write_stripped_project(tmp_path, [draw_person(seed=1), draw_person(seed=2)])
    r = estimate_poses(p)
    assert (r.n_kept, r.n_estimated) == (2, 1)


def test_deepfashion_images_are_estimated_with_their_item_and_gfla_name(
    tmp_path: Path, fixture_pose_dir: Path
) -> None:
    truth = build_deepfashion(tmp_path / "df", with_csvs=False)
    p = config.from_dict(
        {
            "pose": {"model": str(fixture_pose_dir), "deepfashion_max_images": 4},
            "datasets": {"deepfashion": "df"},
        },
        root=tmp_path,
    )
    (tmp_path / "data/stripped").mkdir(parents=True)  # strip ran and kept nobody
    pd.DataFrame({"image_id": [], "member": [], "keep": [], "person_box": []}).to_parquet(
        tmp_path / "data/stripped/manifest.parquet"
    )
    r = estimate_poses(p)
    assert (r.n_kept, r.n_deepfashion) == (0, 4)
    table = pd.read_parquet(r.table_path)
    assert (table["source"] == "deepfashion").all() and table["item_id"].str.startswith("id_").all()
    for name, kp in zip(table["gfla_name"], table["keypoints"], strict=True):
        err = np.abs(keypoints_array(kp)[:, :2] - truth[name][:, :2]) * [176, 256]
        assert err.max() < 2.5


def test_pose_runs_on_the_people_strip_kept_and_on_nothing_before_strip(
    tmp_path: Path, fixture_pose_dir: Path
) -> None:
    """Pose comes after strip in the DAG: its people are strip's kept rows, by strip's rule alone (a
    person whose mask strip dropped gets no pose), and without strip's output it refuses in one line
    (a missing input is not an empty set of people)."""
    from tests.matting.scenes import write_filtered_project

    p = config.from_dict({"pose": {"model": str(fixture_pose_dir)}}, root=tmp_path)
    write_filtered_project(tmp_path, [draw_person(seed=1), draw_person(seed=2)])
    with pytest.raises(UserError, match="run `adgen strip` first"):
        estimate_poses(p)  # the filter's output alone is not pose's input
    write_stripped_project(tmp_path / "strict", [draw_person(seed=1)], max_person_area_ratio=0.01)
    stripped = pd.read_parquet(tmp_path / "strict/data/stripped/manifest.parquet")
    assert not stripped["keep"].any()  # strip dropped the mask
    strict = config.from_dict({"pose": {"model": str(fixture_pose_dir)}}, root=tmp_path / "strict")
    assert estimate_poses(strict).n_kept == 0
