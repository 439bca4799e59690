"""The fixed evaluation set: K target poses with the real photos they come from.

Built once from the GFLA dataset's held-out (test) split — images no generator trained on —
taking DeepFashion images and curated (crawled) people in turn, so both kinds of target are in
the table. It is a small dataset of its own, versioned with the data (a DVC output):

    <eval_set>/targets.json    {"frame": [H, W], "targets": [{"name", "source", "origin", "keypoints"}]}
    <eval_set>/real/NNN.png    the real photo of target NNN, H x W (GFLA's 256x176 frame)
    <eval_set>/card.json       what is in it and where from

Keypoints follow the contract of `adgen.pose.contract`: 18 OpenPose points (x, y, conf)
normalised to the frame, conf 0 for a missing point.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from adgen import atomic, safe_files
from adgen.datasets.cards import write_card
from adgen.errors import UserError
from adgen.pose.contract import normalise_keypoints

TARGETS = "targets.json"
# A set's targets file: a few hundred bytes per target (its 18 keypoints).
EVALSET_MAX_BYTES = 20_000_000
_REAL_NAME = re.compile(r"^\d{3,6}$")
ORIGINS = ("deepfashion", "curated")


@dataclass(frozen=True)
class Target:
    name: str  # "000", "001", … (also the real photo's file stem)
    source: str  # the GFLA image it came from
    origin: str  # "deepfashion" | "curated"
    keypoints: np.ndarray  # [18, 3] normalised to the frame
    image: Image.Image  # the real photo, frame-sized RGB


@dataclass(frozen=True)
class EvalSet:
    root: Path
    frame: tuple[int, int]  # (height, width)
    targets: list[Target]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), PIL's order."""
        return self.frame[1], self.frame[0]


def origin_of(gfla_name: str) -> str:
    """Curated people are named `adgen<image id>.jpg` by the datasets stage; the rest is DeepFashion."""
    return "curated" if gfla_name.startswith("adgen") else "deepfashion"


def _order_key(name: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()


def choose_targets(
    annotations: dict[str, np.ndarray], k: int, min_keypoints: int, seed: int
) -> list[tuple[str, np.ndarray]]:
    """K (name, keypoints) with enough points, origins taken in turn, in a fixed pseudo-random order."""
    by_origin: dict[str, list[str]] = {o: [] for o in ORIGINS}
    for name, kp in annotations.items():
        if int((kp[:, 2] > 0).sum()) >= min_keypoints:
            by_origin[origin_of(name)].append(name)
    queues = [sorted(names, key=lambda n: _order_key(n, seed)) for names in by_origin.values()]
    chosen: list[str] = []
    while len(chosen) < k and any(queues):
        for q in queues:
            if q and len(chosen) < k:
                chosen.append(q.pop(0))
    return [(n, annotations[n]) for n in chosen]


def build_eval_set(gfla_dir: Path, out_dir: Path, k: int, min_keypoints: int = 12, seed: int = 0) -> EvalSet:
    """Write the evaluation set from `<gfla_dir>/test` (the official GFLA layout) into `out_dir`."""
    from adgen.datasets.gfla import HEIGHT, WIDTH
    from adgen.deepfashion import gfla_pixels_to_keypoints, read_gfla_annotations

    gfla_dir, out_dir = Path(gfla_dir), Path(out_dir)
    csv = next(
        (gfla_dir / n for n in ("fashion-resize-annotation-test.csv", "fasion-annotation-test.csv")
         if (gfla_dir / n).is_file()),
        None,
    )  # fmt: skip
    if csv is None:
        raise UserError(
            f"{gfla_dir}: no held-out GFLA annotations (fashion-resize-annotation-test.csv); "
            "run `adgen build-datasets` first"
        )
    annotations = {name: gfla_pixels_to_keypoints(yx) for name, yx in read_gfla_annotations(csv).items()}
    annotations = {n: kp for n, kp in annotations.items() if (gfla_dir / "test" / Path(n).name).is_file()}
    chosen = choose_targets(annotations, k, min_keypoints, seed)
    if not chosen:
        raise UserError(
            f"{gfla_dir}/test: no held-out image with >= {min_keypoints} keypoints; "
            "lower compare.min_keypoints or build a larger GFLA test split"
        )
    (out_dir / "real").mkdir(parents=True, exist_ok=True)
    for old in (out_dir / "real").glob("*.png"):
        old.unlink()
    entries = []
    for i, (source, kp) in enumerate(chosen):
        name = f"{i:03d}"
        with Image.open(gfla_dir / "test" / Path(source).name) as im:
            real = im.convert("RGB")
        if real.size != (WIDTH, HEIGHT):
            raise UserError(f"{source}: {real.size[1]}x{real.size[0]}, expected GFLA's {HEIGHT}x{WIDTH}")
        with atomic.atomic_path(out_dir / "real" / f"{name}.png") as tmp:
            real.save(tmp, format="PNG")
        entries.append(
            {"name": name, "source": source, "origin": origin_of(source), "keypoints": kp.tolist()}
        )
    atomic.write_json(out_dir / TARGETS, {"frame": [HEIGHT, WIDTH], "targets": entries})
    origins = Counter(e["origin"] for e in entries)
    write_card(
        out_dir, "compare", {"targets": len(entries), **{o: origins[o] for o in ORIGINS}},
        {"height": HEIGHT, "width": WIDTH}, origins,
        Counter({"DeepFashion (research use only)": origins["deepfashion"],
                 "crawled: the sites' licences (see the gfla card)": origins["curated"]}),
        "target poses and real photos from the GFLA held-out (test) split, for `adgen evaluate compare`; "
        "not for redistribution",
        shared_copy=False,  # data/datasets/cards is build_datasets' output (dvc status stays clean)
    )  # fmt: skip
    return load_eval_set(out_dir)


def load_eval_set(root: Path) -> EvalSet:
    """Read and check an evaluation set (every file from outside is hostile: names are validated)."""
    root = Path(root)
    path = root / TARGETS
    if not path.is_file():
        raise UserError(f"{path}: no evaluation set; build it with `adgen evaluate compare-set`")
    try:
        data = safe_files.read_json(path.read_bytes(), str(path), max_bytes=EVALSET_MAX_BYTES)
        h, w = (int(v) for v in data["frame"])
        raw = list(data["targets"])
    except (KeyError, TypeError, ValueError):  # FileFormatError is a ValueError
        raise UserError(f"{path}: not an evaluation set (frame, targets); rebuild it") from None
    if not (8 <= h <= 4096 and 8 <= w <= 4096) or not raw:
        raise UserError(f"{path}: bad frame {h}x{w} or no targets; rebuild it")
    targets = []
    for i, t in enumerate(raw):
        name = str(t.get("name", "")) if isinstance(t, dict) else ""
        if not _REAL_NAME.match(name):
            raise UserError(f"{path}: target {i} has no valid name (expected digits); rebuild it")
        kp = normalise_keypoints(t.get("keypoints"), f"{path} target {name}")
        image_path = root / "real" / f"{name}.png"
        try:
            with Image.open(image_path) as im:
                image = im.convert("RGB")
        except (OSError, Image.DecompressionBombError):
            raise UserError(f"{image_path}: real photo missing or unreadable; rebuild the set") from None
        if image.size != (w, h):
            raise UserError(f"{image_path}: {image.size[1]}x{image.size[0]}, expected {h}x{w}")
        origin = str(t.get("origin", ""))
        targets.append(
            Target(name, str(t.get("source", "")), origin if origin in ORIGINS else "other", kp, image)
        )
    return EvalSet(root, (h, w), targets)
