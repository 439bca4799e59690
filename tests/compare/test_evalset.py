"""The evaluation set: fixed targets from held-out images, both origins, validated when read."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adgen.compare.evalset import build_eval_set, load_eval_set
from adgen.errors import UserError

from .conftest import H, W, write_held_out


def test_targets_come_from_deepfashion_and_curated_people_in_turn(tmp_path):
    gfla = write_held_out(tmp_path / "gfla", deepfashion=4, curated=3, sparse=1)
    ev = build_eval_set(gfla, tmp_path / "compare", k=5, min_keypoints=12)
    assert ev.frame == (H, W) and len(ev.targets) == 5
    assert [t.origin for t in ev.targets] == [
        "deepfashion",
        "curated",
        "deepfashion",
        "curated",
        "deepfashion",
    ]
    assert all("MENTees" not in t.source for t in ev.targets), "a pose with 4 keypoints became a target"
    assert all(t.image.size == (W, H) for t in ev.targets)
    card = json.loads((tmp_path / "compare" / "card.json").read_text())
    assert card["counts"] == {"targets": 5, "deepfashion": 3, "curated": 2}
    # build_datasets' output dir is not touched (another stage writing there leaves `dvc status` dirty)
    assert not (tmp_path / "cards" / "compare.json").exists()


def test_the_set_is_the_same_every_time_it_is_built(tmp_path):
    gfla = write_held_out(tmp_path / "gfla")
    a = build_eval_set(gfla, tmp_path / "a", k=4)
    b = build_eval_set(gfla, tmp_path / "b", k=4)
    assert [t.source for t in a.targets] == [t.source for t in b.targets]
    assert all(np.array_equal(x.keypoints, y.keypoints) for x, y in zip(a.targets, b.targets, strict=True))
    assert (tmp_path / "a" / "targets.json").read_text() == (tmp_path / "b" / "targets.json").read_text()


def test_keypoints_are_the_contracts_normalised_openpose_18(tmp_path):
    ev = build_eval_set(write_held_out(tmp_path / "gfla"), tmp_path / "compare", k=2)
    kp = ev.targets[0].keypoints
    assert kp.shape == (18, 3) and kp.dtype == np.float32
    present = kp[kp[:, 2] > 0]
    assert (present[:, :2] >= 0).all() and (present[:, :2] <= 1).all()


def test_without_a_gfla_test_split_it_says_to_build_the_datasets(tmp_path):
    with pytest.raises(UserError, match="adgen build-datasets"):
        build_eval_set(tmp_path / "gfla", tmp_path / "compare", k=2)


def test_a_missing_set_says_how_to_build_it(tmp_path):
    with pytest.raises(UserError, match="adgen evaluate compare-set"):
        load_eval_set(tmp_path / "nothing")


def test_a_hostile_target_name_never_becomes_a_path(tmp_path):
    ev_dir = tmp_path / "compare"
    build_eval_set(write_held_out(tmp_path / "gfla"), ev_dir, k=2)
    data = json.loads((ev_dir / "targets.json").read_text())
    data["targets"][0]["name"] = "../../etc/passwd"
    (ev_dir / "targets.json").write_text(json.dumps(data))
    with pytest.raises(UserError, match="no valid name"):
        load_eval_set(ev_dir)


def test_bad_keypoints_in_the_set_are_a_one_line_error(tmp_path):
    ev_dir = tmp_path / "compare"
    build_eval_set(write_held_out(tmp_path / "gfla"), ev_dir, k=2)
    data = json.loads((ev_dir / "targets.json").read_text())
    data["targets"][1]["keypoints"] = [[2.0, 2.0, 1.0]] * 18
    (ev_dir / "targets.json").write_text(json.dumps(data))
    with pytest.raises(UserError, match="normalised"):
        load_eval_set(ev_dir)
