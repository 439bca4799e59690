"""Masks -> cut-outs: straight-alpha RGBA crops and the same people on white.

Straight (not premultiplied) alpha: the RGB channels keep the photo's own colours and alpha carries
the mask, which is what PNG means and what ST-GAN's compositing (rgb * a + bg * (1 - a)) expects.
Compositing on white multiplies by alpha exactly once, here, never on already-composited pixels.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def alpha_channel(mask: np.ndarray) -> np.ndarray:
    """bool or 0..1 float mask -> uint8 alpha (255 = inside)."""
    if mask.dtype == bool:
        return mask.astype(np.uint8) * 255
    return np.clip(np.rint(np.asarray(mask, dtype=np.float32) * 255), 0, 255).astype(np.uint8)


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Pixel box (x0, y0, x1, y1), x1/y1 exclusive, of the non-zero mask; None if empty."""
    ys, xs = np.nonzero(np.asarray(mask) > 0)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def rgba_cutout(rgb: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int]) -> Image.Image:
    """Crop `box` of the photo with alpha = mask (straight alpha: RGB untouched)."""
    x0, y0, x1, y1 = box
    a = alpha_channel(mask)[y0:y1, x0:x1]
    return Image.fromarray(np.dstack([rgb[y0:y1, x0:x1], a]), "RGBA")


def on_white(rgba: Image.Image) -> Image.Image:
    """Composite a straight-alpha RGBA image over white, once: rgb * a + 255 * (1 - a)."""
    arr = np.asarray(rgba.convert("RGBA"), dtype=np.float32)
    a = arr[..., 3:4] / 255.0
    out = arr[..., :3] * a + 255.0 * (1.0 - a)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")


def png_bytes(image: Image.Image) -> bytes:
    """Deterministic PNG bytes (same pixels -> same bytes -> same content address)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()
