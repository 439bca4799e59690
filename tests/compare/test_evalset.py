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
    # pairs: the targets that end a held-out pair (the last curated image, chosen too, ends none)
    assert card["counts"] == {"targets": 5, "pairs": 4, "deepfashion": 3, "curated": 2}
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


# -- held-out pairs: the same person in another pose, for the pair scores ----------------------------------
def _set_with_every_target(tmp_path):
    """7 targets (every annotated image): GFLA pairs image i+1 -> image i, so all but the last have one."""
    gfla = write_held_out(tmp_path / "gfla", deepfashion=4, curated=3, sparse=1)
    return gfla, build_eval_set(gfla, tmp_path / "compare", k=7, min_keypoints=12)


def test_each_target_that_ends_a_held_out_pair_records_that_pairs_source_photo_and_keypoints(tmp_path):
    from PIL import Image

    from adgen.deepfashion import gfla_pixels_to_keypoints, read_gfla_annotations

    gfla, ev = _set_with_every_target(tmp_path)
    pairs = dict(
        reversed(line.split(","))
        for line in (gfla / "fashion-resize-pairs-test.csv").read_text().splitlines()[1:]
    )  # to -> from
    annotations = read_gfla_annotations(gfla / "fashion-resize-annotation-test.csv")
    assert len(ev.paired) == 6 and ev.pairs_skipped is None
    for t in ev.targets:
        if t.source not in pairs:  # the last image is nobody's `to`
            assert t.pair is None and not (tmp_path / "compare" / "source" / f"{t.name}.png").exists()
            continue
        assert t.pair.source == pairs[t.source]
        with Image.open(gfla / "test" / t.pair.source) as im:
            assert np.array_equal(np.asarray(t.pair.image), np.asarray(im.convert("RGB")))
        assert np.array_equal(t.pair.keypoints, gfla_pixels_to_keypoints(annotations[t.pair.source]))
    again = load_eval_set(tmp_path / "compare")  # read back from the files
    assert [t.pair and t.pair.source for t in again.targets] == [t.pair and t.pair.source for t in ev.targets]
    card = json.loads((tmp_path / "compare" / "card.json").read_text())
    assert card["counts"]["pairs"] == 6


def _edit_pair(ev_dir, change):
    data = json.loads((ev_dir / "targets.json").read_text())
    entry = next(t for t in data["targets"] if "pair" in t)
    change(entry)
    (ev_dir / "targets.json").write_text(json.dumps(data))
    return entry["name"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e["pair"].update(source="../../etc/passwd"), "cannot be a file name"),
        (lambda e: e.update(pair=["not", "an", "object"]), "pair is not an object"),
        (lambda e: e["pair"]["keypoints"][0].__setitem__(0, float("nan")), "not a finite number"),
        (lambda e: e["pair"]["keypoints"][0].__setitem__(0, 1e39), "finite numbers"),
        (lambda e: e["pair"].update(keypoints=[[0.5, 0.5, 1.0]] * 17), "18 OpenPose keypoints"),
    ],
    ids=["path-name", "not-object", "nan", "overflow", "17-points"],
)
def test_a_hostile_pair_entry_is_a_one_line_error(tmp_path, change, message):
    ev_dir = tmp_path / "compare"
    build_eval_set(write_held_out(tmp_path / "gfla"), ev_dir, k=4)
    _edit_pair(ev_dir, change)
    with pytest.raises(UserError, match=message) as err:
        load_eval_set(ev_dir)
    assert "\n" not in str(err.value)


def test_a_pair_source_photo_of_the_wrong_size_or_missing_is_refused(tmp_path):
    from PIL import Image

    ev_dir = tmp_path / "compare"
    build_eval_set(write_held_out(tmp_path / "gfla"), ev_dir, k=4)
    name = _edit_pair(ev_dir, lambda e: None)
    Image.new("RGB", (W, H + 1)).save(ev_dir / "source" / f"{name}.png")
    with pytest.raises(UserError, match=f"expected {H}x{W}"):
        load_eval_set(ev_dir)
    (ev_dir / "source" / f"{name}.png").unlink()
    with pytest.raises(UserError, match="pair source photo missing or unreadable"):
        load_eval_set(ev_dir)


@pytest.mark.parametrize("damage", ["truncated", "wrong_size"])
def test_a_damaged_photo_of_the_gfla_test_split_is_one_line_naming_it(tmp_path, damage):
    """Before: PIL's UnidentifiedImageError traceback, and no pixel limit on the user's dataset."""
    from PIL import Image

    gfla = write_held_out(tmp_path / "gfla")
    for photo in (gfla / "test").glob("*.jpg"):
        if damage == "truncated":
            photo.write_bytes(photo.read_bytes()[:20])
        else:
            Image.new("RGB", (W + 4, H)).save(photo)
    with pytest.raises(UserError, match=r"GFLA test photo .*check the GFLA dataset$") as err:
        build_eval_set(gfla, tmp_path / "compare", k=2)
    assert str(err.value).startswith(str(gfla / "test")) and "\n" not in str(err.value)


def test_a_set_written_before_pairs_still_loads_and_says_to_rebuild_for_pair_scores(tmp_path):
    ev_dir = tmp_path / "compare"
    build_eval_set(write_held_out(tmp_path / "gfla"), ev_dir, k=4)
    data = json.loads((ev_dir / "targets.json").read_text())
    old = {
        "frame": data["frame"],
        "targets": [{k: v for k, v in t.items() if k != "pair"} for t in data["targets"]],
    }
    (ev_dir / "targets.json").write_text(json.dumps(old))
    ev = load_eval_set(ev_dir)
    assert len(ev.targets) == 4 and not ev.paired and not ev.pairs_recorded
    assert "rebuild the set with `adgen evaluate compare-set`" in ev.pairs_skipped


def test_a_split_without_held_out_pairs_gives_a_set_that_says_so(tmp_path):
    ev = build_eval_set(write_held_out(tmp_path / "gfla", pairs=False), tmp_path / "compare", k=3)
    assert ev.pairs_recorded and not ev.paired
    assert "no target of the evaluation set is the `to` of a held-out GFLA pair" in ev.pairs_skipped
