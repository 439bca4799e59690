"""What `adgen generate` needs from GFLA: re-pose a person image to a requested pose.

Keypoints are the contract's: (18, 3) OpenPose order, (x, y, conf) normalised to the image, conf 0
for a missing point. The person image is resized (stretched) to the network's size exactly as the
training images were (official GFLA stretches DeepFashion's 256x176 to 256x256), so normalised
keypoints stay valid, and the result is resized back to the input's size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen.models.gfla.checkpoint_io import load_generator
from adgen.models.gfla.config import GflaParams
from adgen.models.gfla.data import image_to_tensor, pose_tensor, tensor_to_image


class PoseTransfer:
    def __init__(self, checkpoint: Path, device: str = "cpu"):
        from adgen.models.gfla.train import KIND
        from adgen.training.checkpoints import find

        self.device = torch.device(device)
        self.path = find(checkpoint, KIND)  # a run dir: its newest checkpoint
        self.g, self.params = load_generator(self.path, self.device)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) the network runs at."""
        return self.params.height, self.params.width

    @torch.no_grad()
    def transfer(self, source: Image.Image, source_kp: np.ndarray, target_kp: np.ndarray) -> Image.Image:
        """The person of `source` in the pose `target_kp` (both keypoint sets normalised to `source`)."""
        p: GflaParams = self.params
        src = image_to_tensor(source, p.height, p.width)[None].to(self.device)
        bp1 = pose_tensor(np.asarray(source_kp, np.float32), p.height, p.width, p.heatmap_sigma)[None].to(
            self.device
        )
        bp2 = pose_tensor(np.asarray(target_kp, np.float32), p.height, p.width, p.heatmap_sigma)[None].to(
            self.device
        )
        image, _, _ = self.g(src, bp1, bp2)
        return tensor_to_image(image[0]).resize(source.size, Image.BILINEAR)


def load_pose_transfer(checkpoint: Path, device: str = "cpu") -> PoseTransfer:
    """A GFLA generator from our training checkpoint (file or run dir) or an official latest_net_G.pth."""
    return PoseTransfer(Path(checkpoint), device)
