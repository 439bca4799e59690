"""What `adgen generate` needs from PIDM (its pose-transfer role): re-pose a person image.

Keypoints are the contract's: (18, 3) OpenPose order, (x, y, conf) normalised to the image, conf 0
for a missing point. The person is resized (stretched) to the network's frame as the training
images were, the target pose drawn there as the official pose map, and the result — DDIM with the
official guidance by default — resized back to the input's size. The network is our checkpoint's
EMA copy (file or run dir), or the official release's EMA weights (a file holding only `ema`, see
adgen/models/pidm/official.py), which are the `deepfashion256` network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen.models.gfla.data import image_to_tensor, tensor_to_image
from adgen.models.pidm.config import PidmParams, preset
from adgen.models.pidm.data import pose_map
from adgen.models.pidm.diffusion import GaussianDiffusion, Guidance, ddim_sample
from adgen.models.pidm.model import PidmUNet


class PidmTransfer:
    def __init__(
        self,
        model: PidmUNet,
        params: PidmParams,
        device: str = "cpu",
        steps: int | None = None,
        seed: int = 0,
    ):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.params = params
        self.diffusion = GaussianDiffusion.from_params(params)
        self.steps = steps or params.sample_steps_ddim
        self.guidance = Guidance(style=params.guidance_style, pose=params.guidance_pose)
        self.seed = seed

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) the network runs at."""
        return self.params.height, self.params.width

    def transfer(self, source: Image.Image, source_kp: np.ndarray, target_kp: np.ndarray) -> Image.Image:
        """The person of `source` in the pose `target_kp` (normalised to `source`); `source_kp` is not
        needed (the texture encoder reads the image alone). The same inputs give the same image."""
        h, w = self.size
        src = image_to_tensor(source, h, w)[None].to(self.device)
        kp = np.asarray(target_kp, np.float32).copy()
        kp[:, 0] *= w
        kp[:, 1] *= h
        pose = pose_map(kp, h, w)[None].to(self.device)
        out = ddim_sample(
            self.model, self.diffusion, src, pose, [self.seed], self.steps, self.guidance,
            clip_x0=self.params.sample_clip_x0,
        )  # fmt: skip
        return tensor_to_image(out[0]).resize(source.size, Image.BILINEAR)


def _is_official(path: Path) -> bool:
    from adgen.training import checkpoint

    if not path.is_file():
        return False
    state = checkpoint.read(path, "PIDM checkpoint", mmap=True)
    return isinstance(state, dict) and "ema" in state and state.get("model") != "pidm"


def load_pose_transfer(
    checkpoint: Path, device: str = "cpu", official: str = "deepfashion256"
) -> PidmTransfer:
    """PIDM from our training checkpoint (file or run dir) or the official EMA weights file (the
    network of preset `official`: the release is `deepfashion256`)."""
    path = Path(checkpoint)
    if _is_official(path):
        from adgen.models.pidm.official import load_official

        params = preset(official)
        return PidmTransfer(load_official(path, PidmUNet(params)), params, device)
    from adgen.models.pidm.train import load_network

    model, params, _ = load_network(path, device)
    return PidmTransfer(model, params, device)
