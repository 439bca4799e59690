"""DCGAN's training images: the StyleGAN2 NVlabs zip, each image fitted into the DCGAN frame.

The zip reader, its mirror augmentation and the resumable data order are StyleGAN2's
(`adgen.models.stylegan2.data`); only the frame differs, so the same people train both models.
Images are padded (never cropped, never stretched) into the frame, on white like the dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adgen.datasets.framing import fit_into
from adgen.errors import UserError
from adgen.models.stylegan2.data import ZipImageDataset


class FramedImages(torch.utils.data.Dataset):
    """uint8 CHW tensors of the zip's images at (height, width); the index runs over mirrors too."""

    def __init__(self, path: str | Path, resolution: tuple[int, int], mirror: bool = True):
        path = Path(path)
        if not path.is_file():
            raise UserError(
                f"{path}: DCGAN training zip not found; build it with the datasets stage "
                "(data/datasets/stylegan2/) or set train.dcgan.dataset"
            )
        self.images = ZipImageDataset(path, None, mirror)
        self.resolution = tuple(resolution)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        h, w = self.resolution
        arr = self.images[index].numpy().transpose(1, 2, 0)
        if arr.shape[:2] != (h, w):
            framed, _ = fit_into(Image.fromarray(arr), w, h)
            arr = np.asarray(framed.convert("RGB"))
        return torch.from_numpy(arr.transpose(2, 0, 1).copy())
