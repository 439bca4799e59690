"""Small real inputs for the comparison: a GFLA held-out split of people the FIXTURE pose model can
read (a disc in the palette's colour at each joint), the pose model itself and a small FID graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adgen.fixtures.site.palette import KEYPOINT_COLOURS
from adgen.pose.openpose import OPENPOSE_FROM_COCO
from tests.models.gfla.helpers import draw_person, pose

H, W = 256, 176


def person_photo(kp: np.ndarray, colour=(90, 90, 90), size: tuple[int, int] = (W, H)) -> Image.Image:
    """A stick person with a palette disc at each visible joint (what the FIXTURE pose model finds)."""
    img = draw_person(kp, colour, size)
    d = ImageDraw.Draw(img)
    w, h = size
    r = max(2, round(min(w, h) / 40))
    for op_i, coco_i in enumerate(OPENPOSE_FROM_COCO):
        if coco_i is None or kp[op_i, 2] <= 0:
            continue
        x, y = kp[op_i, 0] * w, kp[op_i, 1] * h
        d.ellipse([x - r, y - r, x + r, y + r], fill=KEYPOINT_COLOURS[coco_i])
    return img


def write_held_out(
    root: Path, deepfashion: int = 4, curated: int = 3, sparse: int = 1, pairs: bool = True
) -> Path:
    """A GFLA-layout dir with only what the evaluation set reads: test/ images, their annotations
    and (`pairs`) held-out pairs: image i+1 -> image i for every image but the last."""
    (root / "test").mkdir(parents=True, exist_ok=True)
    rows = []
    names = [f"fashionWOMENDressesid{i:08d}01_1front.jpg" for i in range(deepfashion)]
    names += [f"adgen{i:024d}.jpg" for i in range(curated)]
    for i, name in enumerate(names + [f"fashionMENTeesid{i:08d}01_1front.jpg" for i in range(sparse)]):
        kp = pose(200 + i)
        if i >= len(names):  # too few keypoints to be a target
            kp[4:] = (-1, -1, 0)
        person_photo(kp).save(root / "test" / name, quality=95)
        ys = [int(v * H) if c > 0 else -1 for v, c in zip(kp[:, 1], kp[:, 2], strict=True)]
        xs = [int(v * W) if c > 0 else -1 for v, c in zip(kp[:, 0], kp[:, 2], strict=True)]
        rows.append(f"{name}:{json.dumps(ys)}:{json.dumps(xs)}")
    (root / "fashion-resize-annotation-test.csv").write_text(
        "name:keypoints_y:keypoints_x\n" + "\n".join(rows) + "\n"
    )
    if pairs:
        lines = [f"{names[i + 1]},{names[i]}" for i in range(len(names) - 1)]
        (root / "fashion-resize-pairs-test.csv").write_text("from,to\n" + "\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="session")
def pose_model(tmp_path_factory) -> Path:
    from adgen.fixtures.pose import build_fixture_pose_model

    return build_fixture_pose_model(tmp_path_factory.mktemp("pose") / "fixture-pose")


@pytest.fixture(scope="session")
def estimator(pose_model):
    from adgen.pose.estimate import load_pose_estimator

    return load_pose_estimator(pose_model)


@pytest.fixture(scope="session")
def fid_graph(tmp_path_factory) -> Path:
    from tests.metrics.conftest import build_fid_graph

    return build_fid_graph(tmp_path_factory.mktemp("fid") / "classify_image_graph_def.pb")
