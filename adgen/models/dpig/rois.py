"""Body-part boxes from keypoints, and the bilinear crop-and-resize that cuts them out of features.

The seven parts of the official DeepFashion/Market encoder (`convert_DF.get_part_bbox`, parts 1-7),
in OpenPose-18 indices: head (nose, neck, shoulders, eyes, ears), upper body (shoulders, arms,
hips), lower body (hips, knees, ankles), left arm, right arm, left leg, right leg. A box is the
extent of the part's present keypoints plus a margin (10 px at 256 px height for a whole body, 20
when the legs are cut off; twice that around a single point), the nose raised by 10 (25) px so the
head is in. A part with no keypoint gets visibility 0 and the whole image as a harmless box.
Boxes are (y1, x1, y2, x2) normalised to [0, 1], as `tf.image.crop_and_resize` takes them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PARTS: list[tuple[str, tuple[int, ...]]] = [
    ("head", (0, 1, 2, 5, 14, 15, 16, 17)),
    ("upper body", (2, 3, 4, 5, 6, 7, 8, 11)),
    ("lower body", (8, 9, 10, 11, 12, 13)),
    ("left arm", (5, 6, 7)),
    ("right arm", (2, 3, 4)),
    ("left leg", (11, 12, 13)),
    ("right leg", (8, 9, 10)),
]
NOSE = 0
L_KNEE, L_ANKLE, R_KNEE, R_ANKLE = 12, 13, 9, 10
_REFERENCE_HEIGHT = 256.0  # the official margins are in pixels of a 256-high image


def part_boxes(keypoints: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(18, 3) contract keypoints (x, y normalised, conf 0 = missing) → boxes (7, 4) and visibility (7,).

    Never raises for missing points: a part without any present keypoint is invisible.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape != (18, 3):
        raise ValueError(f"expected (18, 3) keypoints, got {kp.shape}")
    present = (kp[:, 2] > 0) & (kp[:, 0] >= 0) & (kp[:, 1] >= 0)
    whole_body = (present[L_KNEE] or present[L_ANKLE]) and (present[R_KNEE] or present[R_ANKLE])
    s = height / _REFERENCE_HEIGHT
    r, r_single, head_lift = (10 * s, 20 * s, 10 * s) if whole_body else (20 * s, 40 * s, 25 * s)
    boxes = np.tile(np.array([0.0, 0.0, 1.0, 1.0]), (len(PARTS), 1))
    vis = np.zeros(len(PARTS), dtype=np.float32)
    for i, (_, idx) in enumerate(PARTS):
        pts = [j for j in idx if present[j]]
        if not pts:
            continue
        xs = kp[pts, 0] * width
        ys = kp[pts, 1] * height
        ys = np.where(np.asarray(pts) == NOSE, np.maximum(0.0, ys - head_lift), ys)
        m = r if len(pts) > 1 else r_single
        y1, x1 = max(0.0, ys.min() - m), max(0.0, xs.min() - m)
        y2, x2 = min(height - 1.0, ys.max() + m), min(width - 1.0, xs.max() + m)
        boxes[i] = (y1 / height, x1 / width, y2 / height, x2 / width)
        vis[i] = 1.0
    return boxes.astype(np.float32), vis


def foreground_mask(boxes: np.ndarray, visibility: np.ndarray, height: int, width: int) -> np.ndarray:
    """(1, H, W) float mask: the union of the visible part boxes (the person, for the background branch)."""
    mask = np.zeros((1, height, width), dtype=np.float32)
    for (y1, x1, y2, x2), v in zip(boxes, visibility, strict=True):
        if v > 0:
            r0, r1 = int(np.floor(y1 * height)), int(np.ceil(y2 * height)) + 1
            c0, c1 = int(np.floor(x1 * width)), int(np.ceil(x2 * width)) + 1
            mask[0, r0:r1, c0:c1] = 1.0
    return mask


def crop_and_resize(features: torch.Tensor, boxes: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
    """`tf.image.crop_and_resize` for every box of every image at once → (B·P, C, out_h, out_w).

    features (B, C, H, W); boxes (B, P, 4) as normalised (y1, x1, y2, x2). Sample (i, j) of a box
    reads pixel (y1·(H-1) + i·(y2-y1)·(H-1)/(out_h-1), likewise x) bilinearly, as TF does. All P
    boxes of an image become one (P·out_h, out_w) sampling grid, so the features are never copied
    per box; rows come out image-major (image 0's parts, then image 1's …).
    """
    b, c, h, w = features.shape
    p = boxes.shape[1]
    boxes = boxes.to(features.dtype)
    steps_y = torch.linspace(0, 1, out_h, device=features.device, dtype=features.dtype) if out_h > 1 else None
    steps_x = torch.linspace(0, 1, out_w, device=features.device, dtype=features.dtype) if out_w > 1 else None
    y1, x1, y2, x2 = boxes.unbind(-1)  # (B, P)
    # normalised box coordinate t ∈ [0, 1] → grid coordinate in [-1, 1] with align_corners=True
    ys = y1[..., None] + (y2 - y1)[..., None] * steps_y if steps_y is not None else ((y1 + y2) / 2)[..., None]
    xs = x1[..., None] + (x2 - x1)[..., None] * steps_x if steps_x is not None else ((x1 + x2) / 2)[..., None]
    gy = ys * 2 - 1 if h > 1 else torch.zeros_like(ys)  # (B, P, out_h)
    gx = xs * 2 - 1 if w > 1 else torch.zeros_like(xs)  # (B, P, out_w)
    grid = torch.stack(
        [gx[:, :, None, :].expand(b, p, out_h, out_w), gy[:, :, :, None].expand(b, p, out_h, out_w)], dim=-1
    ).reshape(b, p * out_h, out_w, 2)
    out = F.grid_sample(features, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out.view(b, c, p, out_h, out_w).transpose(1, 2).reshape(b * p, c, out_h, out_w)
