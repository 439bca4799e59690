"""Small real inputs for the GFLA tests: a dataset in the official layout, tiny params, a VGG19 file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from adgen.models.gfla.config import GflaParams
from adgen.models.gfla.vgg import VGG19
from adgen.models.registry import TrainJob, with_preset
from tests.training.helpers import options_job

# A standing person in OpenPose order, (x, y) in [0, 1]
BASE_POSE = np.array(
    [
        [0.50, 0.10],
        [0.50, 0.20],
        [0.40, 0.20],
        [0.36, 0.35],
        [0.34, 0.50],
        [0.60, 0.20],
        [0.64, 0.35],
        [0.66, 0.50],
        [0.44, 0.52],
        [0.44, 0.70],
        [0.44, 0.90],
        [0.56, 0.52],
        [0.56, 0.70],
        [0.56, 0.90],
        [0.48, 0.08],
        [0.52, 0.08],
        [0.46, 0.09],
        [0.54, 0.09],
    ]
)
LIMBS = [
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (1, 8),
    (8, 9),
    (9, 10),
    (1, 11),
    (11, 12),
    (12, 13),
    (0, 1),
]


def pose(variant: int) -> np.ndarray:
    """(18, 3) normalised keypoints: the base pose with arms/legs moved by `variant`."""
    rng = np.random.default_rng(variant)
    kp = BASE_POSE + rng.normal(0, 0.03, BASE_POSE.shape)
    kp = np.clip(kp, 0.02, 0.98)
    out = np.concatenate([kp, np.ones((18, 1))], axis=1).astype(np.float32)
    if variant % 3 == 2:  # a missing ear now and then
        out[17] = [-1, -1, 0]
    return out


def draw_person(kp: np.ndarray, colour: tuple[int, int, int], size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    for a, b in LIMBS:
        if kp[a, 2] > 0 and kp[b, 2] > 0:
            d.line(
                [(kp[a, 0] * w, kp[a, 1] * h), (kp[b, 0] * w, kp[b, 1] * h)],
                fill=colour,
                width=max(2, w // 16),
            )
    x, y = kp[0, 0] * w, kp[0, 1] * h
    d.ellipse([x - w / 12, y - w / 12, x + w / 12, y + w / 12], fill=colour)
    return img


def write_dataset(root: Path, people: int = 4, poses: int = 2, frame: tuple[int, int] = (256, 176)) -> Path:
    """The official GFLA layout (train/test dirs, annotation + pairs CSVs) with stick-figure people."""
    colours = [(200, 40, 40), (40, 160, 60), (40, 60, 200), (180, 140, 20), (120, 40, 160), (20, 150, 150)]
    for phase, offset in (("train", 0), ("test", 100)):
        (root / phase).mkdir(parents=True, exist_ok=True)
        rows, pairs = [], []
        for person in range(people):
            names = []
            for k in range(poses):
                kp = pose(offset + person * 10 + k)
                name = f"id{person:02d}_{k}.jpg"
                draw_person(kp, colours[person % len(colours)], (frame[1], frame[0])).save(
                    root / phase / name, quality=95
                )
                ys = [int(v * frame[0]) if c > 0 else -1 for v, c in zip(kp[:, 1], kp[:, 2], strict=True)]
                xs = [int(v * frame[1]) if c > 0 else -1 for v, c in zip(kp[:, 0], kp[:, 2], strict=True)]
                rows.append(f"{name}:{json.dumps(ys)}:{json.dumps(xs)}")
                names.append(name)
            pairs += [(a, b) for a in names for b in names if a != b]
        (root / f"fashion-resize-annotation-{phase}.csv").write_text(
            "name:keypoints_y:keypoints_x\n" + "\n".join(rows) + "\n"
        )
        (root / f"fashion-resize-pairs-{phase}.csv").write_text(
            "from,to\n" + "".join(f"{a},{b}\n" for a, b in pairs)
        )
    return root


def write_vgg19(path: Path, seed: int = 0) -> Path:
    """A VGG19 state dict with torchvision's key names (random weights: ImageNet ones can't be fetched here).

    torchvision's file also holds `classifier.*` (~500 MB); small tensors stand in under those names to
    check they are skipped.
    """
    torch.manual_seed(seed)
    state = VGG19().state_dict()
    for k in state:
        if k.endswith("weight"):
            torch.nn.init.kaiming_normal_(state[k])
    state.update({"classifier.0.weight": torch.zeros(4, 4), "classifier.0.bias": torch.zeros(4)})
    torch.save(state, path)
    return path


def tiny_params(vgg: Path, **extra) -> GflaParams:
    base = with_preset(GflaParams(), "demo")
    upd = dict(
        height=64,
        width=64,
        ngf=4,
        img_f=16,
        flow_ngf=4,
        flow_img_f=16,
        ndf=4,
        d_img_f=8,
        batch=2,
        flow_steps=2,
        steps=2,
        checkpoint_every=2,
        sample_every=2,
        log_every=1,
        vgg19_weights=vgg,
        workers=0,
        device="cpu",
    )
    upd.update(extra)
    return GflaParams.model_validate({**base.model_dump(), **upd})


def job(p: GflaParams, dataset: Path, run_dir: Path, metrics_dir: Path | None = None) -> TrainJob:
    """What `adgen train gfla` hands GFLA's `train`: `p` reading `dataset` (nothing else of the project)."""
    options = p.model_copy(update={"dataset": Path(dataset)})
    return options_job(options, run_dir, metrics_dir)
