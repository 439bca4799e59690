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
    """A GFLA loss CSV with its `stage` column and a run's stats, an ST-GAN warp GIF, StyleGAN2 sample
    grids over ten steps, and a wide ads row."""
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
    sg = root / "data/models/stylegan2/00000-stylegan2-tiny"
    sg.mkdir(parents=True, exist_ok=True)
    for step in range(0, 1000, 100):  # sample grids over the steps: a strip of a few must fit the page
        Image.new("RGB", (640, 160), (step // 4, 90, 60)).save(sg / f"fakes-{step:09d}.png")
    for seed in range(12):  # a row of many ads: must still fit the page
        folder = root / f"data/generated/pose--bag/{seed:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, colour in (
            ("person.png", (200, 0, 0)),
            ("reposed.png", (0, 200, 0)),
            ("ad.png", (0, 0, 200)),
        ):
            Image.new("RGB", (64, 128), colour).save(folder / name)


def build_fixture_project(root: Path) -> config.Params:
    """Three of the fixture site's photos with their published truth, cut out and posed the way the
    strip and pose stages write them: one cut-out exact, one missing its lower half, one dropped by a
    gate; one pose exact, one shifted, one with no keypoint found. Truth named by strip/pose params."""
    import io
    import json

    import numpy as np

    from adgen.fixtures.site.synth import photo
    from adgen.store.photos import store_photos

    rendered = [photo(0, i) for i in (0, 6, 7)]
    blobs = []
    for r in rendered:
        buf = io.BytesIO()
        r.image.save(buf, format="JPEG", quality=90)
        blobs.append(buf.getvalue())
    stored = store_photos(root / "data/raw/store", [(b, "jpg") for b in blobs])
    ids = [s[0] for s in stored]
    truth = {"seed": 0, "images": {iid: r.truth for iid, r in zip(ids, rendered, strict=True)}}
    (root / "data/fixtures").mkdir(parents=True)
    (root / "data/fixtures/ground-truth.json").write_text(json.dumps(truth))
    gt = "data/fixtures/ground-truth.json"
    (root / "params.yaml").write_text(
        f"strip: {{ground_truth: {gt}}}\npose: {{ground_truth: {gt}}}\nreport:\n  thumb_px: 48\n"
    )
    raw, strips, poses = [], [], []
    for n, (iid, (_, shard, member), r) in enumerate(zip(ids, stored, rendered, strict=True)):
        raw.append(
            {"image_id": iid, "shard": shard, "member": member, "site": "profile", "title": f"photo {n}"}
        )
        mask = r.masks["person/0"] | r.masks["bag/0"]
        if n == 1:
            mask[mask.shape[0] // 2 :] = False  # the legs lost: a poor cut-out the gates let through
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        h, w = mask.shape
        rgba = np.dstack([np.asarray(r.image)[y0:y1, x0:x1], mask[y0:y1, x0:x1].astype(np.uint8) * 255])
        buf = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
        ((_, _, cut),) = store_photos(root / "data/stripped/store", [(buf.getvalue(), "png")])  # strip's store
        keep = n != 2
        strips.append({"image_id": iid, "keep": keep, "reason": "kept" if keep else "person_mask_holey",
                       "person_rgba": cut if keep else None, "crop_box": [x0 / w, y0 / h, x1 / w, y1 / h],
                       "bag_rgba": None, "bag_crop_box": None})  # fmt: skip
        kp = np.asarray(r.truth["people"][0]["keypoints"], dtype=np.float32)
        if n == 1:
            kp[:, 0] += 0.05  # every point 5% of the width to the right
        if n == 2:
            kp = np.tile(np.float32([-1, -1, 0]), (18, 1))  # nothing found
        poses.append({"image_id": iid, "source": "kept", "path": member, "width": w, "height": h,
                      "keypoints": kp.tolist(), "item_id": None, "gfla_name": None, "estimator": "t"})  # fmt: skip
    (root / "data/filtered").mkdir(parents=True, exist_ok=True)
    (root / "data/pose").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(raw).to_parquet(root / "data/raw/manifest.parquet")
    decisions = [
        {"image_id": i, "member": r["member"], "keep": True, "reason": "kept"}
        for i, r in zip(ids, raw, strict=True)
    ]
    pd.DataFrame(decisions).to_parquet(root / "data/filtered/manifest.parquet")
    pd.DataFrame(strips).to_parquet(root / "data/stripped/manifest.parquet")
    pd.DataFrame(poses).to_parquet(root / "data/pose/keypoints.parquet")
    params = config.load(root / "params.yaml")
    from adgen.fixtures.site.synth import truth_masks
    from adgen.matting.cli import report_fixture_iou

    scores = root / "data/stripped/fixture_scores.json"
    report_fixture_iou(params, root / gt, scores, truth_masks)  # as `adgen strip` does
    return params
