"""Open a stored photo the way every prepare stage must see it: EXIF-upright, 8-bit RGB.

Boxes, masks and keypoints are all relative to the EXIF-corrected image (the contract), so a phone
photo stored sideways, a CMYK JPEG from a print agency or a grayscale scan must all be turned into
the same upright RGB pixels before anything reads them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps

from adgen import safety


def to_upright_rgb(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, then convert any mode (CMYK, L, P, RGBA, I;16) to RGB."""
    image = ImageOps.exif_transpose(image)
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(image, dtype=np.float64)
        top = max(arr.max(), 1.0)
        return Image.fromarray((arr / top * 255).round().astype(np.uint8), "L").convert("RGB")
    return image.convert("RGB")


def load_photo(source: str | Path | bytes) -> Image.Image:
    """Upright RGB from a file or stored bytes (adgen.store); over the pixel limit is an
    `ImageTooLarge` (a ValueError: the photo's fault)."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)  # type: ignore[assignment]
    with safety.open_image(source, "photo" if isinstance(source, io.BytesIO) else None) as im:
        im.load()
        return to_upright_rgb(im)


def load_mask(path: str | Path | IO[bytes], size: tuple[int, int]) -> np.ndarray:
    """A full-image 8-bit mask PNG (255 = inside) -> bool HxW; resized (nearest) if the size differs."""
    with Image.open(path) as im:
        m = im.convert("L")
        if m.size != size:
            m = m.resize(size, Image.NEAREST)
        return np.asarray(m) >= 128


def box_to_pixels(box: list[float] | np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """Normalised [x0, y0, x1, y1] -> integer pixel box clipped to the image (x1, y1 exclusive)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    px0 = int(np.clip(np.floor(x0 * width), 0, width - 1))
    py0 = int(np.clip(np.floor(y0 * height), 0, height - 1))
    px1 = int(np.clip(np.ceil(x1 * width), px0 + 1, width))
    py1 = int(np.clip(np.ceil(y1 * height), py0 + 1, height))
    return px0, py0, px1, py1


def expand_box(
    box: tuple[int, int, int, int], margin: float, width: int, height: int
) -> tuple[int, int, int, int]:
    """Grow a pixel box by `margin` x its size on each side, clipped to the image."""
    x0, y0, x1, y1 = box
    mx, my = round((x1 - x0) * margin), round((y1 - y0) * margin)
    return max(0, x0 - mx), max(0, y0 - my), min(width, x1 + mx), min(height, y1 + my)
