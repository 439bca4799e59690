"""Tiny StyleGAN2 set-ups that train in seconds on a CPU: a 32x16 zip and demo params."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from adgen.models.registry import with_preset
from adgen.models.stylegan2.config import StyleGAN2Params
from adgen.models.stylegan2.data import write_zip


def tall_people(n: int, h: int = 32, w: int = 16, seed: int = 0) -> list[Image.Image]:
    """Stand-in full-body photos: a coloured figure on white, padded to H:W 2:1."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a = np.full((h, w, 3), 255, np.uint8)
        top, left = rng.integers(1, h // 4), rng.integers(1, w // 4)
        a[top : h - 2, left : w - left] = rng.integers(0, 200, 3)
        a[top : top + h // 6, w // 2 - 2 : w // 2 + 2] = (230, 180, 150)  # head
        out.append(Image.fromarray(a))
    return out


@pytest.fixture
def tiny_zip(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "people.zip", tall_people(12))


@pytest.fixture
def demo_params(tiny_zip: Path) -> StyleGAN2Params:
    """The demo preset: 32x16, batch 4, R1 every 4 and path length every 2 steps."""
    torch.set_num_threads(1)
    return with_preset(StyleGAN2Params(dataset=tiny_zip, device="cpu"), "demo")


def write_params_yaml(path: Path, dataset: Path, models: Path, metrics: Path, **stylegan2) -> Path:
    data = {
        "paths": {"models": str(models), "metrics": str(metrics)},
        "train": {"stylegan2": {"preset": "demo", "dataset": str(dataset), "device": "cpu", **stylegan2}},
    }
    path.write_text(yaml.safe_dump(data))
    return path
