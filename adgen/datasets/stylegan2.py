"""StyleGAN2 training set in NVlabs' format: a zip of PNGs plus dataset.json.

Layout as `dataset_tool.py` of stylegan2-ada-pytorch writes it: `00000/img00000000.png`, ...
(1000 per folder) and `dataset.json` = {"labels": null} (unconditional). Every image has the same
size: people on white, padded (never cropped) to a square or a 2:1 (H:W) frame of the configured
height. The zip is byte-for-byte reproducible (sorted entries, fixed timestamps).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from PIL import Image

from adgen import atomic
from adgen.datasets.framing import fit_into
from adgen.progress import track
from adgen.store.photos import ImageSource, openable

_EPOCH = (1980, 1, 1, 0, 0, 0)


def frame_size(resolution: int, aspect: str) -> tuple[int, int]:
    """(width, height) of the frame: square, or 2:1 meaning twice as tall as wide."""
    return (resolution, resolution) if aspect == "square" else (resolution // 2, resolution)


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def write_nvlabs_zip(images: list[ImageSource], out: Path, resolution: int, aspect: str) -> tuple[int, int]:
    """Pad each image into the frame and write the zip; returns the (width, height) of every image."""
    w, h = frame_size(resolution, aspect)
    with atomic.atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for idx, source in enumerate(track(images, "StyleGAN2 zip", total=len(images))):
            with Image.open(openable(source)) as im:
                framed, _ = fit_into(im.convert("RGB"), w, h)
            buf = io.BytesIO()
            framed.save(buf, format="PNG", compress_level=6)
            zf.writestr(_entry(f"{idx // 1000:05d}/img{idx:08d}.png"), buf.getvalue())
        zf.writestr(_entry("dataset.json"), json.dumps({"labels": None}))
    return w, h
