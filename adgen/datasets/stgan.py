"""ST-GAN training set: real composites, backgrounds to paste onto, and bag foregrounds.

- real: people carrying bags, stripped and on white, padded to size x size (what the discriminator
  must believe);
- background: people without bags on white (DeepFashion models, stripped people photographed without
  a bag, kept people with the bag region painted white), padded to size x size;
- foreground: bag cut-outs as tight straight-alpha RGBA PNGs (crawled bags and user bags), scaled to
  fit inside size x size.
index.parquet has one row per file: role, size, path (relative to the project root), image_id,
source, bag_class, and anchor_x/anchor_y (normalised, where the bag sits or should sit) when known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from adgen import atomic, safety
from adgen.store.photos import ImageSource, openable

INDEX_COLUMNS = ["role", "size", "path", "image_id", "source", "bag_class", "anchor_x", "anchor_y"]


@dataclass(frozen=True)
class StganInput:
    role: str  # "real" | "background" | "foreground"
    image_id: str
    source: ImageSource  # a stored cut-out or user bag, or a DeepFashion file
    origin: str  # kept | no_bag | kept_bag_removed | deepfashion | user
    bag_class: str | None = None
    anchor: tuple[float, float] | None = None  # normalised to `source`


def _fit_rgba(image: Image.Image, size: int) -> Image.Image:
    scale = size / max(image.width, image.height)
    w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    return image.resize((w, h), Image.LANCZOS)


def _save_png(image: Image.Image, path: Path) -> None:
    with atomic.atomic_path(path) as tmp:
        image.save(tmp, format="PNG", compress_level=6)


def write_stgan(inputs: list[StganInput], sizes: list[int], out_dir: Path, root: Path) -> pd.DataFrame:
    """Write every input at every size; returns the index (also written to out_dir/index.parquet)."""
    from adgen.datasets.framing import fit_into

    rows = []
    folder = {"real": "real", "background": "bg", "foreground": "fg"}
    from adgen.progress import track

    for size in sizes:
        for i, item in enumerate(track(inputs, f"ST-GAN {size}px", total=len(inputs))):
            name = safety.safe_name(f"{item.origin}-{item.image_id[:16]}-{i:06d}.png", "ST-GAN dataset")
            path = out_dir / str(size) / folder[item.role] / name
            with safety.open_image(openable(item.source), str(item.source)) as src:
                if item.role == "foreground":
                    # Straight alpha survives LANCZOS only if colours are premultiplied while resizing.
                    img = _fit_rgba(src.convert("RGBa"), size).convert("RGBA")
                    anchor = None
                else:
                    img, fr = fit_into(src.convert("RGB"), size, size)
                    anchor = tuple(fr.points(np.array([item.anchor]))[0]) if item.anchor else None
            _save_png(img, path)
            rows.append(
                {
                    "role": item.role,
                    "size": size,
                    "path": path.relative_to(root).as_posix(),
                    "image_id": item.image_id,
                    "source": item.origin,
                    "bag_class": item.bag_class,
                    "anchor_x": float(anchor[0]) if anchor else np.nan,
                    "anchor_y": float(anchor[1]) if anchor else np.nan,
                }
            )
    df = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    df["size"] = df["size"].astype("int64")
    from adgen import manifest

    manifest.write(df, out_dir / "index.parquet")
    return df
