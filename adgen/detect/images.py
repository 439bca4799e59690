"""Turn any crawled photo into what a detector expects: upright RGB uint8, not too large.

Stock photos arrive as JPEG with EXIF rotation, CMYK JPEG, grayscale, palette or 16-bit PNG, WebP.
TensorFlow's own decoders ignore EXIF orientation and reject CMYK, so decoding goes through Pillow
(called from the tf.data pipeline, which runs it in parallel). A file Pillow cannot read is
reported, never raised: the stage records it as "unreadable".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps

from adgen import safety

# Crawled files are already size-checked; still refuse decompression bombs here too.
Image.MAX_IMAGE_PIXELS = safety.MAX_PIXELS


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # uint8 [h, w, 3], possibly shrunk for the detector
    width: int  # EXIF-corrected size of the original
    height: int


def to_rgb8(img: Image.Image) -> Image.Image:
    """Any Pillow mode → 8-bit RGB (16-bit and float images are scaled, not clipped)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent areas become white, as a web page would show them.
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def load_for_detection(path: str | Path | IO[bytes], max_side: int = 0) -> LoadedImage:
    """Decode, apply EXIF orientation, convert to RGB uint8, shrink to `max_side` (0 = keep size).

    Raises OSError/ValueError (and friends) for files that are not images; callers turn that into
    the "unreadable" decision.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with safety.open_image(path) as img:  # the project's pixel limit, checked on the header
            w, h = img.size
            rotated = img.getexif().get(0x0112, 1) in (5, 6, 7, 8)
            width, height = (h, w) if rotated else (w, h)
            if max_side and img.format == "JPEG":
                # DCT-domain downscale while decoding: a 4000 px photo decodes at 1/2..1/8 the cost.
                img.draft("RGB", (max_side, max_side))
            img = ImageOps.exif_transpose(img)
            img.load()
            rgb = to_rgb8(img)
    if max_side and max(rgb.size) > max_side:
        scale = max_side / max(rgb.size)
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return LoadedImage(np.asarray(rgb, dtype=np.uint8), width, height)
