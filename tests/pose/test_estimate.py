"""Loading MoveNet-signature SavedModels and turning their output into OpenPose keypoints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adgen.errors import UserError
from adgen.pose.estimate import load_pose_estimator
from adgen.pose.openpose import coco17_to_openpose18
from tests.matting.scenes import draw_person
from tests.pose.conftest import SCRIPTED_YX


def test_letterboxed_keypoints_map_back_to_the_image(scripted_movenet_dir: Path) -> None:
    est = load_pose_estimator(scripted_movenet_dir, min_score=0.2)
    assert est.input_size == 192  # read from the signature
    image = Image.new("RGB", (96, 192))  # half as wide as tall: bars left and right in the square
    coco = est.estimate_coco(image)
    # square x = 0.25 + 0.5 * image x  (the image is 96 of the 192 px, centred)
    np.testing.assert_allclose(coco[:, 0], (SCRIPTED_YX[:, 1] - 0.25) / 0.5, atol=1e-5)
    np.testing.assert_allclose(coco[:, 1], SCRIPTED_YX[:, 0], atol=1e-5)  # MoveNet gives (y, x)
    kp = est.estimate(image)
    assert kp.shape == (18, 3) and kp[17].tolist() == [-1, -1, 0]  # left ear scored 0.05


def test_fixture_pose_stand_in_finds_the_keypoint_discs(fixture_pose_dir: Path) -> None:
    est = load_pose_estimator(fixture_pose_dir)
    for w, h in [(120, 180), (400, 600)]:
        scene = draw_person(w=w, h=h, seed=3)
        kp = est.estimate(scene.image)
        truth = coco17_to_openpose18(scene.coco)
        err = np.abs(kp[:, :2] - truth[:, :2]) * [w, h]
        assert (kp[:, 2] > 0).all()
        assert err.max() < 3.0, err.max()
    assert "FIXTURE" in (fixture_pose_dir / "FIXTURE.txt").read_text()


def test_missing_local_model_is_one_line_naming_what_to_download(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"pose\.model: no SavedModel at .*movenet/singlepose/thunder"):
        load_pose_estimator(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="saved_model.pb missing"):
        load_pose_estimator(tmp_path / "empty")


def test_model_without_movenet_signature_is_refused(tmp_path: Path) -> None:
    import tensorflow as tf

    class NoSignature(tf.Module):
        pass

    tf.saved_model.save(NoSignature(), str(tmp_path / "m"))
    with pytest.raises(UserError, match="serving_default"):
        load_pose_estimator(tmp_path / "m")


@pytest.mark.slow
def test_cli_builds_the_fixture_pose_model_and_reports_missing_model(tmp_path: Path) -> None:
    code = "from adgen.cli import main; main()"
    params = tmp_path / "params.yaml"
    params.write_text(f"pose:\n  model: {tmp_path / 'missing'}\n")
    from tests.pose.conftest import write_stripped_project

    write_stripped_project(tmp_path, [draw_person(seed=1)])
    out = subprocess.run(
        [sys.executable, "-c", code, "--params", str(params), "pose"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "no SavedModel" in out.stderr
    out = subprocess.run(
        [sys.executable, "-c", code, "fixture-models", "pose", str(tmp_path / "fp")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "fp" / "saved_model.pb").is_file()
