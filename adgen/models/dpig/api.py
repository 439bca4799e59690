"""What `adgen generate`, `adgen sample dpig` and the model comparison need from DPIG: new people in a pose.

Sampling a new person in a fixed pose is the paper's: Gaussian noise → appearance mapper → the
appearance embedding, decoded with that pose's heatmaps. (The released tester decodes the encoder's
embedding of a real test image instead, which re-poses an existing person; we sample, as the paper
does.) The noise comes from the seed alone, so the same seed gives the same person in any pose.
Keypoints follow the contract: (18, 3) OpenPose order, (x, y, conf) normalised, conf 0 = missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.dpig.config import DpigParams
from adgen.models.dpig.data import heatmaps, tensor_to_image
from adgen.models.sampling import reproducible_kernels


def validate_pose(keypoints: np.ndarray, where: str = "pose") -> np.ndarray:
    """(18, 3) contract keypoints as float32, or a one-line UserError saying what is wrong."""
    try:
        kp = np.asarray(keypoints, dtype=np.float32)
    except (TypeError, ValueError):
        raise UserError(f"{where}: expected 18 OpenPose keypoints as (x, y, conf)") from None
    if kp.shape != (18, 3) or not np.isfinite(kp).all():
        raise UserError(f"{where}: expected 18 OpenPose keypoints as (x, y, conf), got shape {kp.shape}")
    present = kp[:, 2] > 0
    if not present.any():
        raise UserError(
            f"{where}: no keypoint is present (conf > 0); DPIG needs a pose to draw the person in"
        )
    xy = kp[present, :2]
    if xy.min() < 0 or xy.max() > 1:
        raise UserError(f"{where}: keypoints must be normalised to [0, 1] (missing points: conf 0)")
    return kp


class DpigSampler:
    """Stage II's appearance mapper(s) and stage I's decoder: new people, drawn into a given pose."""

    def __init__(self, checkpoint: Path, device: str = "cpu"):
        from adgen.models.dpig.train import KIND, build
        from adgen.training import checkpoint as ckpt
        from adgen.training.checkpoints import find

        path = find(checkpoint, KIND)
        try:
            state = ckpt.load(path, map_location="cpu", restore_rng=False)
        except Exception as exc:  # a corrupt or foreign file: not this model's checkpoint
            raise UserError(f"{path}: not a readable DPIG checkpoint ({type(exc).__name__})") from None
        if not isinstance(state, dict) or state.get("model") != "dpig":
            raise UserError(f"{path}: not a DPIG checkpoint (train one with `adgen train dpig`)")
        self.path = path
        self.device = torch.device(device)
        try:
            self.params = DpigParams.model_validate(state["params"])
            nets = build(self.params, ("decoder", "app_mapper", "bg_mapper"))  # what sampling runs
            for name, net in nets.items():
                net.load_state_dict(state["nets"][name])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # ValidationError is a ValueError
            raise UserError(
                f"{path}: a DPIG checkpoint this code cannot read ({type(exc).__name__}); retrain or use a matching version"
            ) from None
        for net in nets.values():
            net.to(self.device).eval()
        self.decoder = nets["decoder"]
        self.mappers = [nets[n] for n in ("app_mapper", "bg_mapper") if n in nets]
        self.step = int(state.get("step", 0))

    @property
    def resolution(self) -> tuple[int, int]:
        """(height, width) of every sample."""
        return self.params.height, self.params.width

    @torch.no_grad()
    def sample(self, keypoints: np.ndarray, seeds: list[int]) -> list[Image.Image]:
        """One new person per seed, all in the pose `keypoints`: each seed its own forward pass, so
        its image is bit-identical whatever else is sampled (adgen.models.sampling)."""
        kp = validate_pose(keypoints)
        p = self.params
        maps = heatmaps(torch.from_numpy(kp)[None].to(self.device), p.height, p.width, p.heatmap_radius)
        out = []
        with reproducible_kernels():
            for seed in seeds:
                gen = torch.Generator().manual_seed(int(seed))
                emb = torch.cat([m(m.noise(1, gen).to(self.device)) for m in self.mappers], dim=1)
                out.append(tensor_to_image(self.decoder(emb, maps)[0]))
        return out


def load_sampler(path: Path, device: str = "cpu") -> DpigSampler:
    """A DPIG checkpoint (file or run dir) ready to sample (the contract `adgen evaluate compare` uses)."""
    return DpigSampler(Path(path), device)
