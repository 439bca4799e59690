"""The fixed evaluation set: K target poses with the real photos they come from.

Built once from the GFLA dataset's held-out (test) split — images no generator trained on —
taking DeepFashion images and curated (crawled) people in turn, so both kinds of target are in
the table. It is a small dataset of its own, versioned with the data (a DVC output):

    <eval_set>/targets.json    {"frame": [H, W], "pairs": P,
                                "targets": [{"name", "source", "origin", "keypoints", "pair"?}]}
    <eval_set>/real/NNN.png    the real photo of target NNN, H x W (GFLA's 256x176 frame)
    <eval_set>/source/NNN.png  the `from` photo of a held-out pair whose `to` is target NNN (same
                               person, another pose): `"pair": {"source", "keypoints"}` in its entry
    <eval_set>/card.json       what is in it and where from

The pairs let the comparison score a pose transfer against the real photo of the same person in
the target pose (adgen/compare/pairs.py). A set written before pairs were recorded (no "pairs" key)
still loads; its pair scores are skipped with the reason.

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

from adgen import atomic, safe_files, safety
from adgen.datasets.cards import write_card
from adgen.errors import UserError
from adgen.pose.contract import normalise_keypoints

TARGETS = "targets.json"
PAIRS_CSV = ("fashion-resize-pairs-test.csv", "fasion-pairs-test.csv")  # GFLA's held-out pairs, from,to
# The reason a set written before pairs were recorded has no pair scores.
NO_PAIRS_RECORDED = (
    "the evaluation set has no held-out pairs recorded: rebuild the set with `adgen evaluate compare-set`"
)
# A set's targets file: a few hundred bytes per target (its 18 keypoints).
EVALSET_MAX_BYTES = 20_000_000
_REAL_NAME = re.compile(r"^\d{3,6}$")
ORIGINS = ("deepfashion", "curated")


@dataclass(frozen=True)
class Pair:
    """The same person as a target, in another pose: the `from` photo of a held-out GFLA pair."""

    source: str  # the GFLA image it came from
    keypoints: np.ndarray  # [18, 3] normalised to the frame
    image: Image.Image  # the source photo, frame-sized RGB


@dataclass(frozen=True)
class Target:
    name: str  # "000", "001", … (also the real photo's file stem)
    source: str  # the GFLA image it came from
    origin: str  # "deepfashion" | "curated"
    keypoints: np.ndarray  # [18, 3] normalised to the frame
    image: Image.Image  # the real photo, frame-sized RGB
    pair: Pair | None = None  # a held-out photo of the same person, when GFLA pairs one with it


@dataclass(frozen=True)
class EvalSet:
    root: Path
    frame: tuple[int, int]  # (height, width)
    targets: list[Target]
    pairs_recorded: bool = True  # False: written before the set recorded pairs

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), PIL's order."""
        return self.frame[1], self.frame[0]

    @property
    def paired(self) -> list[Target]:
        """The targets with a held-out source photo of the same person."""
        return [t for t in self.targets if t.pair is not None]

    @property
    def pairs_skipped(self) -> str | None:
        """Why there is nothing to score pairs on, or None."""
        if not self.pairs_recorded:
            return NO_PAIRS_RECORDED
        if not self.paired:
            return (
                "no target of the evaluation set is the `to` of a held-out GFLA pair whose `from` photo "
                f"exists ({PAIRS_CSV[0]})"
            )
        return None


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


def held_out_pairs(gfla_dir: Path) -> list[tuple[str, str]]:
    """(from, to) of GFLA's held-out pairs; [] when the split has no pairs file."""
    import pandas as pd

    path = next((gfla_dir / n for n in PAIRS_CSV if (gfla_dir / n).is_file()), None)
    if path is None:
        return []
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        return list(zip(table["from"], table["to"], strict=True))
    except (KeyError, ValueError):
        raise UserError(
            f"{path}: not a GFLA pairs file (from,to); rebuild it with `adgen build-datasets`"
        ) from None


def choose_sources(
    targets: list[str], pairs: list[tuple[str, str]], annotations: dict[str, np.ndarray], seed: int
) -> dict[str, str]:
    """target -> the `from` of a held-out pair whose `to` it is (an annotated image, not the target
    itself, a plain file name as the set's loader requires), the first in the set's fixed
    pseudo-random order when there are several."""
    froms: dict[str, list[str]] = {}
    for a, b in pairs:
        if a != b and a in annotations and safety.NAME.fullmatch(a) and ".." not in a:
            froms.setdefault(b, []).append(a)
    return {t: min(froms[t], key=lambda n: _order_key(n, seed)) for t in targets if t in froms}


