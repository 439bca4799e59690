"""A contact sheet of the strip stage's output: people on white, and bag cut-outs on a checkerboard.

The checkerboard shows the alpha: a clean bag cut-out has no halo of the photo's background.
Written to data/stripped/contact_sheet.png after every run, for the demo and the report.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw

from adgen import atomic
from adgen.store.photos import Photos

CELL = 128
MAX_PEOPLE = 32


def _checker(w: int, h: int, step: int = 8) -> Image.Image:
    board = Image.new("RGB", (w, h), (230, 230, 230))
    d = ImageDraw.Draw(board)
    for y in range(0, h, step):
        for x in range((y // step) % 2 * step, w, 2 * step):
            d.rectangle([x, y, x + step - 1, y + step - 1], fill=(180, 180, 180))
    return board


def _fit(im: Image.Image, cell: int) -> Image.Image:
    k = cell / max(im.width, im.height)
    return im.resize((max(1, round(im.width * k)), max(1, round(im.height * k))), Image.LANCZOS)


def write_contact_sheet(stripped: pd.DataFrame, cutouts: Photos, out: Path) -> Path | None:
    """Row pairs: each kept person on white, and under it their bag cut-out on a checkerboard (read
    through strip's store)."""
    kept = stripped[stripped["keep"].fillna(False).astype(bool)].head(MAX_PEOPLE)
    if kept.empty:
        return None
    cols = min(8, len(kept))
    rows = (len(kept) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * CELL, rows * 2 * CELL), (255, 255, 255))
    for i, r in enumerate(kept.to_dict("records")):
        x, y = (i % cols) * CELL, (i // cols) * 2 * CELL
        with Image.open(io.BytesIO(cutouts.get(r["person_white"]))) as im:
            person = _fit(im.convert("RGB"), CELL)
        sheet.paste(person, (x + (CELL - person.width) // 2, y))
        bag = r.get("bag_rgba")
        if isinstance(bag, str):
            with Image.open(io.BytesIO(cutouts.get(bag))) as im:
                bag = _fit(im.convert("RGBA"), CELL - 8)
            board = _checker(bag.width, bag.height)
            board.paste(bag, (0, 0), bag)
            sheet.paste(board, (x + (CELL - bag.width) // 2, y + CELL + 4))
    with atomic.atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out
