"""A tiny DeepFashion In-shop folder in the real layout, with GFLA's 256x176 CSVs (typo'd names)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from adgen.pose.openpose import coco17_to_openpose18
from tests.matting.scenes import draw_person

ITEMS = [
    ("WOMEN", "Blouses_Shirts", "id_00000001"),
    ("MEN", "Denim", "id_00000002"),
    ("WOMEN", "Dresses", "id_00000003"),
]
VIEWS = ["1_front", "2_side", "3_back"]


def build_deepfashion(root: Path, with_csvs: bool = True) -> dict[str, np.ndarray]:
    """Write img/<G>/<cat>/<id>/NN_K_view.jpg (176x256 people on white) -> {gfla_name: [18,3] truth}."""
    from adgen.deepfashion import gfla_name

    truth, item_of = {}, {}
    for n, (gender, cat, item) in enumerate(ITEMS):
        for v, view in enumerate(VIEWS):
            sc = draw_person(w=176, h=256, seed=10 * n + v, bag=None, dx=0.04 * (v - 1))
            fname = f"{v + 1:02d}_{view}.jpg"
            p = root / "img" / gender / cat / item / fname
            p.parent.mkdir(parents=True, exist_ok=True)
            sc.image.save(p, "JPEG", quality=95, subsampling=0)
            truth[gfla_name(gender, cat, item, fname)] = coco17_to_openpose18(sc.coco)
            item_of[gfla_name(gender, cat, item, fname)] = item
    if with_csvs:
        names = sorted(truth)
        test_names = [n for n in names if "id00000003" in n]
        for split in ("train", "test"):
            chosen = [n for n in names if (n in test_names) == (split == "test")]
            lines = ["name:keypoints_y:keypoints_x"]
            for name in chosen:
                kp = truth[name]
                ys = [int(y * 256) if c > 0 else -1 for x, y, c in kp]
                xs = [int(x * 176) if c > 0 else -1 for x, y, c in kp]
                lines.append(f"{name}:{json.dumps(ys)}:{json.dumps(xs)}")
            (root / f"fasion-resize-annotation-{split}.csv").write_text("\n".join(lines) + "\n")
            pairs = [(a, b) for a in chosen for b in chosen if a != b and item_of[a] == item_of[b]]
            (root / f"fasion-resize-pairs-{split}.csv").write_text(
                "from,to\n" + "".join(f"{a},{b}\n" for a, b in pairs)
            )
    return truth
