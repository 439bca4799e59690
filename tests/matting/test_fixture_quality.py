"""Mask IoU and keypoint error against the fixture site's exact truth (the issue's quality goals)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from adgen import config
from adgen.fixtures.site import palette, synth
from adgen.matting.evaluate import iou
from adgen.matting.evaluate import score_against_fixture as score_masks
from adgen.matting.grabcut import refine_mask
from adgen.matting.strip import strip
from adgen.pose.evaluate import score_against_fixture as score_keypoints
from adgen.pose.stage import estimate_poses
from tests.matting.fixture_pipeline import kept_indices, write_raw_project


def test_refinement_sharpens_a_mask_rcnn_sized_mask_to_the_photo() -> None:
    r = synth.photo(3, kept_indices(3, 1)[0])
    truth = r.masks["person/0"]
    # What a colour-keyed Mask R-CNN stand-in sees: the silhouette colour only (the keypoint discs
    # are holes), on a 33x33 grid stretched over the box.
    seen = palette.colour_mask(np.asarray(r.image), palette.PERSON_COLOURS[0])
    ys, xs = np.nonzero(truth)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    grid = cv2.resize(seen[y0:y1, x0:x1].astype(np.float32), (33, 33), interpolation=cv2.INTER_AREA)
    coarse = np.zeros(truth.shape, bool)
    coarse[y0:y1, x0:x1] = cv2.resize(grid, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) >= 0.5
    refined = refine_mask(np.asarray(r.image), coarse)
    assert iou(refined, truth) > iou(coarse, truth) + 0.03


@pytest.mark.slow
def test_fixture_photos_meet_the_mask_iou_and_keypoint_goals(tmp_path: Path, fixture_pose_dir: Path) -> None:
    """Filter with the FIXTURE detector (Mask R-CNN-style 33x33 masks), then strip and pose."""
    from adgen.detect.stage import run_filter
    from adgen.fixtures import detector as fixture_detector

    det = fixture_detector.build(tmp_path / "models" / "detector")
    seed = 11
    truth = write_raw_project(tmp_path, seed, kept_indices(seed, 6))
    p = config.from_dict(
        {"detect": {"model": str(det)}, "pose": {"model": str(fixture_pose_dir)}}, root=tmp_path
    )
    assert run_filter(p).stats["kept"] == 6
    assert strip(p).n_kept == 6
    detector = score_masks(p, truth, lambda t: synth.truth_masks(t, seed))
    assert detector.n == 6 and detector.person_iou >= 0.9 and detector.bag_iou >= 0.9, detector.per_image

    gc = config.from_dict(
        {
            "detect": {"model": str(det)},
            "strip": {"backend": "grabcut"},
            "paths": {"stripped": "data/stripped-gc"},
        },
        root=tmp_path,
    )
    strip(gc)
    grabcut = score_masks(gc, truth, lambda t: synth.truth_masks(t, seed))
    assert grabcut.n == 6 and grabcut.person_iou >= 0.8, grabcut.per_image

    estimate_poses(p)
    kp = score_keypoints(p, truth)
    assert kp.n_images == 6 and kp.recall >= 0.95 and kp.mean_error_rel < 0.01, kp

    # What `adgen strip/pose --ground-truth` print and save for the demo.
    from adgen.matting.cli import report_fixture_iou
    from adgen.pose.cli import report_fixture_error

    gt = tmp_path / "ground-truth.json"
    gt.write_text(json.dumps({"seed": seed, "images": truth}))
    report_fixture_iou(p, gt, tmp_path / "strip_scores.json", synth.truth_masks)
    report_fixture_error(p, gt, tmp_path / "pose_scores.json")
    assert json.loads((tmp_path / "strip_scores.json").read_text())["person_iou"] == pytest.approx(
        detector.person_iou
    )
    assert json.loads((tmp_path / "pose_scores.json").read_text())["recall"] == pytest.approx(kp.recall)
    assert (tmp_path / "data/stripped/contact_sheet.png").is_file()

    # The demo sets strip.ground_truth: the stage is not redone, the IoU is printed.
    (tmp_path / "params.yaml").write_text(
        f"detect:\n  model: {det}\nstrip:\n  ground_truth: ground-truth.json\n"
    )
    code = "from adgen.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code, "--params", str(tmp_path / "params.yaml"), "strip"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stdout and f"person+bag {detector.person_iou:.3f}" in out.stdout
