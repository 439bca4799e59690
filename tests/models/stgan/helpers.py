"""Shared set-up for the ST-GAN tests: a tiny synthetic dataset and a params.yaml pointing at it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from adgen.models.stgan.data import make_synthetic_dataset

# Tiny but real: 32 px, batch 4, the official architecture and losses.
TINY = {
    "preset": "demo",
    "index": "ds/index.parquet",
    "height": 32,
    "width": 32,
    "fg_scale": 0.35,
    "batch": 4,
    "history_size": 40,
    "history_mix": 2,
    "samples": 3,
    "eval_images": 8,
    "gif_frames_per_warp": 2,
}


def make_project(root: Path, **stgan) -> Path:
    """A project dir with a synthetic ST-GAN dataset and a params.yaml; returns the params path."""
    if not (root / "ds" / "index.parquet").exists():
        make_synthetic_dataset(
            root / "ds", size=32, n_real=16, n_background=16, n_foreground=2, fg_scale=0.35
        )
    params = {"paths": {"models": "models", "metrics": "metrics"}, "train": {"stgan": {**TINY, **stgan}}}
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def adgen_cmd(params: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "adgen.cli", "--params", str(params), *args]


def run_adgen(params: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        adgen_cmd(params, *args), capture_output=True, text=True, timeout=timeout, cwd=params.parent, env=env
    )
