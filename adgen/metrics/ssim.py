"""SSIM (Wang et al. 2004): 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03.

Used to compare a re-posed person with the real photo of that pose (GFLA evaluation).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter


def _as_float(image: Image.Image | np.ndarray) -> np.ndarray:
    arr = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.float64)
    return arr[..., None] if arr.ndim == 2 else arr


def ssim(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM over the valid (window fully inside) area and the channels; 1 for identical images."""
    x, y = _as_float(a), _as_float(b)
    if x.shape != y.shape:
        raise ValueError(f"SSIM needs images of one size: {x.shape} vs {y.shape}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(t: np.ndarray) -> np.ndarray:  # radius int(3.5 * 1.5 + 0.5) = 5 → an 11x11 window
        return gaussian_filter(t, sigma=(1.5, 1.5, 0), truncate=3.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    pad = 5
    if s.shape[0] > 2 * pad and s.shape[1] > 2 * pad:
        s = s[pad:-pad, pad:-pad]
    return float(s.mean())
