"""ST-GAN's training data: real photos, backgrounds, and bags placed at the canonical centre.

Reads `stgan/index.parquet` (contracts §4): role real|background|foreground, size, path,
image_id, optional anchor_x/anchor_y (normalised; where the bag's centre should sit). Everything is
loaded once into uint8 tensors (the sets are small), so a batch is an index draw from the torch RNG
and a run resumes exactly.

`make_synthetic_dataset` writes a dataset in the same format where the right place for the bag is
known (below a person's right hand): the tests and the convergence check train on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw

from adgen import atomic, safety
from adgen.errors import UserError

ROLES = ("real", "background", "foreground")


@dataclass
class StganData:
    """Images as uint8 tensors: real/background [N, 3, H, W]; foreground [K, 4, H, W] (centred bags)."""

    real: torch.Tensor
    background: torch.Tensor
    foreground: torch.Tensor
    # [N_background, 2] normalised (x, y) where the bag's centre belongs; NaN where unknown.
    anchors: torch.Tensor

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.real.shape[-2:])

    def to(self, device: torch.device | str) -> StganData:
        return StganData(*(t.to(device) for t in (self.real, self.background, self.foreground)), self.anchors)

    def draw_indices(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(background, foreground, real) indices drawn uniformly with replacement (global torch RNG)."""
        bg = torch.randint(len(self.background), (batch,))
        fg = torch.randint(len(self.foreground), (batch,))
        real = torch.randint(len(self.real), (batch,))
        return bg, fg, real

    def eval_indices(self, limit: int) -> torch.Tensor:
        """Backgrounds that have an anchor (for the placement error), at most `limit`."""
        known = torch.isfinite(self.anchors).all(dim=1).nonzero().flatten()
        return known[:limit]


def as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 255.0


def load_rgb(path: Path, height: int, width: int) -> np.ndarray:
    with safety.open_image(path) as im:
        im = im.convert("RGB")
        if im.size != (width, height):
            im = im.resize((width, height), Image.Resampling.BICUBIC)
        return np.asarray(im, dtype=np.uint8).copy()


