"""A small project with every stage's output up to the strip, for the report's tests (hostile text included)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image

from adgen import config

HOSTILE_TITLE = '<script>document.title="pwned"</script>Bag <b>shoot</b>'
HOSTILE_LICENSE = "<img src=x onerror=alert(1)> royalty-free"


def photo_bytes(i: int) -> bytes:
    """Photo i as JPEG bytes (one wider than a laptop screen), the same bytes every call."""
    import io

    size = (1800, 1200) if i == 0 else (80, 120)
    buf = io.BytesIO()
    Image.new("RGB", size, (30 * i, 120, 160)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def image_id(i: int) -> str:
    """Photo i's id in the raw store: the sha256 of its bytes."""
    import hashlib

    return hashlib.sha256(photo_bytes(i)).hexdigest()


def build_project(root: Path, n: int = 6) -> config.Params:
    """Raw manifest (one hostile title/licence, one javascript: URL), filter decisions with boxes and
    masks, strip cut-outs, a rejects file: what `adgen report` reads after `dvc repro strip`."""
    import io

    from adgen.store.photos import store_photos

    (root / "params.yaml").write_text("report:\n  thumbnails: 8\n  thumb_px: 48\n")
    stored = store_photos(root / "data/raw/store", [(photo_bytes(i), "jpg") for i in range(n)])
    mask_buf = io.BytesIO()
    Image.new("L", (80, 120), 255).save(mask_buf, format="PNG")
    (mask,) = store_photos(root / "data/filtered/store", [(mask_buf.getvalue(), "png")])
    cut_buf = io.BytesIO()
    Image.new("RGBA", (40, 60), (200, 0, 0, 128)).save(cut_buf, format="PNG")
    (cut,) = store_photos(root / "data/stripped/store", [(cut_buf.getvalue(), "png")])  # strip's store
    rows, decisions, strips = [], [], []
    for i in range(n):
        iid, shard, member = stored[i]
        assert iid == image_id(i)
        rows.append(
            {
                "image_id": iid,
                "shard": shard,
                "member": member,
                "site": "123rf" if i % 2 else "getty",
                "source_url": "javascript:alert(1)" if i == 1 else f"https://stock.example/photo/{i}.jpg",
                "page_url": f"https://stock.example/page/{i}",
                "title": HOSTILE_TITLE if i == 0 else f"woman with bag {i}",
                "license": HOSTILE_LICENSE if i == 0 else "royalty-free",
            }
        )
        keep = i % 3 != 2
        decisions.append(
            {
                "image_id": iid,
                "shard": shard,
                "member": member,
                "person_box": [0.1, 0.05, 0.9, 0.95],
                "person_score": 0.91,
                "bag_box": [0.5, 0.4, 0.8, 0.7] if keep else None,
                "bag_score": 0.7 if keep else None,
                "keep": keep,
                "reason": "kept" if keep else "no_bag",
                "person_mask": mask[2] if keep else None,
            }
        )
        if keep:
            strips.append({"image_id": iid, "keep": i != 4, "reason": "kept" if i != 4 else "mask_too_small",
                           "person_rgba": cut[2], "person_white": cut[2]})  # fmt: skip
    (root / "data/filtered").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(root / "data/raw/manifest.parquet")
    pd.DataFrame(
        {"url": ["http://x/a.jpg", "http://x/b.jpg"], "reason": ["truncated", "too_small"]}
    ).to_parquet(root / "data/raw/rejects.parquet")
    pd.DataFrame(decisions).to_parquet(root / "data/filtered/manifest.parquet")
    pd.DataFrame(strips).to_parquet(root / "data/stripped/manifest.parquet")
    return config.load(root / "params.yaml")


def add_training_and_ads(root: Path) -> None:
    """A GFLA loss CSV with its `stage` column and a run's stats, an ST-GAN warp GIF, and a wide ads row."""
    import json

    import imageio.v2 as imageio
    import numpy as np

    from adgen.models.registry import models

    metrics = root / "metrics"
    metrics.mkdir(parents=True, exist_ok=True)
    spec = models()["gfla"]
    steps = list(range(0, 60, 3))
    frame = {"step": steps, "stage": [1 if s < 30 else 2 for s in steps]}
    frame.update({c: [10.0 ** (-s / 20) * (i + 1) for s in steps] for i, c in enumerate(spec.loss_columns)})
    pd.DataFrame(frame).to_csv(metrics / "gfla_loss.csv", index=False)
    (metrics / "gfla.json").write_text(json.dumps({"steps": 60, "ssim": 0.71}))
    run_dir = "data/models/gfla/" + "00000-gfla-" + "x" * 300  # a long unbroken value in a table cell
    (metrics / "gfla.info.json").write_text(json.dumps({"preset": "<b>tiny</b>", "run_dir": run_dir}))
    run = root / "data/models/gfla/00000-gfla-tiny"
    run.mkdir(parents=True, exist_ok=True)
    (run / "stats.jsonl").write_text("".join(json.dumps({"step": s, "stage": st}) + "\n"
                                             for s, st in zip(steps, frame["stage"], strict=True)))  # fmt: skip
    stgan = root / "data/models/stgan/00000-stgan-tiny"
    stgan.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(
        stgan / "warps.gif", [np.full((32, 32, 3), v, np.uint8) for v in (0, 128, 255)], duration=0.2
    )
    for seed in range(12):  # a row of many ads: must still fit the page
        folder = root / f"data/generated/pose--bag/{seed:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, colour in (
            ("person.png", (200, 0, 0)),
            ("reposed.png", (0, 200, 0)),
            ("ad.png", (0, 0, 200)),
        ):
            Image.new("RGB", (64, 128), colour).save(folder / name)
