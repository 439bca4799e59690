"""The filter stage end to end on drawn palette photos, with real SavedModels loaded via tensorflow_hub."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from adgen.detect.stage import run_filter
from adgen.errors import UserError
from adgen.store.photos import Photos

from .conftest import (
    BACKPACK,
    BAG_IN_HAND,
    BLUE,
    GREEN,
    HANDBAG,
    PERSON,
    PURPLE,
    RED,
    Project,
    build_scripted_detector,
    draw_photo,
    kept_photo,
)


def _exif_rotated_jpeg(upright: Image.Image) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    upright.rotate(90, expand=True).save(buf, "JPEG", quality=95, subsampling=0, exif=exif)
    return buf.getvalue()


def _png16(img: Image.Image) -> bytes:
    arr = np.asarray(img).astype(np.uint16) * 257  # 16 bits per channel, same colours
    ok, data = cv2.imencode(".png", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


def test_every_photo_gets_the_reason_it_shows(project: Project) -> None:
    ids = {
        "kept": project.add_image(kept_photo()),
        "kept_jpeg": project.add_image(kept_photo(), "JPEG", quality=95, subsampling=0),
        "kept_cmyk": project.add_image(kept_photo().convert("CMYK"), "JPEG", quality=95),
        "kept_16bit_png": project.add(_png16(kept_photo()), "png"),
        "kept_exif_rotated": project.add(_exif_rotated_jpeg(kept_photo()), "jpg"),
        "grayscale": project.add_image(kept_photo().convert("L")),
        "no_person": project.add_image(draw_photo([], [(BAG_IN_HAND, HANDBAG)])),
        "several_people": project.add_image(
            draw_photo(
                [
                    (PERSON, RED),
                    ((0.02, 0.1, 0.2, 0.9), BLUE),
                    ((0.7, 0.1, 0.85, 0.9), GREEN),
                    ((0.88, 0.1, 0.99, 0.9), PURPLE),
                ],
                [(BAG_IN_HAND, HANDBAG)],
            )
        ),
        "person_too_small": project.add_image(
            draw_photo([((0.45, 0.5, 0.52, 0.7), RED)], [((0.52, 0.6, 0.6, 0.65), HANDBAG)])
        ),
        "cropped_head": project.add_image(
            draw_photo([((0.35, 0.0, 0.62, 0.9), RED)], [(BAG_IN_HAND, HANDBAG)])
        ),
        "cropped_feet": project.add_image(
            draw_photo([((0.35, 0.1, 0.62, 1.0), RED)], [(BAG_IN_HAND, HANDBAG)])
        ),
        "implausible_aspect": project.add_image(
            draw_photo([((0.05, 0.3, 0.95, 0.7), RED)], [((0.4, 0.7, 0.5, 0.75), HANDBAG)])
        ),
        "no_bag": project.add_image(draw_photo([(PERSON, RED)], [])),
        "bag_far_from_person": project.add_image(
            draw_photo([(PERSON, RED)], [((0.85, 0.02, 0.98, 0.08), BACKPACK)])
        ),
        "unreadable": project.add(b"<html>this is not a photo</html>", "jpg"),
        "truncated": project.add(Path(__file__).read_bytes()[:100], "png"),
    }
    params = project.write()
    result = run_filter(params)
    assert result.processed == len(ids) and result.merged

    rows = project.by_id()
    assert len(project.filtered()) == len(ids)
    expected = {name: name if not name.startswith("kept") else "kept" for name in ids}
    expected.update(grayscale="no_person", truncated="unreadable")  # the FIXTURE detector sees colours
    got = {name: rows[image_id]["reason"] for name, image_id in ids.items()}
    assert got == expected
    assert all(rows[ids[n]]["keep"] == (expected[n] == "kept") for n in ids)
    assert rows[ids["several_people"]]["n_people"] == 4

    # Masks of kept images are full-image PNGs where the person and the bag are.
    kept = rows[ids["kept"]]
    masks = Photos(project.root / "data/filtered/store")  # the filter's own image store
    person = np.asarray(Image.open(io.BytesIO(masks.read({"member": kept["person_mask"]}))))
    assert person.shape == (240, 160)
    red = (np.abs(np.asarray(kept_photo()).astype(int) - RED) < 40).all(-1)
    iou = (red & (person > 0)).sum() / (red | (person > 0)).sum()
    assert iou > 0.85
    bag = masks.read({"member": rows[ids["kept_exif_rotated"]]["bag_mask"]})
    assert Image.open(io.BytesIO(bag)).size == (160, 240)
    assert rows[ids["no_bag"]]["person_mask"] is None or pd.isna(rows[ids["no_bag"]]["person_mask"])

    stats = json.loads((project.root / "data/filtered/filter_stats.json").read_text())
    assert stats["total"] == len(ids) and stats["kept"] == 5 and stats["reasons"]["unreadable"] == 2
    sheet = (project.root / "data/filtered/contact_sheet.html").read_text()
    for reason in set(expected.values()):
        assert f'id="{reason}"' in sheet
    assert len(list((project.root / "data/filtered/contact_sheet").glob("*.jpg"))) == len(ids) - 2
    assert not (project.root / "data/filtered/parts").exists()


def test_the_filter_reads_no_pose_table_and_refuses_one_in_one_line(project: Project) -> None:
    """Pose runs after strip, which runs on the filter's output: a pose table read by the filter
    would be a data loop dvc.yaml cannot show (issue 28). A table beside it changes nothing."""
    feet_hidden = project.add_image(kept_photo((170, 240)))
    no_ankles = np.full((18, 3), 0.9, np.float32)
    no_ankles[[10, 13], 2] = 0.0
    pose = project.root / "data/pose/keypoints.parquet"
    pose.parent.mkdir(parents=True)
    pd.DataFrame({"image_id": [feet_hidden], "source": "kept", "keypoints": [no_ankles.tolist()]}).to_parquet(
        pose
    )
    project.detect["pose_table"] = None  # an older params.yaml's null is still accepted
    run_filter(project.write())
    assert project.by_id()[feet_hidden]["reason"] == "kept"
    project.detect["pose_table"] = "data/pose/keypoints.parquet"
    with pytest.raises(UserError) as err:
        project.write()
    assert "pose_table: the filter no longer reads a pose table" in str(err.value)
    assert "\n" not in str(err.value)


def test_ground_truth_gives_precision_and_recall_of_keep(project: Project) -> None:
    a = project.add_image(kept_photo())
    b = project.add_image(kept_photo((170, 240)))
    c = project.add_image(draw_photo([(PERSON, RED)], []))
    truth = project.root / "ground-truth.json"
    # b is wrongly labelled "reject" and c wrongly "keep": precision 1/2, recall 1/2.
    truth.write_text(
        json.dumps(
            {"images": {a: {"expected_keep": True}, b: {"expected_keep": False}, c: {"expected_keep": True}}}
        )
    )
    result = run_filter(project.write(), ground_truth=truth)
    gt = result.stats["ground_truth"]
    assert (gt["true_positive"], gt["false_positive"], gt["false_negative"]) == (1, 1, 1)
    assert gt["precision"] == 0.5 and gt["recall"] == 0.5 and gt["matched"] == 3


def test_batched_inference_gives_the_same_decisions(
    project: Project, tmp_path: Path, fixture_detector_dir: Path
) -> None:
    from adgen.fixtures import detector as fixture_detector

    for size in ((160, 240), (200, 260), (300, 200), (170, 250), (150, 300)):
        project.add_image(kept_photo(size))
        project.add_image(draw_photo([(PERSON, RED)], [((0.85, 0.02, 0.98, 0.08), BACKPACK)], size))
    project.add(b"junk", "jpg")
    project.detect.update(batch_size=4, max_side=320)
    one_by_one = run_filter(project.write())
    before = project.filtered().set_index("image_id")
    project.detect["model"] = str(fixture_detector.build(tmp_path / "batch-detector", batch_free=True))
    batched = run_filter(project.write())
    after = project.filtered().set_index("image_id")
    assert batched.processed == one_by_one.processed == 11
    assert (after["reason"] == before.loc[after.index, "reason"]).all()
    boxes_a = np.stack(after["person_box"].dropna().to_numpy())
    boxes_b = np.stack(before.loc[after["person_box"].dropna().index, "person_box"].to_numpy())
    assert np.abs(boxes_a - boxes_b).max() < 0.02


def test_model_calls_in_flight_give_the_same_decisions_in_the_same_order(project: Project) -> None:
    for i, size in enumerate(((160, 240), (200, 260), (300, 200), (170, 250), (150, 300), (180, 280))):
        if i % 2:
            project.add_image(draw_photo([(PERSON, RED)], [((0.85, 0.02, 0.98, 0.08), BACKPACK)], size))
        else:
            project.add_image(kept_photo(size))
    project.add(b"junk", "jpg")
    one_at_a_time = run_filter(project.write())
    before = project.filtered()
    shutil.rmtree(project.root / "data" / "filtered")  # calls_in_flight decides nothing: not in the key
    project.detect.update(calls_in_flight=3, chunk_size=2)
    in_flight = run_filter(project.write())
    after = project.filtered()
    assert in_flight.processed == one_at_a_time.processed == 7
    assert after["image_id"].tolist() == before["image_id"].tolist()
    assert after["reason"].tolist() == before["reason"].tolist()
    assert sorted(after["reason"].unique()) == ["bag_far_from_person", "kept", "unreadable"]


def test_zero_detections_mean_no_person_for_every_image(make_project, tmp_path: Path) -> None:
    model = build_scripted_detector(tmp_path / "empty", [], [], [], pad_to=100)
    project = make_project(model)
    for size in ((100, 100), (64, 200)):
        project.add_image(kept_photo(size))
    run_filter(project.write())
    assert set(project.filtered()["reason"]) == {"no_person"}


def test_boxes_outside_the_image_are_clipped_not_trusted(make_project, tmp_path: Path) -> None:
    # ymin < 0 (head above the frame), xmax > 1; plus a bag entirely outside the image.
    model = build_scripted_detector(
        tmp_path / "outside", [[-0.2, 0.3, 0.9, 1.3], [1.1, 1.1, 1.4, 1.4]], [1, 31], [0.9, 0.9], pad_to=100
    )
    project = make_project(model)
    project.add_image(kept_photo())
    run_filter(project.write())
    row = project.filtered().iloc[0]
    assert row["reason"] == "cropped_head"
    assert min(row["person_box"]) >= 0.0 and max(row["person_box"]) <= 1.0


def test_many_people_are_several_people(make_project, tmp_path: Path) -> None:
    boxes = [[0.1, i / 60, 0.9, i / 60 + 0.05] for i in range(50)]
    model = build_scripted_detector(
        tmp_path / "crowd", boxes + [[0.5, 0.5, 0.6, 0.6]], [1] * 50 + [31], [0.9] * 51, pad_to=100
    )
    project = make_project(model)
    project.add_image(kept_photo())
    run_filter(project.write())
    row = project.filtered().iloc[0]
    assert row["reason"] == "several_people" and row["n_people"] == 50


@pytest.fixture
def ten_photos(project: Project) -> Project:
    for i in range(10):
        project.add_image(
            kept_photo((150 + i, 240)) if i % 2 else draw_photo([(PERSON, RED)], [], (150 + i, 240))
        )
    return project


def test_rerun_with_unchanged_inputs_does_nothing(ten_photos: Project) -> None:
    params = ten_photos.write()
    assert run_filter(params).processed == 10
    out = ten_photos.root / "data/filtered/manifest.parquet"
    mtime = out.stat().st_mtime_ns
    again = run_filter(params)
    assert again.up_to_date and again.processed == 0 and out.stat().st_mtime_ns == mtime


def test_a_changed_threshold_decides_again_and_new_photos_alone_are_detected(ten_photos: Project) -> None:
    assert run_filter(ten_photos.write()).processed == 10
    ten_photos.add_image(kept_photo((300, 400)))
    ten_photos.add_image(kept_photo((310, 400)))
    grown = run_filter(ten_photos.write())
    assert grown.processed == 2 and grown.total == 12 and grown.stats["kept"] == 7
    ten_photos.detect["bag_min_score"] = 0.95  # the FIXTURE detector scores bags 0.9
    rerun = run_filter(ten_photos.write())
    assert rerun.processed == 12 and rerun.stats["kept"] == 0


def test_shards_merge_to_the_same_result_as_one_run(ten_photos: Project, tmp_path: Path) -> None:
    params = ten_photos.write()
    run_filter(params)
    single = ten_photos.filtered().sort_values("image_id").reset_index(drop=True)
    import shutil

    shutil.rmtree(ten_photos.root / "data/filtered")
    first = run_filter(params, (0, 3), merge=False)
    assert not first.merged and first.missing > 0
    with pytest.raises(UserError, match="no decision yet"):
        run_filter(params, detect=False, merge=True)
    done = [first.processed]
    for i in (1, 2):
        done.append(run_filter(params, (i, 3), merge=False).processed)
    assert sum(done) == 10 and all(done)
    merged = run_filter(params, detect=False, merge=True)
    assert merged.merged and merged.processed == 0
    sharded = ten_photos.filtered().sort_values("image_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(sharded, single)


def test_a_rerun_after_dvc_cleared_the_metrics_reuses_the_persisted_decisions(ten_photos: Project) -> None:
    params = ten_photos.write()
    run_filter(params)
    # `dvc repro` deletes non-persistent outputs (stats, contact sheet) before running the stage.
    (ten_photos.root / "data/filtered/filter_stats.json").unlink()
    (ten_photos.root / "data/filtered/contact_sheet.html").unlink()
    again = run_filter(params)
    assert again.processed == 0 and again.merged and again.stats["total"] == 10
    assert (ten_photos.root / "data/filtered/contact_sheet.html").is_file()


def test_an_empty_crawl_gives_an_empty_filtered_manifest(project: Project) -> None:
    result = run_filter(project.write())
    assert result.merged and result.stats["total"] == 0 and result.stats["kept"] == 0
    df = project.filtered()
    assert len(df) == 0 and {"keep", "reason", "person_box", "bag_mask"} <= set(df.columns)


def test_a_filter_shard_takes_whole_store_shards_and_keeps_them_across_refreshes() -> None:
    from adgen.detect.stage import in_shard

    names = [f"20261201T0000{k:02d}Z-site-0000000{k % 10}-000000.tar" for k in range(7)]
    rows = pd.Series([names[k % 7] for k in range(40)])  # several photos per store shard
    picks = [in_shard(rows, (i, 3)) for i in range(3)]
    assert (sum(p.astype(int) for p in picks) == 1).all()  # every photo in exactly one filter shard
    for pick in picks:
        taken = set(rows[pick])
        assert not taken & set(rows[~pick])  # a store shard is never split between filter shards
        assert len(taken) in (2, 3)
    grown = pd.concat([rows, pd.Series(["20261202T000000Z-site-0000000a-000000.tar"] * 3)], ignore_index=True)
    assert [list(in_shard(grown, (i, 3))[:40]) for i in range(3)] == [list(p) for p in picks]
