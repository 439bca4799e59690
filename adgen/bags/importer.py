"""Import user bag PNGs into the bag set (datasets.user_bags), refusing files without a real cut-out.

A bag foreground is only useful if its alpha channel is the bag's mask. A PNG with no alpha, or one
that is entirely opaque or entirely transparent, is a photo, not a cut-out: it is refused with one
line naming the file, unless `--cutout` asks for GrabCut to cut the bag out of it (the bag is assumed
to fill the picture, with a thin margin of background around it).
Stored in an image store of their own (<user_bags>/store, adgen.store; key: the sha256 of the
PNG's bytes, member `<id>.png`), with <user_bags>/bags.parquet naming each bag's shard and member.
The same bytes twice (a re-import, or two files that cut to the same PNG) are stored and listed once.
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
from adgen.matting.cutout import mask_bbox, png_bytes, rgba_cutout
from adgen.matting.grabcut import grabcut_mask
from adgen.matting.photo import to_upright_rgb
from adgen.safety import ImageTooLarge
from adgen.store import locations
from adgen.store.photos import Photos
from adgen.store.reader import StoreReader

MIN_OPAQUE = 0.02  # at least 2% of the pixels must be (partly) opaque
MAX_OPAQUE = 0.995  # and some must be transparent
COLUMNS = ["image_id", "shard", "member", "original_name", "cutout", "width", "height"]


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


def user_bags(params: Params) -> tuple[pd.DataFrame, Photos]:
    """The imported bags' rows (checked) and their store; no rows when nothing was imported."""
    table = locations.user_bags_table(params)
    bags = Photos(locations.user_bags_store(params), str(table))
    rows = manifest.read(table, dict.fromkeys(COLUMNS, "object"))
    safety.check_manifest(rows, str(table), params.root)
    bags.check(rows)  # one line for a table from before the store: `adgen store migrate`
    return rows, bags


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
    table = locations.user_bags_table(params)
    existing, bags = user_bags(params)
    new: dict[str, list] = {}  # image id -> its row (shard and member filled in once packed)
    known = set(existing["image_id"])
    # Packed into a shard when the writer closes, before the table that names them is written;
    # bytes already in the store are not stored again.
    with locations.writer(params, bags.root, label="bags", durable=False) as store:
        for f, rgba, was_cut in ready:
            key = store.put(png_bytes(rgba), "png", {"original_name": f.name}).key
            if key not in known and key not in new:
                new[key] = [key, None, None, f.name, was_cut, rgba.width, rgba.height]
    reader = StoreReader(bags.root)
    for row in new.values():
        row[1], row[2] = reader.location(row[0], "png")
    df = pd.concat([existing, pd.DataFrame(list(new.values()), columns=COLUMNS)], ignore_index=True)
    manifest.write(df, table)
    return BagImportResult(len(new), len(ready) - len(new), len(df), table)
