"""Strip throughput per backend on the same synthetic fixture photos: images/s and peak memory.

    .venv/bin/python bench/strip.py [--n 500] [--seed 5]

Builds a throwaway project with N keepable fixture-site photos (JPEG as served) and a filtered
manifest whose instance masks are what a Mask R-CNN gives: each true mask squeezed into a 33x33
grid over its box and stretched back. Each backend then runs `adgen.matting.strip.strip` on the same
photos in its own process (so peak RSS is that backend's). rembg runs only when it is installed and
its model file is present. Prints a table; the last line is the headline ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def coarse(mask, size: int = 33):
    import cv2
    import numpy as np

    ys, xs = np.nonzero(mask)
    out = np.zeros(mask.shape, bool)
    if len(xs) == 0:
        return out
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    grid = cv2.resize(mask[y0:y1, x0:x1].astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    out[y0:y1, x0:x1] = cv2.resize(grid, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) >= 0.5
    return out


def build_project(root: Path, n: int, seed: int) -> None:
    import pandas as pd

    from adgen.fixtures.site import synth
    from adgen.store.photos import store_photos
    from tests.matting.fixture_pipeline import kept_indices
    from tests.matting.scenes import store_masks

    rows = []
    for i in kept_indices(seed, n):
        r = synth.photo(seed, i)
        ((image_id, shard, member),) = store_photos(
            root / "data/raw/store", [(synth.encode_jpeg(r.image), "jpg")]
        )
        carried = [j for j, b in enumerate(r.truth["bags"]) if b.get("carried_by") == 0]
        pm, bm = store_masks(
            root, image_id, coarse(r.masks["person/0"]), coarse(r.masks[f"bag/{carried[0]}"])
        )
        rows.append({
            "image_id": image_id, "shard": shard, "member": member, "site": "fixture",
            "license": "fixture", "person_box": r.truth["people"][0]["box"], "bag_box": r.truth["bags"][carried[0]]["box"],
            "bag_class": r.truth["bags"][carried[0]]["class"], "person_mask": pm,
            "bag_mask": bm, "keep": True, "reason": "kept",
        })  # fmt: skip
    (root / "data/filtered").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(root / "data/filtered/manifest.parquet")


def run_backend(root: Path, backend: str) -> dict:
    """Child process: strip with one backend; report time and own peak RSS."""
    from adgen import config
    from adgen.matting.strip import strip

    p = config.from_dict(
        {"strip": {"backend": backend}, "paths": {"stripped": f"data/stripped-{backend}"}}, root=root
    )
    t = time.perf_counter()
    r = strip(p, force=True)
    dt = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    import pandas as pd

    reasons = pd.read_parquet(r.manifest_path, columns=["reason"])["reason"].value_counts().to_dict()
    return {
        "backend": backend, "images": r.n_input, "kept": r.n_kept, "seconds": dt, "peak_rss_mb": peak_mb,
        "drops": {k: int(v) for k, v in reasons.items() if k != "kept"},
    }  # fmt: skip


def rembg_available() -> str | None:
    try:
        import rembg  # noqa: F401
    except ImportError:
        return "rembg not installed (pip install 'adgen[matting]')"
    from adgen.matting.rembg_backend import model_path

    return None if model_path().is_file() else f"model file {model_path()} missing"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--child", nargs=2, metavar=("ROOT", "BACKEND"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_backend(Path(a.child[0]), a.child[1])))
        return
    with tempfile.TemporaryDirectory(prefix="adgen-bench-strip-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        build_project(root, a.n, a.seed)
        print(
            f"built {a.n} fixture photos + Mask R-CNN-sized masks in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        results = []
        for backend in ("detector", "grabcut", "rembg"):
            if backend == "rembg" and (why := rembg_available()):
                print(f"rembg: skipped ({why})")
                continue
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(root), backend],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"{backend}: done", flush=True)
    print(
        f"\n{'backend':<10} {'images':>7} {'kept':>6} {'seconds':>9} {'images/s':>9} {'peak RSS MB':>12}  drops"
    )
    for r in results:
        print(
            f"{r['backend']:<10} {r['images']:>7} {r['kept']:>6} {r['seconds']:>9.1f} "
            f"{r['images'] / r['seconds']:>9.2f} {r['peak_rss_mb']:>12.0f}  {r['drops'] or ''}"
        )
    by = {r["backend"]: r["images"] / r["seconds"] for r in results}
    if "detector" in by and "grabcut" in by:
        print(
            f"detector masks (+ GrabCut edge refinement) run at {by['detector'] / by['grabcut']:.2f}x GrabCut's speed"
        )


if __name__ == "__main__":
    main()
