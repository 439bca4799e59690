"""GFLA training pairs in the official DeepFashion layout (contracts §4, `data/datasets/gfla/`).

    train/ test/                                  images, named as in the CSVs
    fashion-resize-annotation-{train,test}.csv    name:keypoints_y:keypoints_x  (lists, -1 = missing,
                                                  pixels of the annotation frame, 256 x 176 for DeepFashion)
    fashion-resize-pairs-{train,test}.csv         from,to

The official release's own spellings (`fasion-annotation-…`, `fasion-pairs-…`) are accepted too, so
the real DeepFashion files drop in. Each item is the official one: P1/P2 images in [-1, 1] resized to
height x width, BP1/BP2 the 18 keypoint heatmaps (σ 6, peak 1 at the truncated pixel, zero for a
missing point) drawn with `adgen.pose.heatmaps` in the resized frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.gfla.config import GflaParams
from adgen.pose.heatmaps import heatmaps
from adgen.safe_files import finite, read_json

N_KEYPOINTS = 18


def _find(root: Path, kind: str, phase: str) -> Path:
    names = [
        f"fashion-resize-{kind}-{phase}.csv",
        f"fasion-resize-{kind}-{phase}.csv",
        f"fashion-{kind}-{phase}.csv",
        f"fasion-{kind}-{phase}.csv",
    ]
    for name in names:
        if (root / name).is_file():
            return root / name
    raise UserError(
        f"GFLA dataset {root}: no {names[0]} (build it with `adgen datasets build`, or put the official "
        f"DeepFashion {kind} CSV there and set train.gfla.dataset)"
    )


def parse_keypoints(ys: str, xs: str, frame: tuple[int, int]) -> np.ndarray:
    """Official `[y0, y1, …]`, `[x0, …]` pixel lists in the annotation frame → (18, 3) normalised x, y, conf."""
    y = np.asarray(read_json(ys, "keypoints_y", max_depth=1), dtype=np.float64)
    x = np.asarray(read_json(xs, "keypoints_x", max_depth=1), dtype=np.float64)
    finite([y, x], "keypoints")
    if y.shape != (N_KEYPOINTS,) or x.shape != (N_KEYPOINTS,):
        raise ValueError(f"expected {N_KEYPOINTS} keypoints, got {y.shape} / {x.shape}")
    kp = np.zeros((N_KEYPOINTS, 3), dtype=np.float32)
    missing = (y == -1) | (x == -1)
    kp[:, 0] = np.where(missing, -1.0, x / frame[1])
    kp[:, 1] = np.where(missing, -1.0, y / frame[0])
    kp[:, 2] = np.where(missing, 0.0, 1.0)
    return kp


def read_annotations(path: Path, frame: tuple[int, int]) -> dict[str, np.ndarray]:
    try:
        table = pd.read_csv(path, sep=":")
        return {
            str(r.name): parse_keypoints(r.keypoints_y, r.keypoints_x, frame)
            for r in table.itertuples(index=False)
        }
    except (ValueError, AttributeError, KeyError) as exc:
        raise UserError(f"{path}: not a GFLA annotation file (name:keypoints_y:keypoints_x): {exc}") from None


def read_pairs(path: Path) -> list[tuple[str, str]]:
    table = pd.read_csv(path)
    if not {"from", "to"} <= set(table.columns):
        raise UserError(f"{path}: expected columns from,to")
    return [(str(a), str(b)) for a, b in zip(table["from"], table["to"], strict=True)]


def image_to_tensor(img: Image.Image, height: int, width: int) -> torch.Tensor:
    """RGB image → (3, H, W) in [-1, 1], resized (bilinear) to the network size."""
    img = img.convert("RGB")
    if img.size != (width, height):
        img = img.resize((width, height), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    arr = ((t.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(arr)


def pose_tensor(keypoints: np.ndarray, height: int, width: int, sigma: float) -> torch.Tensor:
    return torch.from_numpy(heatmaps(keypoints, height, width, sigma=sigma))


@dataclass(frozen=True)
class PairItem:
    source: str
    target: str


class GflaPairs(torch.utils.data.Dataset):
    """(source, target) person pairs with their pose heatmaps, one phase (train/test) of the layout."""

    def __init__(self, root: str | Path, phase: str, params: GflaParams):
        self.root = Path(root)
        if not self.root.is_dir():
            raise UserError(f"GFLA dataset {self.root} not found; build it or set train.gfla.dataset")
        self.phase = phase
        self.p = params
        self.image_dir = self.root / phase
        frame = (params.annotation_height, params.annotation_width)
        self.keypoints = read_annotations(_find(self.root, "annotation", phase), frame)
        self.pairs = [PairItem(a, b) for a, b in read_pairs(_find(self.root, "pairs", phase))]
        if not self.pairs:
            raise UserError(f"GFLA dataset {self.root}: no {phase} pairs")
        names = sorted({n for item in self.pairs for n in (item.source, item.target)})
        no_keypoints = [n for n in names if n not in self.keypoints]
        if no_keypoints:
            raise UserError(
                f"GFLA dataset {self.root}: {no_keypoints[0]} is in the {phase} pairs but has no keypoints "
                f"(+{len(no_keypoints) - 1} more)"
            )
        missing = [n for n in names if not (self.image_dir / n).is_file()]
        if missing:
            raise UserError(
                f"GFLA dataset {self.root}: image {phase}/{missing[0]} is missing (+{len(missing) - 1} more)"
            )

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.p
        with Image.open(self.image_dir / name) as img:
            image = image_to_tensor(img, p.height, p.width)
        return image, pose_tensor(self.keypoints[name], p.height, p.width, p.heatmap_sigma)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        item = self.pairs[index]
        p1, bp1 = self.load(item.source)
        p2, bp2 = self.load(item.target)
        return {"P1": p1, "BP1": bp1, "P2": p2, "BP2": bp2, "P1_path": item.source, "P2_path": item.target}


class StepBatches(torch.utils.data.Sampler[list[int]]):
    """Batches fixed by the step number alone, so a resumed run sees exactly the same batches.

    Step s belongs to epoch s // steps_per_epoch, whose order is a permutation seeded by (seed, epoch);
    under DDP each rank takes its own slice of the global batch.
    """

    def __init__(
        self, n: int, batch: int, seed: int, start_step: int, end_step: int, rank: int = 0, world: int = 1
    ):
        if n < batch:
            raise UserError(
                f"GFLA dataset has {n} pairs, fewer than one batch ({batch}); lower train.gfla.batch"
            )
        self.n, self.batch, self.seed = n, batch, seed
        self.start, self.end, self.rank, self.world = start_step, end_step, rank, world
        self.per_epoch = n // batch

    def indices(self, step: int) -> list[int]:
        epoch, pos = divmod(step, self.per_epoch)
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(self.n, generator=gen)
        chunk = perm[pos * self.batch : (pos + 1) * self.batch].tolist()
        return chunk[self.rank :: self.world]

    def __iter__(self):
        for step in range(self.start, self.end):
            yield self.indices(step)

    def __len__(self) -> int:
        return max(0, self.end - self.start)
