"""What DPIG reads: people with their poses, as heatmaps, a 54-d vector and part boxes."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from adgen import config
from adgen.errors import UserError
from adgen.models.dpig.data import (
    DpigPeople,
    StepBatches,
    collect_people,
    heatmaps,
    keypoints_from_vector,
    pose_vector,
)
from adgen.store.photos import openable, store_photos
from tests.models.dpig.helpers import build_datasets_for, project_params, write_deepfashion
from tests.models.gfla.helpers import draw_person, pose

PERSON_ID = "a" * 64  # manifests hold sha256 ids (adgen.safety checks them)


def test_heatmaps_are_solid_disks_of_radius_4_in_minus_one_to_one():
    kp = pose(1)
    kp[3] = (-1, -1, 0)
    maps = heatmaps(torch.from_numpy(kp)[None], 64, 48)[0]
    assert maps.shape == (18, 64, 48) and set(maps.unique().tolist()) == {-1.0, 1.0}
    assert (maps[3] == -1).all()  # a missing keypoint draws nothing
    centre = (int(kp[0, 1] * 64), int(kp[0, 0] * 48))
    on = (maps[0] == 1).nonzero().tolist()
    assert len(on) == 49  # the lattice points with dx² + dy² ≤ 16
    assert all((r - centre[0]) ** 2 + (c - centre[1]) ** 2 <= 16 for r, c in on)


def test_the_pose_vector_is_row_col_visibility_in_minus_one_to_one():
    kp = pose(2)
    kp[4] = (-1, -1, 0)
    vec = pose_vector(torch.from_numpy(kp)[None])[0].view(18, 3)
    assert vec.shape == (18, 3)
    np.testing.assert_allclose(vec[0].numpy(), [kp[0, 1] * 2 - 1, kp[0, 0] * 2 - 1, 1], atol=1e-6)
    assert vec[4].tolist() == [-1, -1, 0]
    back = keypoints_from_vector(vec.flatten()[None])[0].numpy()
    np.testing.assert_allclose(back[kp[:, 2] > 0], kp[kp[:, 2] > 0], atol=1e-6)
    assert back[4].tolist() == [-1, -1, 0]


def test_deepfashion_people_come_framed_with_keypoints_boxes_and_masks(tmp_path):
    params = project_params(tmp_path, write_deepfashion(tmp_path / "df", people=2, poses=2))
    build_datasets_for(params)
    people = collect_people(params, ["deepfashion"], 4)
    assert len(people) == 4 and {p.source for p in people} == {"deepfashion"}
    item = DpigPeople(people, 32, 32)[0]
    assert item["image"].shape == (3, 32, 32) and -1 <= item["image"].min() and item["image"].max() <= 1
    kp = item["keypoints"].numpy()
    present = kp[:, 2] > 0
    # a 64x44 photo fitted into a 32x32 square: x is squeezed towards the middle, y kept
    assert kp[present, 0].min() > 0.1 and kp[present, 0].max() < 0.9
    assert (
        item["boxes"].shape == (7, 4)
        and item["visibility"].shape == (7,)
        and item["fg_mask"].shape == (1, 32, 32)
    )


def test_curated_people_come_from_the_stripped_crops_with_their_pose(tmp_path):
    (tmp_path / "data" / "stripped").mkdir(parents=True)
    (tmp_path / "data" / "pose").mkdir(parents=True)
    kp_crop = pose(3)
    crop_box = [0.25, 0.0, 0.75, 1.0]  # the cut-out is the middle half of the photo
    kp_photo = kp_crop.copy()
    ok = kp_photo[:, 2] > 0
    kp_photo[ok, 0] = 0.25 + kp_crop[ok, 0] * 0.5
    png = io.BytesIO()
    draw_person(kp_crop, (200, 40, 40), (20, 40)).save(png, format="PNG")
    ((_, _, member),) = store_photos(tmp_path / "data/stripped/store", [(png.getvalue(), "png")])
    pd.DataFrame(
        [
            {
                "image_id": PERSON_ID,
                "keep": True,
                "has_bag": False,
                "person_white": member,  # a member of strip's store
                "crop_box": crop_box,
                "site": "fixture",
                "license": "test",
            }
        ]
    ).to_parquet(tmp_path / "data" / "stripped" / "manifest.parquet")
    pd.DataFrame(
        [{"image_id": PERSON_ID, "source": "kept", "keypoints": [list(map(float, r)) for r in kp_photo]}]
    ).to_parquet(tmp_path / "data" / "pose" / "keypoints.parquet")
    params = project_params(tmp_path, None)
    build_datasets_for(params)
    (person,) = collect_people(params, ["people"], 4)
    np.testing.assert_allclose(person.keypoints[ok], kp_crop[ok], atol=1e-5)
    assert person.keypoints[~ok].tolist() == [[-1, -1, 0]] * int((~ok).sum())
    assert Image.open(openable(person.path)).size == (20, 40)
    assert person.path.parent == tmp_path / "data/datasets/dpig/images"  # DPIG reads the built dataset


def test_no_people_with_poses_is_one_line_naming_what_to_run(tmp_path):
    params = config.from_dict({}, root=tmp_path)
    with pytest.raises(UserError, match="adgen strip") as err:
        collect_people(params, ["people", "deepfashion"], 4)
    assert "\n" not in str(err.value)


def test_batches_depend_on_the_step_alone_so_a_resumed_run_reads_the_same_people():
    whole = StepBatches(7, 3, stage1_steps=4, batch=2, batch_ii=3, per_step_ii=5, start=0, stop=8)
    resumed = StepBatches(7, 3, stage1_steps=4, batch=2, batch_ii=3, per_step_ii=5, start=5, stop=8)
    all_batches = list(whole)
    assert len(all_batches) == 4 + 4 * 5 and len(whole) == 24
    assert [len(b) for b in all_batches[:4]] == [2] * 4 and all(len(b) == 3 for b in all_batches[4:])
    assert list(resumed) == all_batches[4 + 5 :]
    # every person is seen once per epoch
    flat = [i for b in all_batches for i in b][:14]
    assert sorted(flat[:7]) == list(range(7)) and sorted(flat[7:]) == list(range(7))
    # under DDP the processes split every batch between them
    single = list(StepBatches(7, 3, 4, 2, 4, 5, 0, 8))
    ranks = [list(StepBatches(7, 3, 4, 2, 4, 5, 0, 8, rank=r, world=2)) for r in (0, 1)]
    assert all(sorted(a + b) == sorted(s) for a, b, s in zip(*ranks, single, strict=True))
    assert all(len(a) == len(s) // 2 for a, s in zip(ranks[0], single, strict=True))
