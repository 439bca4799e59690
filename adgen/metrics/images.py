"""Image sets for the metrics: PIL lists, uint8 arrays, folders or NVlabs zips → uint8 [N,H,W,3]."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from adgen.errors import UserError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
ImageSet = str | Path | np.ndarray | Iterable[Image.Image]


def _from_path(path: Path) -> Iterator[np.ndarray]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTS)
        for f in files:
            with Image.open(f) as im:
                yield np.asarray(im.convert("RGB"))
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for name in sorted(n for n in zf.namelist() if n.lower().endswith(IMAGE_EXTS)):
                with Image.open(io.BytesIO(zf.read(name))) as im:
                    yield np.asarray(im.convert("RGB"))
    else:
        raise UserError(f"{path}: not an image folder or zip")


def iter_images(images: ImageSet, limit: int | None = None) -> Iterator[np.ndarray]:
    """Each image as uint8 [H, W, 3]."""
    if isinstance(images, str | Path):
        source: Iterable = _from_path(Path(images))
    elif isinstance(images, np.ndarray):
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"expected uint8 [N, H, W, 3], got {images.shape}")
        source = iter(images)
    else:
        source = (np.asarray(im.convert("RGB")) for im in images)
    for i, arr in enumerate(source):
        if limit is not None and i >= limit:
            return
        yield np.asarray(arr, dtype=np.uint8)


def batches(images: ImageSet, batch_size: int, limit: int | None = None) -> Iterator[np.ndarray]:
    """uint8 [B, H, W, 3] batches (images within a batch must share a size)."""
    buf: list[np.ndarray] = []
    for arr in iter_images(images, limit):
        if buf and arr.shape != buf[0].shape:
            yield np.stack(buf)
            buf = []
        buf.append(arr)
        if len(buf) == batch_size:
            yield np.stack(buf)
            buf = []
    if buf:
        yield np.stack(buf)
