"""`adgen evaluate composites`: ST-GAN and SF-GAN on the same people, bags and seeds, side by side.

For composite i, both models get person i mod P, bag i mod B (the dataset's background and
foreground rows, in index order) and start placement seed `seed + i`. Measured:

- FID of each model's composites against the real photos of people with bags (the project's FID
  graph; "skipped" with the reason when `metrics.fid_inception_graph` is not set or missing);
- placement error, as ST-GAN's convergence test measures it: the distance from the bag's alpha
  centre to the person's anchor, as a fraction of the image, where the dataset has anchors;
- colour consistency: how far the bag's colour statistics sit from the person's around it
  (`colour_gap`), against the same gap in real photos under the same bag-shaped region; the score
  is |gap(model) - gap(real)|, lower is better;
- a grid PNG: person, ST-GAN composite, SF-GAN composite, per row.

`<paths.metrics>/composites.json` gets the numbers, `composites.info.json` the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.stgan.samples import grid
from adgen.stage_metrics import write_training_outputs

WHITE = 0.92  # pixels brighter than this in every channel are the studio backdrop, not the person


def _rows(index: Path, role: str) -> pd.DataFrame:
    table = pd.read_parquet(index)
    rows = table[table["role"] == role]
    if rows.empty:
        raise UserError(f"{index}: no {role!r} rows")
    if "size" in rows.columns:  # every built size is listed; take the largest
        rows = rows[rows["size"] == rows["size"].max()]
    return rows


def _open(root: Path, rel: str, mode: str) -> Image.Image:
    """An image the index names, which must lie under the project root (the index is data)."""
    path = Path(str(rel))
    if path.is_absolute() or ".." in path.parts:
        raise UserError(
            f"dataset index path {str(rel)!r}: must be relative to the project root, without '..'"
        )
    path = root / path
    if not path.is_file():
        raise UserError(f"{path}: image listed in the dataset index not found")
    with Image.open(path) as im:
        return im.convert(mode)


def colour_stats(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Mean log-chromaticity (2) and mean log-luminance (1) over a region; None when it is empty."""
    if mask.sum() < 4:
        return None
    px = rgb[mask].astype(np.float64) / 255.0 + 1e-3
    lum = px.mean(axis=1)
    chroma = np.log(px[:, :2] / px[:, 2:3])  # log(R/B), log(G/B): light colour moves these
    return np.concatenate([chroma.mean(axis=0), [np.log(lum).mean()]])


def colour_gap(rgb: np.ndarray, alpha: np.ndarray) -> float | None:
    """Distance between the bag region's colour statistics and the person's (not the backdrop)."""
    bag = alpha > 0.5
    person = (alpha < 0.05) & ~(rgb.astype(np.float64) / 255.0 > WHITE).all(axis=2)
    a, b = colour_stats(rgb, bag), colour_stats(rgb, person)
    return None if a is None or b is None else float(np.linalg.norm(a - b))


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def evaluate_composites(
    stgan_checkpoint: Path,
    sfgan_checkpoint: Path,
    index: Path,
    root: Path,
    metrics_dir: Path,
    fid_graph: Path | None,
    count: int = 64,
    seed: int = 0,
    grid_rows: int = 8,
    device: str = "cpu",
) -> dict[str, Any]:
    """Composite `count` person/bag pairs with both models; write composites.{json,info.json,png}."""
    from adgen.models.sfgan.api import load_compositor as load_sfgan
    from adgen.models.stgan.api import load_compositor as load_stgan
    from adgen.models.stgan.warp import alpha_centroid

    if not Path(index).is_file():
        raise UserError(f"{index}: dataset index not found; build it with `adgen build-datasets`")
    models = {"stgan": load_stgan(stgan_checkpoint, device), "sfgan": load_sfgan(sfgan_checkpoint, device)}
    people, bags, reals = _rows(index, "background"), _rows(index, "foreground"), _rows(index, "real")
    anchors = (
        people[["anchor_x", "anchor_y"]].to_numpy(dtype=np.float64, na_value=np.nan)
        if {"anchor_x", "anchor_y"} <= set(people.columns)
        else np.full((len(people), 2), np.nan)
    )
    person_imgs = [_open(root, p, "RGB") for p in people["path"]]
    bag_imgs = [_open(root, p, "RGBA") for p in bags["path"]]
    real_imgs = [_open(root, p, "RGB") for p in reals["path"]]
    images: dict[str, list[Image.Image]] = {m: [] for m in models}
    errors: dict[str, list[float]] = {m: [] for m in models}
    gaps: dict[str, list[float | None]] = {m: [] for m in models}
    real_gaps: list[float | None] = []
    rows = []
    for i in range(count):
        person, bag, s = person_imgs[i % len(person_imgs)], bag_imgs[i % len(bag_imgs)], seed + i
        row = []
        for name, comp in models.items():
            bg, fg, ps = comp.warp_params(person, bag, s)
            alpha = comp_alpha(comp, fg, ps[-1])
            image = comp.composite(person, bag, seed=s).image
            images[name].append(image)
            anchor = anchors[i % len(anchors)]
            if np.isfinite(anchor).all():
                centre = alpha_centroid(torch.from_numpy(alpha)[None, None].float())[0].numpy()
                errors[name].append(float(np.linalg.norm(centre - anchor)))
            gaps[name].append(colour_gap(np.asarray(image), alpha))
            if name == "sfgan":  # the same bag-shaped region on a real photo (resized to the model)
                real = np.asarray(real_imgs[i % len(real_imgs)].resize(image.size, Image.Resampling.BICUBIC))
                real_gaps.append(colour_gap(real, alpha))
            row.append(np.asarray(image))
        if len(rows) < grid_rows:
            size = rows[0][0].shape[1::-1] if rows else row[0].shape[1::-1]
            rows.append([np.asarray(person.resize(size, Image.Resampling.BICUBIC)), *row])
    real_gap = _mean(real_gaps)
    values: dict[str, Any] = {"count": count, "seed": seed, "index": str(index)}
    for name in models:
        gap = _mean(gaps[name])
        values[name] = {
            "placement_error": _mean(errors[name]),
            "colour_gap": gap,
            "colour_consistency": None if gap is None or real_gap is None else abs(gap - real_gap),
            "checkpoint": str(stgan_checkpoint if name == "stgan" else sfgan_checkpoint),
        }
    values["real_colour_gap"] = real_gap
    if fid_graph is None or not Path(fid_graph).is_file():
        why = "metrics.fid_inception_graph is not set" if fid_graph is None else f"{fid_graph} not found"
        for name in models:
            values[name]["fid"] = f"skipped: {why}"
    else:
        from adgen.metrics.fid import fid

        for name in models:
            values[name]["fid"] = fid(real_imgs, images[name], fid_graph)
    metrics_dir = Path(metrics_dir)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    from adgen.models.sfgan.samples import write_png

    write_png(metrics_dir / "composites.png", grid(rows))
    values["grid"] = str(metrics_dir / "composites.png")
    write_training_outputs(metrics_dir, "composites", values)
    return values


def comp_alpha(comp, foreground, p) -> np.ndarray:
    """[H, W] alpha of the bag placed by warp parameters p, with the compositor's own warps."""
    warps = comp.gens if hasattr(comp, "gens") else comp.fusion.geometry  # ST-GAN | SF-GAN
    with torch.no_grad():
        return warps.warp(foreground, p)[0, 3].cpu().numpy()
