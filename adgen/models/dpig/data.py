"""People with their poses, as DPIG sees them: an image, 18 heatmaps, a 54-d pose vector, part boxes.

The people come from the DPIG dataset that `adgen build-datasets` writes (data/datasets/dpig,
adgen/datasets/dpig.py): the stripped people on white with the pose stage's keypoints moved into
their cut-out (`people`), and DeepFashion In-shop images with the official GFLA keypoints or the
pose stage's estimate (`deepfashion`). DPIG reads nothing upstream of it.

Each image is fitted into the H×W frame on white (aspect kept, as every dataset here), keypoints
mapped along. Keypoints follow the project contract: (18, 3) OpenPose order, x, y normalised,
conf 0 and x = y = -1 when missing.

Pose encodings (official `coord2channel_simple_rcv` + `tf_poseInflate`, and the PoseRCV vector):
- heatmaps: one channel per keypoint, -1 everywhere, +1 on a solid disk of radius 4 (d² ≤ r²)
  around the keypoint's pixel; a missing keypoint leaves its channel at -1;
- pose vector: 54 numbers, per keypoint [row/H·2−1, col/W·2−1, visibility]; missing = [-1, -1, 0].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.dpig.rois import foreground_mask, part_boxes
from adgen.store.photos import ImageSource, openable

N_KEYPOINTS = 18


def heatmaps(keypoints: torch.Tensor, height: int, width: int, radius: int = 4) -> torch.Tensor:
    """(B, 18, 3) contract keypoints → (B, 18, H, W) solid-disk heatmaps in [-1, 1]."""
    kp = keypoints.float()
    present = (kp[..., 2] > 0) & (kp[..., 0] >= 0) & (kp[..., 1] >= 0)
    # the keypoint's pixel, truncated like the official int32 cast, kept inside the image
    row = (kp[..., 1] * height + 1e-4).floor().clamp(0, height - 1)
    col = (kp[..., 0] * width + 1e-4).floor().clamp(0, width - 1)
    ys = torch.arange(height, device=kp.device, dtype=kp.dtype).view(1, 1, height, 1)
    xs = torch.arange(width, device=kp.device, dtype=kp.dtype).view(1, 1, 1, width)
    d2 = (ys - row[..., None, None]) ** 2 + (xs - col[..., None, None]) ** 2
    disk = (d2 <= radius * radius) & present[..., None, None]
    return disk.to(kp.dtype) * 2 - 1


def pose_vector(keypoints: torch.Tensor) -> torch.Tensor:
    """(B, 18, 3) contract keypoints → (B, 54) [y·2−1, x·2−1, visibility] per keypoint."""
    kp = keypoints.float()
    present = (kp[..., 2] > 0) & (kp[..., 0] >= 0) & (kp[..., 1] >= 0)
    r = torch.where(present, kp[..., 1] * 2 - 1, torch.full_like(kp[..., 1], -1.0))
    c = torch.where(present, kp[..., 0] * 2 - 1, torch.full_like(kp[..., 0], -1.0))
    return torch.stack([r, c, present.to(kp.dtype)], dim=-1).flatten(1)


def keypoints_from_vector(vec: torch.Tensor) -> torch.Tensor:
    """(B, 54) pose vector (e.g. a decoded sample) → (B, 18, 3) contract keypoints."""
    v = vec.float().view(-1, N_KEYPOINTS, 3)
    present = v[..., 2] > 0.5
    x = ((v[..., 1] + 1) / 2).clamp(0, 1)
    y = ((v[..., 0] + 1) / 2).clamp(0, 1)
    out = torch.stack([x, y, torch.ones_like(x)], dim=-1)
    return torch.where(present[..., None], out, torch.tensor([-1.0, -1.0, 0.0], device=vec.device))


def image_to_tensor(img: Image.Image) -> torch.Tensor:
    a = np.asarray(img.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(a).permute(2, 0, 1).contiguous()


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    a = ((t.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(a)


@dataclass(frozen=True)
class PersonImage:
    """One training person: an image file of the DPIG dataset and its keypoints."""

    path: ImageSource
    keypoints: np.ndarray  # (18, 3) normalised to `crop` (or the whole image)
    source: str  # "people" | "deepfashion"
    crop: tuple[float, float, float, float] | None = None  # normalised (x0, y0, x1, y1) of the image


def dataset_dir(params) -> Path:
    from adgen.datasets import dpig

    return params.path(params.paths.datasets) / dpig.NAME


def collect_people(params, sources: list[str], min_keypoints: int) -> list[PersonImage]:
    """Every person of the built DPIG dataset from the named sources; one-line error when there is none."""
    from adgen.datasets.dpig import read_dpig

    where = dataset_dir(params)
    try:
        found = read_dpig(where, list(sources), min_keypoints)
    except UserError as exc:
        why = str(exc)
    else:
        why = f"{where}: no {' or '.join(sources)} person with {min_keypoints}+ keypoints"
        if found:
            return [PersonImage(p.path, p.keypoints, p.source) for p in found]
    raise UserError(
        f"train.dpig: no people with poses to train on ({why}); run `adgen strip`, `adgen pose` and "
        "`adgen build-datasets`, or set datasets.deepfashion"
    )


class DpigPeople(torch.utils.data.Dataset):
    """People fitted into H×W on white: image [-1, 1], keypoints, part boxes, visibility, person mask."""

    def __init__(self, people: list[PersonImage], height: int, width: int):
        self.people, self.height, self.width = list(people), height, width

    def __len__(self) -> int:
        return len(self.people)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        from adgen.datasets.framing import fit_into

        person = self.people[i]
        try:
            with Image.open(openable(person.path)) as img:
                img = img.convert("RGB")
        except OSError:
            raise UserError(f"{person.path}: not a readable image; re-run the stage that wrote it") from None
        if person.crop is not None:
            x0, y0, x1, y1 = person.crop
            img = img.crop((x0 * img.width, y0 * img.height, x1 * img.width, y1 * img.height))
        framed, fr = fit_into(img, self.width, self.height)
        kp = np.asarray(person.keypoints, np.float32).copy()
        missing = kp[:, 2] <= 0
        kp[:, :2] = fr.points(kp[:, :2])
        kp[missing] = (-1.0, -1.0, 0.0)
        return item_tensors(image_to_tensor(framed), kp, self.height, self.width)


def item_tensors(image: torch.Tensor, kp: np.ndarray, height: int, width: int) -> dict[str, torch.Tensor]:
    """What the networks need of one person, given the framed image and its keypoints."""
    boxes, vis = part_boxes(kp, height, width)
    return {
        "image": image,
        "keypoints": torch.from_numpy(kp),
        "boxes": torch.from_numpy(boxes),
        "visibility": torch.from_numpy(vis),
        "fg_mask": torch.from_numpy(foreground_mask(boxes, vis, height, width)),
    }


class StepBatches:
    """The batches of training steps start … stop-1, the same ones however often the run is resumed.

    Stage I takes one batch of `batch` per step, stage II `per_step_ii` batches of `batch_ii` (one
    per critic update). Samples are drawn from a stream of epochs, each a permutation seeded by
    (seed, epoch), so the batches of any step follow from the step number alone. Under DDP each
    process takes its slice (rank::world) of every batch.
    """

    def __init__(
        self,
        n: int,
        seed: int,
        stage1_steps: int,
        batch: int,
        batch_ii: int,
        per_step_ii: int,
        start: int,
        stop: int,
        rank: int = 0,
        world: int = 1,
    ):
        self.n, self.seed = n, seed
        self.stage1_steps, self.batch, self.batch_ii, self.per_step_ii = (
            stage1_steps,
            batch,
            batch_ii,
            per_step_ii,
        )
        self.start, self.stop, self.rank, self.world = start, stop, rank, world
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._perms[epoch]

    def _take(self, first: int, count: int) -> list[int]:
        return [int(self._perm(k // self.n)[k % self.n]) for k in range(first, first + count)]

    def batches_of(self, step: int) -> list[list[int]]:
        if step < self.stage1_steps:
            whole = [self._take(step * self.batch, self.batch)]
        else:
            base = (
                self.stage1_steps * self.batch + (step - self.stage1_steps) * self.per_step_ii * self.batch_ii
            )
            whole = [self._take(base + k * self.batch_ii, self.batch_ii) for k in range(self.per_step_ii)]
        return [b[self.rank :: self.world] for b in whole]

    def __iter__(self):
        for step in range(self.start, self.stop):
            yield from self.batches_of(step)

    def __len__(self) -> int:
        return sum(len(self.batches_of(s)) for s in range(self.start, self.stop))
