"""SF-GAN's data: the ST-GAN dataset as it is, plus a synthetic one where every light is known.

Training reads the ST-GAN index (`stgan.data.load_dataset`): real people with bags, people, and bag
cut-outs. `make_relit_dataset` writes ST-GAN's synthetic dataset and then lights every photo of a
person (real ones with their bag, and backgrounds) by its own random light, recorded in the index
(`light_*` columns), while the bag cut-outs stay in neutral studio light: exactly the mismatch
SF-GAN's appearance part has to fix, with the answer known.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.sfgan.relight import LIGHT_COLUMNS, Light, apply_light, random_light
from adgen.models.stgan.data import make_synthetic_dataset


def make_relit_dataset(
    out_dir: Path,
    size: int = 32,
    n_real: int = 64,
    n_background: int = 64,
    n_foreground: int = 4,
    fg_scale: float = 0.35,
    strength: float = 0.4,
    seed: int = 0,
) -> Path:
    """ST-GAN's synthetic dataset with each person photo relit by a random light; returns the index."""
    index = make_synthetic_dataset(out_dir, size, n_real, n_background, n_foreground, fg_scale, seed)
    table = pd.read_parquet(index)
    root = Path(out_dir).parent
    lights = random_light(len(table), strength, torch.Generator().manual_seed(seed + 12345))
    lit = (table["role"] != "foreground").to_numpy()
    neutral = torch.from_numpy(~lit)
    lights = Light(
        torch.where(neutral[:, None], torch.ones(1, 3), lights.gain),
        torch.where(neutral[:, None], torch.ones(1, 1), lights.gamma),
        torch.where(neutral[:, None], torch.zeros(1, 3), lights.offset),
    )
    for i, rel in enumerate(table["path"]):
        if not lit[i]:
            continue
        path = root / rel
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
        x = torch.from_numpy(arr).permute(2, 0, 1)[None]
        one = Light(lights.gain[i : i + 1], lights.gamma[i : i + 1], lights.offset[i : i + 1])
        y = (apply_light(x, one)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        Image.fromarray(y).save(path)
    for name, values in lights.columns().items():
        table[name] = values
    table.to_parquet(index, index=False)
    return index


def _rows_of(table: pd.DataFrame, role: str, height: int) -> pd.DataFrame:
    """The rows of `role` at the size `load_dataset` reads (the exact one, else the next larger)."""
    rows = table[table["role"] == role]
    if "size" in rows.columns:
        sizes = sorted(int(s) for s in rows["size"].unique())
        larger = [s for s in sizes if s > height]
        pick = height if height in sizes else (min(larger) if larger else max(sizes))
        rows = rows[rows["size"] == pick]
    return rows


def background_lights(index: Path, height: int) -> Light:
    """The recorded lights of the background rows (in `load_dataset`'s order and size choice)."""
    table = pd.read_parquet(index)
    missing = [c for c in LIGHT_COLUMNS if c not in table.columns]
    if missing:
        raise UserError(
            f"{index}: no light_* columns; the relighting check needs a dataset from make_relit_dataset"
        )
    return Light.from_columns(_rows_of(table, "background", height))


def anchors_of(index: Path, role: str, height: int) -> torch.Tensor:
    """[N, 2] normalised (x, y) bag centres of `role` rows (NaN where unknown), in load order."""
    table = pd.read_parquet(index)
    rows = _rows_of(table, role, height)
    if not {"anchor_x", "anchor_y"} <= set(rows.columns):
        return torch.full((len(rows), 2), float("nan"))
    return torch.tensor(rows[["anchor_x", "anchor_y"]].to_numpy(dtype=np.float32, na_value=np.nan))


def translation_to(alpha: torch.Tensor, anchors: torch.Tensor, warp_type: str) -> torch.Tensor:
    """Warp parameters moving each bag's alpha centre onto its anchor (a pure translation).

    The output pixel at canonical u reads the input at u + t, so t = centre - anchor in canonical
    units (2x the normalised distance). Rows with a NaN anchor get zeros (the bag stays).
    """
    from adgen.models.stgan.warp import alpha_centroid, warp_dim

    t = 2.0 * (alpha_centroid(alpha).cpu() - anchors)
    t = torch.nan_to_num(t, nan=0.0)
    p = torch.zeros(len(anchors), warp_dim(warp_type))
    if warp_type == "homography":
        p[:, 0], p[:, 4] = t[:, 0], t[:, 1]
    else:
        p[:, 2], p[:, 5] = t[:, 0], t[:, 1]
    return p
