"""A tiny DeepFashion In-shop folder (real layout, stick-figure people) and DPIG jobs over it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from adgen import config
from adgen.models.dpig.config import DpigParams
from adgen.models.registry import TrainJob, with_preset
from tests.models.gfla.helpers import draw_person, pose

COLOURS = [(200, 40, 40), (40, 160, 60), (40, 60, 200), (180, 140, 20)]


def write_deepfashion(root: Path, people: int = 3, poses: int = 2, size: tuple[int, int] = (64, 44)) -> Path:
    """img/WOMEN/Dresses/id_XXXXXXXX/NN_K_view.jpg and a GFLA annotation CSV (256x176 pixel frame)."""
    from adgen.deepfashion import GFLA_HEIGHT, GFLA_WIDTH, gfla_name

    rows = []
    for person in range(people):
        item = f"id_{person + 1:08d}"
        folder = root / "img" / "WOMEN" / "Dresses" / item
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(poses):
            kp = pose(person * 10 + k)
            name = f"{k + 1:02d}_1_front.jpg"
            draw_person(kp, COLOURS[person % len(COLOURS)], (size[1], size[0])).save(
                folder / name, quality=95
            )
            ys = [int(v * GFLA_HEIGHT) if c > 0 else -1 for v, c in zip(kp[:, 1], kp[:, 2], strict=True)]
            xs = [int(v * GFLA_WIDTH) if c > 0 else -1 for v, c in zip(kp[:, 0], kp[:, 2], strict=True)]
            rows.append(f"{gfla_name('WOMEN', 'Dresses', item, name)}:{json.dumps(ys)}:{json.dumps(xs)}")
    (root / "fasion-resize-annotation-train.csv").write_text(
        "name:keypoints_y:keypoints_x\n" + "\n".join(rows) + "\n"
    )
    return root


def project_params(root: Path, deepfashion: Path | None) -> config.Params:
    datasets = {"deepfashion": str(deepfashion) if deepfashion else None, "stylegan2_resolution": 32}
    return config.from_dict(
        {"paths": {"models": "models", "metrics": "metrics"}, "datasets": {**datasets, "stgan_sizes": [32]}},
        root=root,
    )


def build_datasets_for(params: config.Params) -> Path:
    """DPIG's input as the pipeline makes it: the real build-datasets stage (an empty stripped
    manifest stands for a project whose people all come from DeepFashion)."""
    import pandas as pd

    from adgen.datasets.build import build_datasets

    stripped = params.path(params.paths.stripped) / "manifest.parquet"
    if not stripped.is_file():
        stripped.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(columns=["image_id", "keep", "person_white"]).to_parquet(stripped)
    return build_datasets(params).out_dir / "dpig"


def tiny_options(**overrides) -> DpigParams:
    """The demo preset on CPU, from DeepFashion only, with any overrides."""
    base = {"sources": ["deepfashion"], "device": "cpu", "workers": 0, **overrides}
    return with_preset(DpigParams(**base), "demo")


def job(root: Path, run_dir: Path, options: DpigParams | None = None) -> TrainJob:
    df = root / "deepfashion"
    if not df.exists():
        write_deepfashion(df)
    params = project_params(root, df)
    if not (params.path(params.paths.datasets) / "dpig" / "people.parquet").is_file():
        build_datasets_for(params)
    return TrainJob(
        params=params,
        options=options or tiny_options(),
        run_dir=run_dir,
        metrics_dir=root / "metrics",
    )


def a_pose(variant: int = 1) -> np.ndarray:
    return pose(variant)
