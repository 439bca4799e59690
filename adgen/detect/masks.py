"""Full-image instance masks from a detector's box-relative ones, saved for the strip stage.

Mask R-CNN returns each instance mask as a small [mh, mw] grid of probabilities covering only its
box. The strip stage needs a mask over the whole photo, so each grid is resized to the box's size in
pixels and pasted where the box is (what TF's `reframe_box_masks_to_image_masks` does), then
thresholded at 0.5. They go into the filter's own image store (`data/filtered/store`, adgen.store)
as one sample per photo and decision key: `<key>.person.png` + `<key>.bag.png`, where the key
hashes the decision key with the image id, so a new model's masks never collide with the old ones.
"""

from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np
from PIL import Image

from adgen import safety


def reframe(mask: np.ndarray, box: np.ndarray, width: int, height: int, threshold: float = 0.5) -> np.ndarray:
    """Box-relative probabilities [mh, mw] + normalised box [x0, y0, x1, y1] (may exceed [0, 1])
    → uint8 [height, width], 255 inside the instance."""
    out = np.zeros((height, width), np.uint8)
    bx0, by0 = box[0] * width, box[1] * height
    bx1, by1 = box[2] * width, box[3] * height
    bw, bh = bx1 - bx0, by1 - by0
    if bw <= 0 or bh <= 0:
        return out
    # Pixel grid inside the image that the box covers.
    ix0, iy0 = max(0, int(np.floor(bx0))), max(0, int(np.floor(by0)))
    ix1, iy1 = min(width, int(np.ceil(bx1))), min(height, int(np.ceil(by1)))
    if ix1 <= ix0 or iy1 <= iy0:
        return out
    mh, mw = mask.shape
    # Sample the grid at each pixel centre (bilinear), in mask coordinates.
    xs = ((np.arange(ix0, ix1) + 0.5 - bx0) / bw * mw - 0.5).astype(np.float32)
    ys = ((np.arange(iy0, iy1) + 0.5 - by0) / bh * mh - 0.5).astype(np.float32)
    map_x, map_y = np.meshgrid(xs, ys)
    probs = cv2.remap(
        mask.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    out[iy0:iy1, ix0:ix1] = np.where(probs >= threshold, 255, 0).astype(np.uint8)
    return out


def sample_key(decision_key: str, image_id: str) -> str:
    """The store key of a photo's masks under one decision key (a sha256 hex digest); the id must
    be a digest (ids come from manifests users can edit)."""
    image_id = safety.image_id(image_id, "filter masks")
    return hashlib.sha256(f"{decision_key}/{image_id}".encode()).hexdigest()


def png_bytes(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mask, "L").save(buf, format="PNG", optimize=False)
    return buf.getvalue()
