"""Fit a person image into a fixed frame by padding, never cropping (heads and feet stay in).

Every dataset frame (ST-GAN squares, StyleGAN2 square or 2:1, GFLA 256x176) is reached the same
way: scale the image to fit inside the frame, centre it, fill the rest with white (the people are
already on white). `Framing` maps normalised points of the source image (keypoints, bag anchors)
into the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

WHITE = (255, 255, 255)


@dataclass(frozen=True)
class Framing:
    src_w: int
    src_h: int
    out_w: int
    out_h: int
    scale: float
    off_x: float
    off_y: float

    @classmethod
    def fit(cls, src_w: int, src_h: int, out_w: int, out_h: int) -> Framing:
        scale = min(out_w / src_w, out_h / src_h)
        w, h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
        return cls(src_w, src_h, out_w, out_h, scale, (out_w - w) // 2, (out_h - h) // 2)

    def points(self, xy: np.ndarray) -> np.ndarray:
        """Normalised source (x, y) rows -> normalised frame (x, y); negative (missing) rows stay -1."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        out = np.empty_like(xy)
        out[:, 0] = (self.off_x + xy[:, 0] * self.src_w * self.scale) / self.out_w
        out[:, 1] = (self.off_y + xy[:, 1] * self.src_h * self.scale) / self.out_h
        out[(xy < 0).any(axis=1)] = -1.0
        return out


def fit_into(image: Image.Image, out_w: int, out_h: int, fill=WHITE) -> tuple[Image.Image, Framing]:
    """Scale `image` to fit inside out_w x out_h (aspect kept), centred on `fill`."""
    fr = Framing.fit(image.width, image.height, out_w, out_h)
    w, h = max(1, round(image.width * fr.scale)), max(1, round(image.height * fr.scale))
    resized = image.resize((w, h), Image.LANCZOS)
    mode = image.mode if image.mode in ("RGB", "RGBA") else "RGB"
    canvas = Image.new(mode, (out_w, out_h), fill if mode == "RGB" else (0, 0, 0, 0))
    canvas.paste(resized.convert(mode), (int(fr.off_x), int(fr.off_y)))
    return canvas, fr


def crop_points(xy: np.ndarray, crop_box: list[float]) -> np.ndarray:
    """Normalised whole-photo (x, y) -> normalised coordinates inside `crop_box` (missing stay -1)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    x0, y0, x1, y1 = crop_box
    out = np.stack([(xy[:, 0] - x0) / (x1 - x0), (xy[:, 1] - y0) / (y1 - y0)], axis=1)
    out[(xy < 0).any(axis=1)] = -1.0
    return out
