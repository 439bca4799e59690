"""What `adgen generate` needs from GFLA: re-pose a person image to a requested pose.

Keypoints are the contract's: (18, 3) OpenPose order, (x, y, conf) normalised to the image, conf 0
for a missing point. The person image is resized to the network's size (aspect padded with white, the
studio background of the training data) and the result is mapped back to the input's size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen.models.gfla.checkpoint_io import load_generator
from adgen.models.gfla.config import GflaParams
from adgen.models.gfla.data import image_to_tensor, pose_tensor, tensor_to_image


def letterbox(img: Image.Image, height: int, width: int) -> tuple[Image.Image, tuple[float, int, int]]:
    """Fit `img` into height x width keeping its aspect, centred on white; returns (image, (scale, ox, oy))."""
    img = img.convert("RGB")
    scale = min(width / img.width, height / img.height)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    ox, oy = (width - w) // 2, (height - h) // 2
    canvas.paste(img.resize((w, h), Image.BILINEAR), (ox, oy))
    return canvas, (scale, ox, oy)


def keypoints_into_box(
    kp: np.ndarray, src_size: tuple[int, int], box: tuple[float, int, int], size: tuple[int, int]
) -> np.ndarray:
    """Normalised keypoints of the original image → normalised keypoints of the letterboxed one."""
    kp = np.asarray(kp, dtype=np.float32).copy()
    scale, ox, oy = box
    (sw, sh), (w, h) = src_size, size
    ok = kp[:, 2] > 0
    kp[ok, 0] = (kp[ok, 0] * sw * scale + ox) / w
    kp[ok, 1] = (kp[ok, 1] * sh * scale + oy) / h
    return kp


class PoseTransfer:
    def __init__(self, checkpoint: Path, device: str = "cpu"):
        self.device = torch.device(device)
        self.g, self.params = load_generator(checkpoint, self.device)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) the network runs at."""
        return self.params.height, self.params.width

    @torch.no_grad()
    def transfer(self, source: Image.Image, source_kp: np.ndarray, target_kp: np.ndarray) -> Image.Image:
        """The person of `source` in the pose `target_kp` (both keypoint sets normalised to `source`)."""
        p: GflaParams = self.params
        boxed, box = letterbox(source, p.height, p.width)
        src_kp = keypoints_into_box(source_kp, source.size, box, (p.width, p.height))
        tgt_kp = keypoints_into_box(target_kp, source.size, box, (p.width, p.height))
        src = image_to_tensor(boxed, p.height, p.width)[None].to(self.device)
        bp1 = pose_tensor(src_kp, p.height, p.width, p.heatmap_sigma)[None].to(self.device)
        bp2 = pose_tensor(tgt_kp, p.height, p.width, p.heatmap_sigma)[None].to(self.device)
        image, _, _ = self.g(src, bp1, bp2)
        out = tensor_to_image(image[0])
        scale, ox, oy = box
        w, h = max(1, round(source.width * scale)), max(1, round(source.height * scale))
        return out.crop((ox, oy, ox + w, oy + h)).resize(source.size, Image.BILINEAR)


def load_pose_transfer(checkpoint: Path, device: str = "cpu") -> PoseTransfer:
    """A GFLA generator from our training checkpoint or an official latest_net_G.pth (contracts §5)."""
    return PoseTransfer(Path(checkpoint), device)
