"""A model's panel shows its sample grids over the training steps (a few, evenly spaced, newest last,
each opening at full size) and the ST-GAN warp GIF scaled up to a size one can see."""

from __future__ import annotations

import os
import re
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from PIL import Image

from adgen import config
from adgen.report.build import build_report


def training_html(root: Path) -> str:
    report = build_report(config.load(root / "params.yaml"))
    return report.index.read_text().split('id="training"')[1].split("</section>")[0]


def grids(run: Path, steps: list[int], name: str = "fakes-{:09d}.png") -> None:
    run.mkdir(parents=True, exist_ok=True)
    for n, step in enumerate(steps):
        path = run / name.format(step)
        Image.new("RGB", (64, 32), (step % 256, 0, 0)).save(path)
        os.utime(path, (1_000_000 + n, 1_000_000 + n))


def test_sample_grids_over_steps_are_evenly_spaced_newest_last_and_open_full_size(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("report:\n  sample_grids: 4\n")
    models = tmp_path / "data/models/stylegan2"
    grids(models / "00000-old", [0, 5000])  # an older run: not mixed in
    os.utime(models / "00000-old" / "fakes-000005000.png", (1, 1))
    grids(models / "00001-new", [s * 100 for s in range(10)])  # written in step order
    html = training_html(tmp_path)
    shown = re.findall(
        r'<figure><a href="([^"]+)"><img src="\1"[^>]*></a><figcaption>([^<]+)</figcaption>', html
    )
    assert [caption for _, caption in shown] == ["step 0", "step 300", "step 600", "step 900"]
    assert "00001-new, newest last" in html
    for n, (src, caption) in enumerate(shown):  # the full-size grid it opens is the step's own
        got = Image.open(tmp_path / "report" / src).convert("RGB")
        assert got.size == (64, 32) and got.getpixel((0, 0))[0] == int(caption.split()[1]) % 256, n


def test_grids_named_without_a_step_are_ordered_by_when_they_were_written(tmp_path: Path):
    run = tmp_path / "data/models/stgan/00000-demo"
    grids(run, [1, 2], name="samples-warp{}.png")
    grids(run, [0], name="samples-latest.png")
    os.utime(run / "samples-latest.png", (2_000_000, 2_000_000))  # rewritten after every phase: last
    (tmp_path / "params.yaml").write_text("{}\n")
    captions = re.findall(r"<figcaption>([^<]+)</figcaption>", training_html(tmp_path))
    assert captions == ["samples-warp1", "samples-warp2", "samples-latest"]


def test_the_warp_gif_is_scaled_up_to_a_size_one_can_see(tmp_path: Path):
    run = tmp_path / "data/models/stgan/00000-demo"
    run.mkdir(parents=True)
    frames = [np.full((34, 8 * 34, 3), v, np.uint8) for v in (0, 128, 255)]  # a row of 8 composites, 32 px
    imageio.mimsave(run / "warps.gif", frames, duration=0.2)
    (tmp_path / "params.yaml").write_text("{}\n")
    html = training_html(tmp_path)
    (width,) = re.findall(r'<img src="assets/stgan-warps.gif" alt="[^"]*" width="(\d+)" class="anim">', html)
    # 6× would make it 192 px tall but wider than the page: 4×, 1088 px wide and 136 px tall
    assert int(width) == 8 * 34 * 4
    square = run / "warps.gif"
    imageio.mimsave(square, [np.full((34, 34, 3), v, np.uint8) for v in (0, 255)], duration=0.2)
    (width,) = re.findall(r'src="assets/stgan-warps.gif" alt="[^"]*" width="(\d+)"', training_html(tmp_path))
    assert int(width) == 34 * 6  # a single composite: 204 px, big enough to see the bag move
