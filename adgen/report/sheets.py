"""Contact sheets: a grid of thumbnails in one PNG, so a human can eyeball a stage's output.

Cut-outs with an alpha channel are shown over a checkerboard, so a wrong alpha (a white box, a
missing mask) is visible at a glance.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from adgen import atomic


def checkerboard(size: tuple[int, int], cell: int = 8) -> Image.Image:
    board = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(board)
    for y in range(0, size[1], cell):
        for x in range(0, size[0], cell):
            if (x // cell + y // cell) % 2:
                draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=(204, 204, 204))
    return board


def thumbnail(source: Path | bytes, px: int) -> Image.Image | None:
    """A px×px tile of the image (a file, or bytes read from the image store; aspect kept, padded);
    None when it can't be read."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            im = ImageOps.exif_transpose(im)
            im.thumbnail((px, px))
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                rgba = im.convert("RGBA")
                tile = checkerboard(rgba.size)
                tile.paste(rgba, mask=rgba.getchannel("A"))
            else:
                tile = im.convert("RGB")
    except (OSError, ValueError):
        return None
    canvas = Image.new("RGB", (px, px), (250, 250, 250))
    canvas.paste(tile, ((px - tile.width) // 2, (px - tile.height) // 2))
    return canvas


def contact_sheet(
    images: Sequence[Path | bytes], out: Path, *, px: int = 96, columns: int = 8, pad: int = 4
) -> int:
    """Write a grid of thumbnails of `images` (files or stored bytes) to `out` (PNG); return how
    many tiles it holds."""
    tiles = [
        t for t in (thumbnail(p if isinstance(p, bytes) else Path(p), px) for p in images) if t is not None
    ]
    if not tiles:
        return 0
    cols = min(columns, len(tiles))
    rows = (len(tiles) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (px + pad) + pad, rows * (px + pad) + pad), (255, 255, 255))
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet.paste(tile, (pad + c * (px + pad), pad + r * (px + pad)))
    with atomic.atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return len(tiles)