def place_at_centre(bag: Image.Image, height: int, width: int, fg_scale: float) -> np.ndarray:
    """A tight RGBA bag scaled to fg_scale of the image's shorter side and centred on a clear canvas."""
    bag = bag.convert("RGBA")
    target = fg_scale * min(height, width)
    scale = target / max(bag.size)
    w = max(1, round(bag.width * scale))
    h = max(1, round(bag.height * scale))
    bag = bag.resize((w, h), Image.Resampling.BICUBIC)  # Pillow premultiplies alpha when resizing
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    canvas.paste(bag, ((width - w) // 2, (height - h) // 2))
    arr = np.asarray(canvas, dtype=np.uint8).copy()
    arr[..., :3] = np.where(arr[..., 3:] > 0, arr[..., :3], 0)
    return arr


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _pick_size(sizes: list[int], height: int) -> int:
    """The built size to read: the exact one, else the smallest larger one, else the largest."""
    if height in sizes:
        return height
    larger = [s for s in sizes if s > height]
    return min(larger) if larger else max(sizes)


def load_dataset(
    index: Path, height: int, width: int, fg_scale: float, root: Path | None = None
) -> StganData:
    """Read the ST-GAN index and its images (paths relative to `root`, default the index's project)."""
    index = Path(index)
    if not index.is_file():
        raise UserError(
            f"{index}: ST-GAN dataset index not found; build it with `adgen build-datasets` "
            "(or set train.stgan.index)"
        )
    table = pd.read_parquet(index)
    missing = {"role", "path"} - set(table.columns)
    if missing:
        raise UserError(f"{index}: missing column(s) {', '.join(sorted(missing))}")
    root = Path(root) if root is not None else Path.cwd()
    rows = {role: table[table["role"] == role] for role in ROLES}
    for role in ROLES:
        if rows[role].empty:
            raise UserError(f"{index}: no {role!r} rows; the ST-GAN dataset needs all of {', '.join(ROLES)}")
    if "size" in table.columns:
        for role in ROLES:  # the datasets stage writes every role at every built size
            sizes = sorted(int(s) for s in rows[role]["size"].unique())
            rows[role] = rows[role][rows[role]["size"] == _pick_size(sizes, height)]

    def read_all(role: str, reader) -> list[np.ndarray]:
        out = []
        for p in rows[role]["path"]:
            # the index is input: its paths stay inside the project or the index's own dir
            f = safety.inside(root, p, str(index), allowed=(index.parent,))
            if not f.is_file():
                raise UserError(f"{index}: {role} image {p} not found under {root}")
            out.append(reader(f))
        return out

    real = read_all("real", lambda f: load_rgb(f, height, width))
    background = read_all("background", lambda f: load_rgb(f, height, width))

    def read_bag(f: Path) -> np.ndarray:
        with safety.open_image(f) as im:
            return place_at_centre(im, height, width, fg_scale)

    foreground = read_all("foreground", read_bag)
    bg_rows = rows["background"]
    if {"anchor_x", "anchor_y"} <= set(bg_rows.columns):
        anchors = torch.tensor(bg_rows[["anchor_x", "anchor_y"]].to_numpy(dtype=np.float32, na_value=np.nan))
    else:
        anchors = torch.full((len(bg_rows), 2), float("nan"))
    return StganData(_stack(real), _stack(background), _stack(foreground), anchors)


# --- synthetic data where the right place is known ------------------------------------------------

PERSON_COLOURS = [(60, 70, 160), (150, 50, 60), (40, 120, 80), (110, 80, 50), (90, 90, 90)]
BAG_COLOURS = [(200, 120, 20), (220, 40, 140), (30, 170, 200), (120, 200, 40)]


@dataclass(frozen=True)
class SyntheticScene:
    """A person standing with the right hand out; the bag belongs hanging from that hand."""

    person_x: float  # normalised centre of the body
    colour: tuple[int, int, int]

    @property
    def hand(self) -> tuple[float, float]:
        return self.person_x + 0.2, 0.55

    def bag_position(self, bag_w: int, size: int) -> tuple[int, int]:
        """Top-left pixel of a bag hanging from the hand (its top edge at the hand)."""
        hx, hy = self.hand
        return round(hx * size - bag_w / 2), round(hy * size)


def _alpha_centre(bag: Image.Image) -> tuple[float, float]:
    a = np.asarray(bag, dtype=np.float64)[..., 3]
    ys, xs = np.mgrid[0 : a.shape[0], 0 : a.shape[1]]
    return float((a * xs).sum() / a.sum()), float((a * ys).sum() / a.sum())


def _draw_person(scene: SyntheticScene, size: int) -> Image.Image:
    im = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(im)
    s = size
    x = scene.person_x
    c = scene.colour
    d.ellipse([(x - 0.07) * s, 0.08 * s, (x + 0.07) * s, 0.22 * s], fill=c)  # head
    d.rectangle([(x - 0.11) * s, 0.24 * s, (x + 0.11) * s, 0.62 * s], fill=c)  # torso
    d.rectangle([(x - 0.10) * s, 0.62 * s, (x - 0.02) * s, 0.95 * s], fill=c)  # legs
    d.rectangle([(x + 0.02) * s, 0.62 * s, (x + 0.10) * s, 0.95 * s], fill=c)
    hx, hy = scene.hand
    d.line([(x + 0.1) * s, 0.28 * s, hx * s, hy * s], fill=c, width=max(1, round(0.05 * s)))  # right arm
    d.line([(x - 0.1) * s, 0.28 * s, (x - 0.16) * s, 0.58 * s], fill=c, width=max(1, round(0.05 * s)))
    r = 0.035 * s
    d.ellipse([hx * s - r, hy * s - r, hx * s + r, hy * s + r], fill=(235, 190, 160))  # the hand
    return im


def _draw_bag(colour: tuple[int, int, int], w: int, h: int) -> Image.Image:
    bag = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(bag)
    d.rectangle([0, h * 0.3, w - 1, h - 1], fill=(*colour, 255))
    d.arc([w * 0.25, 0, w * 0.75, h * 0.6], 180, 360, fill=(*colour, 255), width=max(1, w // 8))
    return bag


def make_synthetic_dataset(
    out_dir: Path,
    size: int = 32,
    n_real: int = 64,
    n_background: int = 64,
    n_foreground: int = 4,
    fg_scale: float = 0.35,
    seed: int = 0,
) -> Path:
    """Write PNGs and an `index.parquet` (paths relative to out_dir's parent) like the datasets stage.

    Real photos show the bag with its centre at the scene's anchor, at the size the trainer gives a
    centred foreground (fg_scale), so the only thing a warp must learn is the move to the hand.
    """
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    root = out_dir.parent
    bag_px = fg_scale * size
    bag_w, bag_h = round(bag_px), round(bag_px * 0.85)
    records = []

    def scene() -> SyntheticScene:
        colour = PERSON_COLOURS[int(rng.integers(len(PERSON_COLOURS)))]
        return SyntheticScene(person_x=float(0.45 + rng.uniform(-0.03, 0.03)), colour=colour)

    def save(im: Image.Image, name: str, role: str, anchor: tuple[float, float] | None) -> None:
        path = out_dir / "images" / name
        with atomic.atomic_path(path) as tmp:
            im.save(tmp, format="PNG")
        ax, ay = anchor if anchor else (math.nan, math.nan)
        records.append(
            {
                "role": role,
                "size": size,
                "path": str(path.relative_to(root)),
                "image_id": name.split(".")[0],
                "anchor_x": ax,
                "anchor_y": ay,
            }
        )

    def anchor(sc: SyntheticScene, bag: Image.Image) -> tuple[float, float]:
        """The bag's alpha centre where it hangs, normalised like `warp.alpha_centroid`."""
        x0, y0 = sc.bag_position(bag.width, size)
        cx, cy = _alpha_centre(bag)
        return (x0 + cx) / (size - 1), (y0 + cy) / (size - 1)

    reference_bag = _draw_bag(BAG_COLOURS[0], bag_w, bag_h)
    for i in range(n_real):
        sc = scene()
        im = _draw_person(sc, size).convert("RGBA")
        bag = _draw_bag(BAG_COLOURS[int(rng.integers(len(BAG_COLOURS)))], bag_w, bag_h)
        im.alpha_composite(bag, sc.bag_position(bag_w, size))
        save(im.convert("RGB"), f"real-{i:04d}.png", "real", anchor(sc, bag))
    for i in range(n_background):
        sc = scene()
        save(_draw_person(sc, size), f"background-{i:04d}.png", "background", anchor(sc, reference_bag))
    for i in range(n_foreground):
        colour = BAG_COLOURS[i % len(BAG_COLOURS)]
        save(_draw_bag(colour, bag_w * 4, bag_h * 4), f"foreground-{i:04d}.png", "foreground", None)
    index = out_dir / "index.parquet"
    with atomic.atomic_path(index) as tmp:
        pd.DataFrame.from_records(records).to_parquet(tmp, index=False)
    return index
