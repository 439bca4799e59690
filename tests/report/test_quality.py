"""Strip and pose quality in the report: gate pass rates always, the fixture truth's scores where it
exists, and the worst cut-outs and poses first, each opening the photo's page."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from PIL import Image

from adgen import config
from adgen.report.build import build_report
from adgen.report.sheets import thumbnail
from tests.report.builders import build_fixture_project, build_project, image_id


def section(html: str, anchor: str) -> str:
    return html.split(f'id="{anchor}"')[1].split("</section>")[0]


def ranked(part: str) -> list[tuple[str, str]]:
    """(photo page, label) of each ranked thumbnail, in page order."""
    return re.findall(r'<li><a href="items/([0-9a-f]{64})\.html" title="([^"]*)"', part)


def test_worst_cut_outs_and_poses_come_first_against_the_fixture_truth(tmp_path: Path):
    params = build_fixture_project(tmp_path)
    ids = list(pd.read_parquet(tmp_path / "data/raw/manifest.parquet")["image_id"])
    report = build_report(params)
    assert "quality" in report.sections
    html = section(report.index.read_text(), "quality")
    strip, pose = html.split("<h3>Pose: the keypoints of kept people</h3>")
    assert "<td>every gate (kept)</td><td>2 / 3 (67%)</td>" in strip
    assert "<td>dropped: person_mask_holey</td><td>1 (33%)</td>" in strip
    assert '<td>cut-outs scored</td><td class="num">2</td>' in strip
    iou_row, gate_row = strip.split("failing a quality gate")
    by_iou = ranked(iou_row)
    assert [i for i, _ in by_iou] == [ids[1], ids[0]]  # the cut-out that lost its legs first
    assert by_iou[0][1].startswith("IoU 0.") and by_iou[1][1] == "IoU 1.00"
    assert ranked(gate_row) == [(ids[2], "person_mask_holey")]
    # poses: nothing found, then the shifted one, then the exact one
    by_error = ranked(pose)
    assert [i for i, _ in by_error] == [ids[2], ids[1], ids[0]]
    assert by_error[0][1] == "error none found, 0/18 found"
    assert by_error[2][1].startswith("error 0.0 px")
    assert "≥ 12 of 18 keypoints: a target pose of the comparison (compare.min_keypoints)" in pose
    assert "<td>no keypoint found</td><td>1 / 3 (33%)</td>" in pose
    for iid in ids:  # every thumbnail opens the photo's page
        assert (tmp_path / "report/items" / f"{iid}.html").is_file()
    # the keypoints are drawn on the photo's thumbnail
    drawn = Image.open(tmp_path / f"report/assets/thumbs/{ids[0]}-pose.png").convert("RGB")
    from adgen.store.photos import Photos

    plain = thumbnail(Photos(tmp_path / "data/raw/store", "t").read({"member": f"{ids[0]}.jpg"}), 48)
    assert plain is not None and drawn.size == plain.size
    diff = sum(a != b for a, b in zip(drawn.getdata(), plain.getdata(), strict=True))
    assert diff > 30


def test_without_truth_the_gates_still_show_with_failing_cut_outs_and_fewest_keypoints_first(tmp_path: Path):
    build_fixture_project(tmp_path)
    (tmp_path / "params.yaml").write_text("report:\n  thumb_px: 48\n")  # a real crawl: no truth
    params = config.load(tmp_path / "params.yaml")
    ids = list(pd.read_parquet(tmp_path / "data/raw/manifest.parquet")["image_id"])
    html = section(build_report(params).index.read_text(), "quality")
    assert "against the fixture site's truth" not in html and "IoU" not in html
    assert "<td>every gate (kept)</td><td>2 / 3 (67%)</td>" in html
    pose = html.split("<h3>Pose: the keypoints of kept people</h3>")[1]
    assert [label for _, label in ranked(pose)] == ["0 of 18 found", "18 of 18 found", "18 of 18 found"]
    assert ranked(pose)[0][0] == ids[2]


def test_a_project_before_the_pose_stage_shows_the_strip_part_alone(tmp_path: Path):
    html = section(build_report(build_project(tmp_path)).index.read_text(), "quality")
    assert "<h3>Strip: the cut-outs</h3>" in html and "Pose:" not in html
    assert ranked(html) == [(image_id(4), "mask_too_small")]
