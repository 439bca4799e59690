"""Import user bag PNGs into the bag set (datasets.user_bags), refusing files without a real cut-out.

A bag foreground is only useful if its alpha channel is the bag's mask. A PNG with no alpha, or one
that is entirely opaque or entirely transparent, is a photo, not a cut-out: it is refused with one
line naming the file, unless `--cutout` asks for GrabCut to cut the bag out of it (the bag is assumed
to fill the picture, with a thin margin of background around it).
Stored content-addressed under <user_bags>/images/ with <user_bags>/bags.parquet listing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from adgen import manifest, safety
from adgen.config import Params
from adgen.errors import UserError
from adgen.imagestore import ImageStore
from adgen.matting.cutout import mask_bbox, png_bytes, rgba_cutout
from adgen.matting.grabcut import grabcut_mask
from adgen.matting.photo import to_upright_rgb
from adgen.safety import ImageTooLarge

MIN_OPAQUE = 0.02  # at least 2% of the pixels must be (partly) opaque
MAX_OPAQUE = 0.995  # and some must be transparent
COLUMNS = ["image_id", "path", "original_name", "cutout", "width", "height"]


@dataclass(frozen=True)
class BagImportResult:
    added: int
    already_present: int
    total: int
    table: Path


def alpha_problem(image: Image.Image) -> str | None:
    """Why this image is not a usable cut-out, or None if its alpha is a real mask."""
    if "A" not in image.getbands() and not (image.mode == "P" and "transparency" in image.info):
        return "no alpha channel"
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    opaque = float((alpha > 0).mean())
    if opaque == 0:
        return "fully transparent"
    if (alpha == 255).all() or opaque > MAX_OPAQUE:
        return "fully opaque alpha"
    if opaque < MIN_OPAQUE:
        return f"almost fully transparent ({opaque:.1%} visible)"
    return None


def grabcut_bag(image: Image.Image, iterations: int = 5) -> Image.Image | None:
    """Cut the bag out of a photo that it fills (5% margin) -> tight RGBA, or None."""
    rgb = np.asarray(to_upright_rgb(image))
    h, w = rgb.shape[:2]
    mx, my = max(1, round(w * 0.05)), max(1, round(h * 0.05))
    mask = grabcut_mask(rgb, (mx, my, w - mx, h - my), iterations)
    box = mask_bbox(mask) if mask is not None else None
    return rgba_cutout(rgb, mask, box) if box else None


def user_bags_table(params: Params) -> Path:
    return params.path(params.datasets.user_bags) / "bags.parquet"


def import_bags(params: Params, folder: Path, cutout: bool = False) -> BagImportResult:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"bags import: {folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise UserError(f"bags import: no .png files in {folder}")
    ready: list[tuple[Path, Image.Image, bool]] = []
    bad: list[str] = []
    for f in files:
        try:
            with safety.open_image(f, f.name) as im:
                im.load()
                image = im.copy()
        except ImageTooLarge:
            bad.append(f"{f.name} (over the {safety.MAX_PIXELS:,}-pixel limit)")
            continue
        except (UnidentifiedImageError, OSError, ValueError):
            bad.append(f"{f.name} (not a readable PNG)")
            continue
        problem = alpha_problem(image)
        if problem is None:
            rgba = image.convert("RGBA")
            box = mask_bbox(np.asarray(rgba)[..., 3])
            ready.append((f, rgba.crop(box), False))
        elif cutout and problem != "fully transparent":
            cut = grabcut_bag(image, params.strip.grabcut_iterations)
            if cut is None:
                bad.append(f"{f.name} ({problem}; GrabCut found no bag)")
            else:
                ready.append((f, cut, True))
        else:
            hint = (
                ""
                if problem == "fully transparent"
                else "; save it with the bag's mask as alpha or pass --cutout"
            )
            bad.append(f"{f.name} ({problem}{hint})")
    if bad:
        more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
        raise UserError(f"bags import: {len(bad)} of {len(files)} files are not bag cut-outs: {bad[0]}{more}")
    out_dir = params.path(params.datasets.user_bags)
    table = user_bags_table(params)
    existing = manifest.read(table, dict.fromkeys(COLUMNS, "object"))
    store = ImageStore(out_dir)
    rows, added = [], 0
    known = set(existing["image_id"])
    for f, rgba, was_cut in ready:
        stored = store.put(png_bytes(rgba), "png")
        if stored.image_id in known:
            continue
        known.add(stored.image_id)
        added += 1
        rel = stored.path.relative_to(params.root).as_posix()
        rows.append([stored.image_id, rel, f.name, was_cut, rgba.width, rgba.height])
    df = pd.concat([existing, pd.DataFrame(rows, columns=COLUMNS)], ignore_index=True)
    manifest.write(df, table)
    return BagImportResult(added, len(ready) - added, len(df), table)
