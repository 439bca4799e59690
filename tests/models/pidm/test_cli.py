"""PIDM declared: `adgen train pidm --dry-run` prints the official counts, and it is approach 3."""

from __future__ import annotations

import json
import subprocess
import sys

from adgen.models.registry import approaches, models

# the official code instantiated as released (issue 30), counted on the meta device by the dry run
OFFICIAL = {
    "PIDM": 180_355_718,
    "PIDM.time_embed": 328_704,
    "PIDM.input_blocks": 42_714_368,
    "PIDM.middle_block": 13_121_536,
    "PIDM.output_blocks": 85_895_296,
    "PIDM.out": 7_174,
    "PIDM.texture_encoder": 38_288_640,
}


def test_the_dry_run_at_the_official_preset_prints_the_six_official_counts(tmp_path):
    (tmp_path / "params.yaml").write_text("{}\n")
    cmd = [sys.executable, "-m", "adgen.cli", "--params", str(tmp_path / "params.yaml")]
    done = subprocess.run(
        [*cmd, "train", "pidm", "--preset", "deepfashion256", "--dry-run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout)
    assert shown["model"] == "pidm" and shown["parameters"] == OFFICIAL
    assert sum(v for k, v in OFFICIAL.items() if k != "PIDM") == OFFICIAL["PIDM"]
    assert shown["options"]["preset"] == "deepfashion256" and shown["options"]["height"] == 256


def test_pidm_is_approach_3_re_posing_stylegan2_people():
    chain = approaches()["3"]
    assert [spec.name for spec in chain.chain] == ["stylegan2", "pidm"]
    assert models()["pidm"].label == "PIDM"