def _frame_photo(path: Path) -> Image.Image:
    """A photo of the GFLA test split, read like the set's own (pixel limit, one line if bad)."""
    from adgen.datasets.gfla import HEIGHT, WIDTH

    return _read_photo(path, (WIDTH, HEIGHT), "GFLA test photo", fix="check the GFLA dataset")


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
    sources = choose_sources([n for n, _ in chosen], held_out_pairs(gfla_dir), annotations, seed)
    for sub in ("real", "source"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
        for old in (out_dir / sub).glob("*.png"):
            old.unlink()
    entries = []
    for i, (source, kp) in enumerate(chosen):
        name = f"{i:03d}"
        real = _frame_photo(gfla_dir / "test" / Path(source).name)
        with atomic.atomic_path(out_dir / "real" / f"{name}.png") as tmp:
            real.save(tmp, format="PNG")
        entry = {"name": name, "source": source, "origin": origin_of(source), "keypoints": kp.tolist()}
        if source in sources:
            paired = sources[source]
            photo = _frame_photo(gfla_dir / "test" / Path(paired).name)
            with atomic.atomic_path(out_dir / "source" / f"{name}.png") as tmp:
                photo.save(tmp, format="PNG")
            entry["pair"] = {"source": paired, "keypoints": annotations[paired].tolist()}
        entries.append(entry)
    n_pairs = sum("pair" in e for e in entries)
    atomic.write_json(out_dir / TARGETS, {"frame": [HEIGHT, WIDTH], "pairs": n_pairs, "targets": entries})
    origins = Counter(e["origin"] for e in entries)
    write_card(
        out_dir, "compare", {"targets": len(entries), "pairs": n_pairs, **{o: origins[o] for o in ORIGINS}},
        {"height": HEIGHT, "width": WIDTH}, origins,
        Counter({"DeepFashion (research use only)": origins["deepfashion"],
                 "crawled: the sites' licences (see the gfla card)": origins["curated"]}),
        "target poses, real photos and the held-out pairs' source photos from the GFLA held-out (test) "
        "split, for `adgen evaluate compare`; "
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
    except ValueError as exc:  # FileFormatError: too large, not JSON, a NaN or an infinity
        raise UserError(f"{exc}; rebuild the set with `adgen evaluate compare-set`") from None
    try:
        h, w = (int(v) for v in data["frame"])
        raw = list(data["targets"])
        pairs_recorded = "pairs" in data
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
        image = _read_photo(root / "real" / f"{name}.png", (w, h), "real photo")
        origin = str(t.get("origin", ""))
        pair = _read_pair(t.get("pair"), root, name, (w, h), f"{path} target {name}") if "pair" in t else None
        targets.append(
            Target(name, str(t.get("source", "")), origin if origin in ORIGINS else "other", kp, image, pair)
        )
    return EvalSet(root, (h, w), targets, pairs_recorded)


def _read_photo(
    image_path: Path, size: tuple[int, int], what: str, fix: str = "rebuild the set"
) -> Image.Image:
    """A frame-sized RGB photo, or one line (missing, unreadable, too large, wrong size)."""
    try:
        with safety.open_image(image_path) as im:
            image = im.convert("RGB")
    except (OSError, Image.DecompressionBombError):
        raise UserError(f"{image_path}: {what} missing or unreadable; {fix}") from None
    if image.size != size:
        raise UserError(
            f"{image_path}: {what} {image.size[1]}x{image.size[0]}, expected {size[1]}x{size[0]}; {fix}"
        )
    return image


def _read_pair(raw: object, root: Path, name: str, size: tuple[int, int], where: str) -> Pair:
    """A target's held-out pair, checked like the rest: the photo's path is the target's own name,
    the recorded source name is only shown (and must be a plain file name)."""
    if not isinstance(raw, dict):
        raise UserError(f"{where}: pair is not an object with source and keypoints; rebuild the set")
    source = safety.safe_name(raw.get("source"), f"{where} pair")
    kp = normalise_keypoints(raw.get("keypoints"), f"{where} pair")
    return Pair(source, kp, _read_photo(root / "source" / f"{name}.png", size, "pair source photo"))
