"""The ST-GAN index is read as the datasets stage writes it; bags start at the canonical centre."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.stgan import warp
from adgen.models.stgan.data import as_float, load_dataset, make_synthetic_dataset


def _write_index(root: Path, rows: list[dict]) -> Path:
    index = root / "stgan" / "index.parquet"
    index.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(index)
    return index


def test_reads_the_built_size_and_centres_each_bag(tmp_path: Path) -> None:
    rows = []
    for size in (64, 128):
        for role, mode in (("real", "RGB"), ("background", "RGB")):
            path = tmp_path / f"{role}-{size}.png"
            Image.new(mode, (size, size), (size, 0, 0)).save(path)
            rows.append(
                {
                    "role": role,
                    "size": size,
                    "path": path.name,
                    "image_id": "x",
                    "anchor_x": 0.7,
                    "anchor_y": 0.6,
                }
            )
        bag = Image.new("RGBA", (size // 2, size // 4), (0, 200, 0, 255))  # a wide bag, tight cut-out
        bag.save(tmp_path / f"fg-{size}.png")
        rows.append({"role": "foreground", "size": size, "path": f"fg-{size}.png", "image_id": "b",
                     "anchor_x": np.nan, "anchor_y": np.nan})  # fmt: skip
    data = load_dataset(_write_index(tmp_path, rows), 48, 48, fg_scale=0.5, root=tmp_path)
    assert data.real.shape == (1, 3, 48, 48) and data.foreground.shape == (1, 4, 48, 48)
    assert int(data.real[0, 0, 0, 0]) == 64  # the 64 px build: the smallest one at least 48 px
    torch.testing.assert_close(data.anchors, torch.tensor([[0.7, 0.6]]))
    alpha = as_float(data.foreground)[:, 3:4]
    torch.testing.assert_close(warp.alpha_centroid(alpha), torch.tensor([[0.5, 0.5]]), atol=0.02, rtol=0)
    cols = (alpha[0, 0] > 0.5).any(dim=0).sum().item()
    assert cols == 24  # the longer side is fg_scale of the image


def test_a_missing_role_or_image_is_one_clear_error(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    rows = [{"role": "real", "size": 8, "path": "a.png", "image_id": "a"}]
    with pytest.raises(UserError, match="no 'background' rows"):
        load_dataset(_write_index(tmp_path, rows), 8, 8, 0.5, tmp_path)
    rows += [{"role": "background", "size": 8, "path": "gone.png", "image_id": "g"},
             {"role": "foreground", "size": 8, "path": "a.png", "image_id": "a"}]  # fmt: skip
    with pytest.raises(UserError, match="background image gone.png not found"):
        load_dataset(_write_index(tmp_path, rows), 8, 8, 0.5, tmp_path)


def test_synthetic_anchors_mark_where_the_real_bags_hang(tmp_path: Path) -> None:
    index = make_synthetic_dataset(tmp_path / "ds", size=32, n_real=4, n_background=4, n_foreground=1)
    table = pd.read_parquet(index)
    data = load_dataset(index, 32, 32, 0.35, tmp_path)
    real = table[table.role == "real"].reset_index()
    # Bag pixels (the palette's saturated colours) of each real photo are centred on its anchor.
    for i, row in real.iterrows():
        img = data.real[i].permute(1, 2, 0).numpy().astype(int)
        bag = (img.max(axis=2) - img.min(axis=2) > 120) & (img.max(axis=2) > 150)
        ys, xs = np.nonzero(bag)
        assert abs(xs.mean() / 31 - row.anchor_x) < 0.04 and abs(ys.mean() / 31 - row.anchor_y) < 0.04
    assert torch.isfinite(data.anchors).all() and (data.anchors[:, 0] > 0.55).all()  # right of centre


def test_an_index_pointing_outside_the_project_is_refused_before_any_file_is_read(tmp_path: Path) -> None:
    project = tmp_path / "project"
    outside = tmp_path / "elsewhere.png"
    Image.new("RGB", (8, 8)).save(outside)
    index = _write_index(
        project,
        [
            {"role": role, "path": "../elsewhere.png", "image_id": "x"}
            for role in ("real", "background", "foreground")
        ],
    )
    with pytest.raises(UserError, match="points outside the project"):
        load_dataset(index, 8, 8, 0.5, root=project)
