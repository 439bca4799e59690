"""Sampling: the same seed always gives the same person; the grid command writes a PNG."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image

from adgen.models.stylegan2.api import load_sampler
from adgen.models.stylegan2.train import train


def test_sampling_is_deterministic_per_seed_and_tall(demo_params, tmp_path):
    result = train(demo_params.model_copy(update={"total_kimg": 0.004}), tmp_path / "run", echo=False)
    sampler = load_sampler(result.checkpoint)
    assert sampler.resolution == (32, 16)
    a = sampler.sample([3, 7], truncation=0.7)
    b = load_sampler(result.checkpoint).sample([7, 3], truncation=0.7)
    assert a[0].size == (16, 32) and a[0].mode == "RGB"
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[1]))
    assert np.array_equal(np.asarray(a[1]), np.asarray(b[0]))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(a[1]))
    # a run dir stands for its newest checkpoint (what generate.stylegan2_checkpoint names)
    c = load_sampler(tmp_path / "run").sample([3], truncation=0.7)
    assert np.array_equal(np.asarray(c[0]), np.asarray(a[0]))

    grid = tmp_path / "grid.png"
    cmd = [sys.executable, "-m", "adgen.cli", "sample", "stylegan2", "--checkpoint", str(result.checkpoint)]
    subprocess.run(
        [*cmd, "--seeds", "0-5", "--truncation", "0.7", "-o", str(grid)], check=True, capture_output=True
    )
    with Image.open(grid) as im:
        assert im.size[0] % 16 == 0 and im.size[1] % 32 == 0 and im.size[0] * im.size[1] >= 6 * 16 * 32


def test_missing_checkpoint_is_a_one_line_error(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "adgen.cli", "sample", "stylegan2", "--checkpoint", str(tmp_path / "nope.pt")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "checkpoint not found" in out.stderr
