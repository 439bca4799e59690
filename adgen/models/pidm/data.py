"""PIDM's training pairs: GFLA's DeepFashion layout (adgen/datasets/gfla.py), each image with the
official pose map — the drawn OpenPose skeleton (RGB) and one distance map per limb (17).

The pose map is the official loader's (data/fashion_data.py `get_label_tensor`): joints as filled
circles (radius 4) and limbs as ellipses 4 px wide, blended 0.4/0.6 onto the canvas in OpenPose's
colours; each limb's channel is the L1 distance to it, divided by 3, clipped to 255, over 255. The
official random zoom-and-crop (up to `scale_param`, independent per image) is drawn from a seed the
batch sampler gives with each index, so a resumed run sees the same pixels.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.gfla.data import StepBatches, _find, image_to_tensor, read_annotations, read_pairs
from adgen.models.pidm.config import PidmParams
from adgen.pose.contract import COLOURS, LIMBS


def pose_map(keypoints: np.ndarray, height: int, width: int) -> torch.Tensor:
    """(18, 3) keypoints in pixels of the (height, width) frame (conf 0: missing) → (20, H, W) in [0, 1]."""
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    present = keypoints[:, 2] > 0
    for i in range(len(keypoints)):
        if present[i]:
            x, y = keypoints[i, :2]
            cv2.circle(canvas, (int(x), int(y)), 4, COLOURS[i], thickness=-1)
    limbs = []
    for i, (a, b) in enumerate(LIMBS):
        joint = np.zeros((height, width), dtype=np.uint8)
        if present[a] and present[b]:
            (xa, ya), (xb, yb) = keypoints[a, :2], keypoints[b, :2]
            length = math.hypot(xa - xb, ya - yb)
            angle = math.degrees(math.atan2(ya - yb, xa - xb))
            centre = (int((xa + xb) / 2), int((ya + yb) / 2))
            polygon = cv2.ellipse2Poly(centre, (int(length / 2), 4), int(angle), 0, 360, 1)
            limb = canvas.copy()
            cv2.fillConvexPoly(limb, polygon, COLOURS[i])
            canvas = cv2.addWeighted(canvas, 0.4, limb, 0.6, 0)
            cv2.fillConvexPoly(joint, polygon, 255)
        limbs.append(joint)
    # the official canvas is drawn in BGR and converted: its colours land in the opposite order
    rgb = canvas[:, :, ::-1].astype(np.float32) / 255.0
    dist = [
        np.clip(cv2.distanceTransform(255 - j, cv2.DIST_L1, 3) / 3, 0, 255)
        .astype(np.uint8)
        .astype(np.float32)
        / 255.0
        for j in limbs
    ]
    return torch.from_numpy(np.concatenate([rgb.transpose(2, 0, 1), np.stack(dist)], axis=0).copy())


def zoom_crop(seed: int, size: tuple[int, int], scale_param: float) -> tuple[float, int, int]:
    """The official random zoom (1 + U[0, scale_param)) and crop offset, from `seed`."""
    if scale_param <= 0:
        return 1.0, 0, 0
    rng = np.random.default_rng(seed)
    h, w = size
    zoom = 1.0 + float(rng.random()) * scale_param
    dx = int(rng.integers(0, max(0, int(w * zoom) - w) + 1))
    dy = int(rng.integers(0, max(0, int(h * zoom) - h) + 1))
    return zoom, dx, dy


class PidmPairs(torch.utils.data.Dataset):
    """(source, target) pairs of one split; an index is (pair index, augmentation seed or None)."""

    def __init__(self, root: str | Path, phase: str, params: PidmParams):
        self.root, self.p = Path(root), params
        if not self.root.is_dir():
            raise UserError(
                f"PIDM dataset {self.root} not found; build it (adgen datasets build) or set train.pidm.dataset"
            )
        self.image_dir = self.root / phase
        frame = (params.annotation_height, params.annotation_width)
        self.keypoints = read_annotations(_find(self.root, "annotation", phase), frame)
        self.pairs = read_pairs(_find(self.root, "pairs", phase))
        if not self.pairs:
            raise UserError(f"PIDM dataset {self.root}: no {phase} pairs")
        names = sorted({n for pair in self.pairs for n in pair})
        lacking = [n for n in names if n not in self.keypoints or not (self.image_dir / n).is_file()]
        if lacking:
            raise UserError(
                f"PIDM dataset {self.root}: {phase}/{lacking[0]} has no image or keypoints (+{len(lacking) - 1} more)"
            )

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, name: str, seed: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = self.p.height, self.p.width
        zoom, dx, dy = zoom_crop(seed, (h, w), self.p.scale_param) if seed is not None else (1.0, 0, 0)
        zh, zw = int(h * zoom), int(w * zoom)
        with Image.open(self.image_dir / name) as img:
            image = image_to_tensor(img, zh, zw)[:, dy : dy + h, dx : dx + w]
        kp = self.keypoints[name].copy()
        kp[:, 0] = kp[:, 0] * zw - dx
        kp[:, 1] = kp[:, 1] * zh - dy
        return image, pose_map(kp, h, w)

    def __getitem__(self, index: tuple[int, int | None] | int) -> dict[str, torch.Tensor]:
        i, seed = index if isinstance(index, tuple) else (index, None)
        a, b = self.pairs[i]
        src, src_pose = self.load(a, None if seed is None else seed * 2)
        tgt, tgt_pose = self.load(b, None if seed is None else seed * 2 + 1)
        return {"source": src, "source_pose": src_pose, "target": tgt, "target_pose": tgt_pose}


class AugmentedStepBatches(StepBatches):
    """GFLA's step-fixed batches, each index with its augmentation seed (a function of seed, step, slot)."""

    def indices(self, step: int) -> list[tuple[int, int]]:
        chunk = super().indices(step)
        return [
            (i, (self.seed * 1_000_003 + step) * 4096 + self.rank + self.world * k)
            for k, i in enumerate(chunk)
        ]


def batches(
    dataset: PidmPairs,
    pairs: int,
    seed: int,
    start_step: int,
    end_step: int,
    workers: int,
    rank: int,
    world: int,
):
    """An iterator of collated batches from step `start_step` on (this rank's share of `pairs`)."""
    sampler = AugmentedStepBatches(len(dataset), pairs, seed, start_step, end_step, rank, world)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=workers, persistent_workers=workers > 0
    )
    return iter(loader)
