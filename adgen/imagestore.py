"""Content-addressed image files: `<root>/images/ab/abcdef….jpg`.

The image id is the sha256 of the bytes, so the same photo fetched twice is stored once and a URL
never becomes a path (no `../../x.jpg` surprises).

Crawled photos and the filter's masks live in the sharded image store (`adgen.store`); this
per-file layout is left only for strip's cut-outs and `adgen bags import` (not moved yet, see
docs/store.md), and `sha256_hex` for the crawl pipeline.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from adgen import atomic

_EXT = re.compile(r"^[a-z0-9]{1,5}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StoredImage:
    image_id: str
    path: Path
    is_new: bool


class ImageStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path_for(self, image_id: str, ext: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", image_id):
            raise ValueError(f"not a sha256 image id: {image_id!r}")
        if not _EXT.match(ext):
            raise ValueError(f"bad image extension: {ext!r}")
        return self.root / "images" / image_id[:2] / f"{image_id}.{ext}"

    def put(self, data: bytes, ext: str) -> StoredImage:
        """Store bytes under their hash; an existing identical file is left as it is."""
        image_id = sha256_hex(data)
        path = self.path_for(image_id, ext)
        if path.exists() and path.stat().st_size == len(data):
            return StoredImage(image_id, path, False)
        atomic.write_bytes(path, data)
        return StoredImage(image_id, path, True)
