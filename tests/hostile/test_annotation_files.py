"""Files and arguments from outside: annotation keypoints are checked like a pose file; seeds are bounded."""

from __future__ import annotations

import pytest

from adgen.deepfashion import read_gfla_annotations
from adgen.errors import UserError
from adgen.models.gfla.data import parse_keypoints

GOOD = "[" + ", ".join(["10"] * 18) + "]"


@pytest.mark.parametrize(
    "ys",
    [
        "[" + ", ".join(["NaN"] * 18) + "]",
        "[" + ", ".join(["1e999"] * 18) + "]",
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["nan", "overflow-to-inf", "deep-nesting"],
)
def test_a_hostile_keypoint_list_is_one_line(ys, tmp_path):
    csv = tmp_path / "annotations.csv"
    csv.write_text(f"name:keypoints_y:keypoints_x\nimg.jpg:{ys}:{GOOD}\n")
    with pytest.raises(UserError) as refused:
        read_gfla_annotations(csv)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 400
    with pytest.raises(UserError):
        parse_keypoints(ys, GOOD, (256, 176))


def test_good_keypoints_still_parse(tmp_path):
    csv = tmp_path / "annotations.csv"
    csv.write_text(f"name:keypoints_y:keypoints_x\nimg.jpg:{GOOD}:{GOOD}\n")
    assert read_gfla_annotations(csv)["img.jpg"].shape == (18, 2)
    assert parse_keypoints(GOOD, GOOD, (256, 176)).shape == (18, 3)


@pytest.mark.parametrize(
    ("model", "seeds", "says"),
    [
        ("stylegan2", "0-99999999999", "more than 4096 seeds"),
        ("dcgan", "4294967296", "seeds must be 0"),
        ("stylegan2", "1," * 5000 + "2", "more than 4096 seeds"),
    ],
    ids=["huge-range", "above-2**32", "long-list"],
)
def test_sample_seeds_are_bounded_before_anything_is_loaded(model, seeds, says, tmp_path):
    """`--seeds 0-99999999999` built a list of 10**11 ints (a hang) after loading the checkpoint."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "adgen.cli", "sample", model, "--checkpoint", "missing.pt", "--seeds", seeds],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert says in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
