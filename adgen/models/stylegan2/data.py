"""Training images from an NVlabs-format dataset zip (PNG files + dataset.json).

The prepare stage writes `data/datasets/stylegan2/<name>.zip` already padded to square or 2:1
(H:W), so this reader never crops: it only checks that every image has the configured size.
Batches follow a fixed order derived from (seed, image counter), so a resumed run reads exactly
the images the uninterrupted run would have read.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen.errors import UserError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


class ZipImageDataset(torch.utils.data.Dataset):
    """Images of one NVlabs zip as uint8 CHW tensors (opened lazily, per worker process)."""

    def __init__(self, path: str | Path, resolution: tuple[int, int] | None = None, mirror: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(
                f"{self.path}: StyleGAN2 dataset zip not found; build it with the datasets stage "
                "(data/datasets/stylegan2/) or set train.stylegan2.dataset"
            )
        try:
            with zipfile.ZipFile(self.path) as zf:
                names = zf.namelist()
                self.labels = (
                    json.loads(zf.read("dataset.json")).get("labels") if "dataset.json" in names else None
                )
        except zipfile.BadZipFile:
            raise UserError(
                f"{self.path}: not a zip file (expected NVlabs format: PNGs + dataset.json)"
            ) from None
        self.names = sorted(n for n in names if n.lower().endswith(IMAGE_EXTS))
        if not self.names:
            raise UserError(f"{self.path}: no images in the zip")
        self.mirror = mirror
        self._zip: zipfile.ZipFile | None = None
        first = self._load(0)
        self.image_shape = tuple(first.shape)  # C, H, W
        if resolution is not None and tuple(first.shape[1:]) != tuple(resolution):
            raise UserError(
                f"{self.path}: images are {first.shape[1]}x{first.shape[2]} (HxW) but "
                f"train.stylegan2.resolution is {resolution[0]}x{resolution[1]}; rebuild the dataset "
                "or change the resolution"
            )

    def __len__(self) -> int:
        return len(self.names) * (2 if self.mirror else 1)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_zip"] = None
        return state

    def _load(self, i: int) -> np.ndarray:
        if self._zip is None:
            self._zip = zipfile.ZipFile(self.path)
        with Image.open(io.BytesIO(self._zip.read(self.names[i]))) as im:
            arr = np.asarray(im.convert("RGB"))
        return arr.transpose(2, 0, 1).copy()

    def __getitem__(self, index: int) -> torch.Tensor:
        n = len(self.names)
        arr = self._load(index % n)
        if arr.shape != self.image_shape:
            raise UserError(
                f"{self.path}: {self.names[index % n]} is {arr.shape}, expected {self.image_shape}"
            )
        if index >= n:
            arr = arr[:, :, ::-1].copy()
        return torch.from_numpy(arr)


def image_order(n: int, seed: int, start: int) -> Iterator[int]:
    """Dataset indices for image counter start, start+1, ...: a fresh permutation per epoch."""
    k = start
    while True:
        epoch, pos = divmod(k, n)
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        for i in perm[pos:]:
            yield int(i)
        k = (epoch + 1) * n


class _OrderSampler(torch.utils.data.Sampler):
    """This rank's share of the global order: chunk j of `chunk` images goes to rank j % world."""

    def __init__(self, n: int, seed: int, start: int, chunk: int, rank: int, world_size: int):
        self.n, self.seed, self.start = n, seed, start
        self.chunk, self.rank, self.world_size = chunk, rank, world_size

    def __iter__(self):
        for k, i in enumerate(image_order(self.n, self.seed, self.start)):
            if (k // self.chunk) % self.world_size == self.rank:
                yield i


def real_batches(
    dataset: ZipImageDataset,
    batch: int,
    seed: int,
    start_img: int,
    workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
) -> Iterator[torch.Tensor]:
    """Endless float batches in [-1, 1] for this rank, starting at global image counter `start_img`."""
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch,
        sampler=_OrderSampler(len(dataset), seed, start_img, batch, rank, world_size),
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
        prefetch_factor=2 if workers > 0 else None,
        # its own generator: creating the iterator must not draw from the global RNG, or a
        # resumed run (iterator made after the RNG restore) would diverge from the original
        generator=torch.Generator().manual_seed(seed),
    )
    for images in loader:
        yield images.to(torch.float32) / 127.5 - 1.0


def write_zip(path: str | Path, images: list[Image.Image]) -> Path:
    """An NVlabs-format zip of `images` (for tests and small experiments)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, im in enumerate(images):
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format="PNG")
            zf.writestr(f"{i // 1000:05d}/img{i:08d}.png", buf.getvalue())
        zf.writestr("dataset.json", json.dumps({"labels": None}))
    return path
