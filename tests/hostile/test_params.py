"""Issue 14, case 7 (params): every knob is checked with its bounds when params.yaml is read.

Before the fix `train.stylegan2.batch: -4` was accepted, made a run dir and failed in the data
loader with a traceback; the GFLA and StyleGAN2 sections had no bounds at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adgen.models.stylegan2.data import write_zip
from tests.models.stylegan2.conftest import tall_people

from .conftest import adgen, error_line, write_params

OUT_OF_BOUNDS = [
    ({"train": {"stylegan2": {"batch": -4}}}, "train.stylegan2.batch"),
    ({"train": {"stylegan2": {"lr": 2.0}}}, "train.stylegan2.lr"),
    ({"train": {"stylegan2": {"keep_checkpoints": 0}}}, "train.stylegan2.keep_checkpoints"),
    ({"train": {"stylegan2": {"style_mixing": 1.5}}}, "train.stylegan2.style_mixing"),
    ({"train": {"gfla": {"lr_d": 2.0}}}, "train.gfla.lr_d"),
    ({"train": {"gfla": {"lr_g": 0}}}, "train.gfla.lr_g"),
    ({"train": {"gfla": {"checkpoint_every": 0}}}, "train.gfla.checkpoint_every"),
    ({"train": {"gfla": {"heatmap_sigma": -1}}}, "train.gfla.heatmap_sigma"),
    ({"train": {"stgan": {"adam_betas": [1.5, 0.9]}}}, "train.stgan.adam_betas"),
    ({"datasets": {"stgan_sizes": [4]}}, "datasets.stgan_sizes"),
    ({"detect": {"person_class": -1}}, "detect.person_class"),
]


@pytest.mark.parametrize(("params", "key"), OUT_OF_BOUNDS, ids=[k for _, k in OUT_OF_BOUNDS])
def test_a_param_out_of_its_bounds_is_one_line_naming_it(params: dict, key: str, tmp_path: Path) -> None:
    write_params(tmp_path, params)
    assert key in error_line(adgen("config", "show", cwd=tmp_path))


def test_a_negative_stylegan2_batch_stops_training_before_a_run_dir_is_made(tmp_path: Path) -> None:
    data = write_zip(tmp_path / "people.zip", tall_people(8))  # a real dataset: only the batch is wrong
    sg = {"preset": "demo", "dataset": str(data), "device": "cpu", "batch": -4}
    write_params(tmp_path, {"paths": {"models": "models"}, "train": {"stylegan2": sg}})
    line = error_line(adgen("train", "stylegan2", cwd=tmp_path))
    assert "train.stylegan2.batch" in line
    assert not (tmp_path / "models").exists()
