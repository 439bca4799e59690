"""GrabCut masks seeded by detection boxes: needs no model, so it always works (and is the fallback).

Pixels outside the (slightly grown) box are certain background, pixels inside are probable
foreground; OpenCV's GrabCut then separates the two colour models. It runs on a crop around the box,
shrunk to at most MAX_SIDE pixels, so a 24-megapixel photo costs the same as a thumbnail.
"""

from __future__ import annotations

import cv2
import numpy as np

from adgen.matting.photo import expand_box

MAX_SIDE = 400
CONTEXT = 0.15  # background ring around the box given to GrabCut, as a fraction of the box size


def grabcut_mask(
    rgb: np.ndarray,
    box_px: tuple[int, int, int, int],
    iterations: int = 5,
    certain_background: np.ndarray | None = None,
) -> np.ndarray | None:
    """Bool HxW mask of the object in `box_px`; None when GrabCut has nothing to learn from.

    `certain_background` (bool HxW) marks pixels known not to be the object (e.g. another mask).
    """
    h, w = rgb.shape[:2]
    cx0, cy0, cx1, cy1 = expand_box(box_px, CONTEXT, w, h)
    crop = rgb[cy0:cy1, cx0:cx1]
    scale = min(1.0, MAX_SIDE / max(crop.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    ch, cw = crop.shape[:2]
    bx0, by0, bx1, by1 = box_px
    rx0 = int(np.clip(np.floor((bx0 - cx0) * scale), 0, cw - 1))
    ry0 = int(np.clip(np.floor((by0 - cy0) * scale), 0, ch - 1))
    rx1 = int(np.clip(np.ceil((bx1 - cx0) * scale), rx0 + 1, cw))
    ry1 = int(np.clip(np.ceil((by1 - cy0) * scale), ry0 + 1, ch))
    seed = np.full((ch, cw), cv2.GC_BGD, np.uint8)
    seed[ry0:ry1, rx0:rx1] = cv2.GC_PR_FGD
    if certain_background is not None:
        bg = certain_background[cy0:cy1, cx0:cx1].astype(np.uint8)
        if scale < 1.0:
            bg = cv2.resize(bg, (cw, ch), interpolation=cv2.INTER_NEAREST)
        seed[bg > 0] = cv2.GC_BGD
    n_bg = int((seed == cv2.GC_BGD).sum())
    if n_bg < 16 or n_bg == seed.size:  # the object fills the photo, or nothing left to cut
        return None
    fg = _grabcut_foreground(crop, seed, iterations, (cx1 - cx0, cy1 - cy0))
    if fg is None:
        return None
    out = np.zeros((h, w), dtype=bool)
    out[cy0:cy1, cx0:cx1] = fg
    return out


def refine_mask(rgb: np.ndarray, coarse: np.ndarray, iterations: int = 3, band: float = 0.05) -> np.ndarray:
    """Sharpen a coarse instance mask (Mask R-CNN's 28-33 px grids) to the photo's edges with GrabCut.

    The coarse mask's core (eroded) is certain foreground, a band around its edge (`band` x the
    mask box's height, each side) is uncertain, and everything further out is certain background, so
    GrabCut can only move the edge, never invent or lose the object. Returns bool HxW.
    """
    coarse = np.asarray(coarse) >= 0.5
    h, w = coarse.shape
    ys, xs = np.nonzero(coarse)
    if len(xs) == 0:
        return coarse
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    cx0, cy0, cx1, cy1 = expand_box(box, CONTEXT, w, h)
    crop, m = rgb[cy0:cy1, cx0:cx1], coarse[cy0:cy1, cx0:cx1].astype(np.uint8)
    scale = min(1.0, MAX_SIDE / max(crop.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        m = cv2.resize(m, size, interpolation=cv2.INTER_NEAREST)
    r = max(1, round(band * (box[3] - box[1]) * scale))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    core, outer = cv2.erode(m, kernel), cv2.dilate(m, kernel)
    seed = np.full(m.shape, cv2.GC_BGD, np.uint8)
    seed[outer > 0] = cv2.GC_PR_BGD
    seed[m > 0] = cv2.GC_PR_FGD
    seed[core > 0] = cv2.GC_FGD
    if not (seed == cv2.GC_BGD).any() and not (seed == cv2.GC_PR_BGD).any():
        return coarse
    fg = _grabcut_foreground(crop, seed, iterations, (cx1 - cx0, cy1 - cy0))
    if fg is None:
        return coarse
    out = coarse.copy()
    out[cy0:cy1, cx0:cx1] = fg
    return out


def _grabcut_foreground(
    crop: np.ndarray, seed: np.ndarray, iterations: int, crop_size: tuple[int, int]
) -> np.ndarray | None:
    """Run GrabCut on an RGB crop from a seeded label mask (updated in place); the foreground as a
    bool mask at `crop_size` (w, h) of the unscaled crop, or None when OpenCV refuses the input."""
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global RNG: same photo, same mask
    try:
        cv2.grabCut(
            np.ascontiguousarray(crop[..., ::-1]), seed, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK
        )
    except cv2.error:
        return None
    fg = ((seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)).astype(np.uint8)
    if fg.shape[::-1] != crop_size:
        fg = cv2.resize(fg, crop_size, interpolation=cv2.INTER_NEAREST)
    return fg > 0
