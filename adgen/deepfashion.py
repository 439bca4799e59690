"""A local DeepFashion In-shop folder, read in its real layout.

    <root>/img/<MEN|WOMEN>/<category>/id_XXXXXXXX/NN_K_view.jpg   (or img_highres/)
    <root>/fasion-resize-annotation-{train,test}.csv   GFLA/Pose-Transfer keypoints (256x176 pixels)
    <root>/fasion-resize-pairs-{train,test}.csv        GFLA pairs (from,to)
    <root>/train.lst, test.lst                         GFLA split lists (optional)

The CSV names are accepted with the original "fasion" typo or spelt "fashion", with or without
"-resize". Images are named in those CSVs the way GFLA's `generate_fashion_datasets.py` flattens the
path: img/WOMEN/Blouses_Shirts/id_00000001/02_1_front.jpg -> fashionWOMENBlouses_Shirtsid0000000102_1front.jpg.
The same item id is the same model wearing the same clothes, which is what GFLA pairs.

An input from outside, read by the pose stage, the datasets, the comparison's evaluation set and the
fixture DeepFashion: it sits below all of them (in adgen/datasets/ it made pose and datasets import
each other).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from adgen.errors import UserError
from adgen.safe_files import finite, read_json

GFLA_HEIGHT, GFLA_WIDTH = 256, 176  # the pixel frame of the GFLA keypoint CSVs
_FILE = re.compile(r"^(\d+)_(\d+)_([A-Za-z]+)\.(jpg|jpeg|png)$", re.IGNORECASE)
_ITEM = re.compile(r"^id_\d{8}$")


def gfla_name(gender: str, category: str, item_id: str, filename: str) -> str:
    """GFLA's flattened file name for an In-shop image (see the module docstring)."""
    head, _, rest = filename.partition("_")
    return f"fashion{gender}{category}{item_id.replace('_', '')}{head}_{rest.replace('_', '')}"


@dataclass(frozen=True)
class DeepFashionImage:
    path: Path
    gender: str
    category: str
    item_id: str
    outfit: int  # NN: the photo group within the item
    view: str  # K_view, e.g. "1_front"
    gfla_name: str


def _find(root: Path, kinds: list[str], split: str) -> Path | None:
    for spelling in ("fasion", "fashion"):
        for kind in kinds:
            p = root / f"{spelling}-{kind}-{split}.csv"
            if p.is_file():
                return p
    return None


def read_gfla_annotations(path: Path) -> dict[str, np.ndarray]:
    """`name:keypoints_y:keypoints_x` CSV -> {name: [18, 2] (y, x) pixels in 256x176, -1 missing}."""
    df = pd.read_csv(path, sep=":")
    missing = {"name", "keypoints_y", "keypoints_x"} - set(df.columns)
    if missing:
        raise UserError(f"{path}: not a GFLA annotation file (no column {sorted(missing)[0]!r})")
    out = {}
    for name, ys, xs in zip(df["name"], df["keypoints_y"], df["keypoints_x"], strict=True):
        where = f"{path}: {str(name)[:80]}"
        y = read_json(str(ys), f"{where} keypoints_y", max_depth=1)
        x = read_json(str(xs), f"{where} keypoints_x", max_depth=1)
        finite([y, x], where)
        out[str(name)] = np.stack([y, x], axis=1).astype(np.float32)
    return out


def gfla_pixels_to_keypoints(yx: np.ndarray) -> np.ndarray:
    """[18, 2] (y, x) pixels in the 256x176 frame -> [18, 3] normalised (x, y, conf)."""
    kp = np.full((len(yx), 3), -1.0, dtype=np.float32)
    kp[:, 2] = 0.0
    present = (yx[:, 0] >= 0) & (yx[:, 1] >= 0)
    kp[present, 0] = yx[present, 1] / GFLA_WIDTH
    kp[present, 1] = yx[present, 0] / GFLA_HEIGHT
    kp[present, 2] = 1.0
    return kp


class DeepFashionInShop:
    """Read-only view of a local DeepFashion In-shop folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.img_dir = next((self.root / d for d in ("img", "img_highres") if (self.root / d).is_dir()), None)
        if self.img_dir is None:
            raise UserError(
                f"datasets.deepfashion: {self.root} has no img/ folder; expected the In-shop layout "
                "img/<MEN|WOMEN>/<category>/id_XXXXXXXX/NN_K_view.jpg (download DeepFashion In-shop "
                "and the GFLA 256x176 CSVs, then set datasets.deepfashion to that folder)"
            )

    @cached_property
    def images(self) -> list[DeepFashionImage]:
        found = []
        for path in sorted(self.img_dir.glob("*/*/id_*/*")):
            gender, category, item_id = path.parts[-4:-1]
            m = _FILE.match(path.name)
            if not m or not _ITEM.match(item_id) or gender not in ("MEN", "WOMEN"):
                continue
            found.append(
                DeepFashionImage(
                    path=path,
                    gender=gender,
                    category=category,
                    item_id=item_id,
                    outfit=int(m.group(1)),
                    view=f"{m.group(2)}_{m.group(3)}",
                    gfla_name=gfla_name(gender, category, item_id, path.name),
                )
            )
        return found

    def annotation_file(self, split: str) -> Path | None:
        return _find(self.root, ["resize-annotation", "annotation"], split)

    def pairs_file(self, split: str) -> Path | None:
        return _find(self.root, ["resize-pairs", "pairs"], split)

    @cached_property
    def keypoints(self) -> dict[str, np.ndarray]:
        """GFLA name -> [18, 3] normalised keypoints, from the official annotation CSVs (if present)."""
        out = {}
        for split in ("train", "test"):
            f = self.annotation_file(split)
            if f is not None:
                out.update({k: gfla_pixels_to_keypoints(v) for k, v in read_gfla_annotations(f).items()})
        return out

    @cached_property
    def splits(self) -> dict[str, str]:
        """GFLA name -> "train" | "test", from the annotation CSVs or train.lst/test.lst."""
        out: dict[str, str] = {}
        for split in ("train", "test"):
            lst = self.root / f"{split}.lst"
            if lst.is_file():
                out.update({ln.strip(): split for ln in lst.read_text().splitlines() if ln.strip()})
            f = self.annotation_file(split)
            if f is not None:
                out.update({str(n): split for n in pd.read_csv(f, sep=":", usecols=["name"])["name"]})
        return out

    def official_pairs(self, split: str) -> list[tuple[str, str]]:
        f = self.pairs_file(split)
        if f is None:
            return []
        df = pd.read_csv(f)
        return list(zip(df["from"].astype(str), df["to"].astype(str), strict=True))

    def by_item(self) -> dict[str, list[DeepFashionImage]]:
        """Images grouped by item id: the same model in the same clothes, in different poses."""
        groups: dict[str, list[DeepFashionImage]] = {}
        for im in self.images:
            groups.setdefault(im.item_id, []).append(im)
        return groups
