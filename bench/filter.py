"""Benchmark: the filter stage (tf.data pipeline) vs the reference's per-image loop; memory vs image count.

Both sides use the same SavedModel — the FIXTURE detector (adgen.fixtures.detector: a real
SavedModel with the TF Hub object-detection signature, loaded through tensorflow_hub.load) — and the
same images: photos rendered by the fixture site (adgen.fixtures.site.synth, about 600x800 JPEG),
stored as a raw dataset (the image store's shards, adgen.store) in a temp directory.

1. Throughput on the same N images in one run:
   - per-image loop, as the reference did: PIL decode, one model call, next file;
   - the stage: `run_filter` (tf.data decode/shrink in parallel + prefetch, the keep rule, masks,
     part files, manifest, stats, contact sheet), with the default params (max_side 1024: these
     photos are not shrunk) and with the demo preset's max_side 512;
   - the model alone on photos decoded beforehand, calls back to back (from one thread, then two):
     the ceiling of any input pipeline, since only the model's own time is left.
2. Peak RSS (ru_maxrss) of the stage over 1,000 vs 4,000 images, each in a fresh subprocess
   (max_side 512 by default, to keep the run short on a small machine; photos past the first 2,000
   are copies with one pixel changed, so every image id is new).

Usage: .venv/bin/python bench/filter.py [--images 2000] [--rss 1000 4000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402

from adgen import config, manifest  # noqa: E402
from adgen.store import StoreReader, StoreWriter  # noqa: E402

UNIQUE = 2000  # distinct renders; beyond that, copies with one background pixel changed (new sha)


def make_dataset(root: Path, n: int) -> None:
    """Render n photos into root/data/raw (the image store + RAW_COLUMNS manifest)."""
    from adgen.fixtures.site import synth

    store = StoreWriter(root / "data/raw/store", label="bench", durable=False).open()
    rows = []
    cache: dict[int, np.ndarray] = {}
    for k in range(n):
        base = k % UNIQUE
        if base not in cache:
            cache[base] = np.asarray(synth.photo(0, base).image).copy()
        arr = cache[base]
        if k >= UNIQUE:
            arr = arr.copy()
            arr[0, 0] = (arr[0, 0].astype(int) + k // UNIQUE) % 256
        data = synth.encode_jpeg(Image.fromarray(arr))
        stored = store.put(data, "jpg")
        rows.append(
            {
                "image_id": stored.key,
                "site": "fixture",
                "query": "bench",
                "source_url": f"http://127.0.0.1/{k}.jpg",
                "page_url": "http://127.0.0.1/",
                "title": f"bench {k}",
                "license": "fixture",
                "width": arr.shape[1],
                "height": arr.shape[0],
                "format": "jpg",
                "bytes": len(data),
                "crawled_at": datetime(2026, 1, 1, tzinfo=UTC),
            }
        )
        if len(cache) > 64:
            cache.pop(next(iter(cache)))
    store.close()
    reader = StoreReader(root / "data/raw/store")
    for row in rows:
        row["shard"], row["member"] = reader.location(row["image_id"])
    manifest.write(
        manifest.coerce(pd.DataFrame(rows), manifest.RAW_COLUMNS), root / "data/raw/manifest.parquet"
    )


def project(root: Path, data: Path, model: Path, n: int, **detect: object) -> config.Params:
    """A project dir whose raw manifest is the first n rows of `data`'s (images shared via symlink)."""
    shutil.rmtree(root / "data/filtered", ignore_errors=True)  # a fresh run, never "up to date"
    (root / "data/raw").mkdir(parents=True, exist_ok=True)
    link = root / "data/raw/store"
    if not link.exists():
        link.symlink_to(data / "data/raw/store")
    raw = pd.read_parquet(data / "data/raw/manifest.parquet").head(n)
    manifest.write(raw, root / "data/raw/manifest.parquet")
    (root / "params.yaml").write_text(yaml.safe_dump({"detect": {"model": str(model), **detect}}))
    return config.load(root / "params.yaml")


def per_image_loop(model: Path, files: list[bytes]) -> float:
    """The reference's way: decode one photo with PIL, call the model once, apply the thresholds."""
    import tensorflow as tf

    from adgen.detect.model import load_detector

    detector = load_detector(model)
    t0 = time.perf_counter()
    kept = 0
    for f in files:
        img = np.asarray(Image.open(io.BytesIO(f)).convert("RGB"))
        out = detector(tf.convert_to_tensor(img[None]))
        scores = out["detection_scores"][0].numpy()
        classes = out["detection_classes"][0].numpy()
        person = (scores[classes == 1] >= 0.75).any()
        bag = (scores[np.isin(classes, (27, 31))] >= 0.30).any()
        kept += int(person and bag)
    return time.perf_counter() - t0


def model_alone(model: Path, files: list[bytes], callers: int = 1) -> float:
    """Seconds per image of the model by itself: photos decoded beforehand, calls back to back.

    No input pipeline can beat this on the same machine: it is the stage's ceiling. With
    `callers` > 1 the calls come from that many threads at once (does the model leave cores idle?).
    """
    from concurrent.futures import ThreadPoolExecutor

    import tensorflow as tf

    from adgen.detect.model import load_detector

    detector = load_detector(model)
    images = [tf.convert_to_tensor(np.asarray(Image.open(io.BytesIO(f)).convert("RGB"))[None]) for f in files]
    detector(images[0])  # trace/warm-up
    t0 = time.perf_counter()
    if callers == 1:
        for img in images:
            detector(img)
    else:
        with ThreadPoolExecutor(callers) as pool:
            list(pool.map(detector, images))
    return (time.perf_counter() - t0) / len(images)


def stage(params: config.Params) -> float:
    from adgen.detect.stage import run_filter

    t0 = time.perf_counter()
    result = run_filter(params)
    assert result.merged and result.processed == result.total
    return time.perf_counter() - t0


def peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: after a vfork+exec (how subprocess starts
    children) ru_maxrss keeps the parent's high-water mark, so every child would report the
    parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def rss_child(root: Path) -> None:
    """(subprocess) run the stage on the project at root; print peak RSS in MiB as JSON."""
    seconds = stage(config.load(root / "params.yaml"))
    print(json.dumps({"peak_rss_mib": peak_rss_mib(), "seconds": seconds}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--rss", type=int, nargs=2, default=[1000, 4000])
    ap.add_argument("--rss-max-side", type=int, default=512, help="max_side of the RSS runs (demo preset)")
    ap.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--reuse", type=Path, help="work dir of an earlier run: skip rendering")
    ap.add_argument("--skip-throughput", action="store_true", help="only the peak-RSS part")
    ap.add_argument(
        "--model-alone", type=int, default=200, help="photos for the model-alone ceiling (held in memory)"
    )
    args = ap.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return

    from adgen.fixtures import detector as fixture_detector

    work = args.reuse or Path(tempfile.mkdtemp(prefix="adgen-bench-filter-"))
    n_data = max(args.images, *args.rss)
    data = work / "data-src"
    model = work / "fixture-detector"
    if args.reuse is None:
        print(f"workdir {work}; rendering {n_data} fixture photos ...", flush=True)
        t0 = time.perf_counter()
        make_dataset(data, n_data)
        fixture_detector.build(model)
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)

    n = args.images
    from adgen.store.photos import Photos

    raw = pd.read_parquet(data / "data/raw/manifest.parquet").head(n)
    files = list(Photos(data / "data/raw/store").stream(raw))  # the photos' bytes, read up front
    rows = []
    if args.skip_throughput:
        return rss_table(work, data, model, args)
    loop_s = per_image_loop(model, files)
    rows.append(("per-image loop (PIL + 1 call/image)", loop_s))
    print(f"  loop: {loop_s:.1f} s", flush=True)
    stage_s = stage(project(work / "stage-1024", data, model, n))
    rows.append(("stage, default params (max_side 1024)", stage_s))
    print(f"  stage: {stage_s:.1f} s", flush=True)
    stage512_s = stage(project(work / "stage-512", data, model, n, max_side=512))
    rows.append(("stage, demo preset (max_side 512)", stage512_s))
    sample = files[: args.model_alone]
    alone_s = model_alone(model, sample) * n
    rows.append(("model alone, pre-decoded (the ceiling)", alone_s))
    rows.append(("model alone, 2 threads calling at once", model_alone(model, sample, callers=2) * n))

    print()
    print(f"Filter benchmark: FIXTURE detector SavedModel, {n} fixture photos (~600x800 JPEG), CPU")
    print(f"{'method':<42} {'seconds':>9} {'images/s':>9} {'vs loop':>8}")
    for name, s in rows:
        print(f"{name:<42} {s:>9.1f} {n / s:>9.2f} {loop_s / s:>7.2f}x")
    print(f"(model-alone rows: {len(sample)} photos, scaled to {n})")
    growth = rss_table(work, data, model, args)
    print(
        f"HEADLINE: stage {loop_s / stage_s:.2f}x the per-image loop at default params, against a "
        f"ceiling of {loop_s / alone_s:.2f}x (the model alone) ({loop_s / stage512_s:.2f}x with "
        f"max_side 512); peak RSS {args.rss[1]} vs {args.rss[0]} images: {growth:+.1%}"
    )


def rss_table(work: Path, data: Path, model: Path, args: argparse.Namespace) -> float:
    """Run the stage over each image count in a fresh subprocess; print peak RSS; return growth."""
    rss = {}
    for k in args.rss:
        root = work / f"rss-{k}"
        project(root, data, model, k, max_side=args.rss_max_side)
        out = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(root)], capture_output=True, text=True, check=True
        )
        rss[k] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  rss {k}: {rss[k]}", flush=True)
    print()
    print(f"{f'stage peak RSS (VmHWM, max_side {args.rss_max_side})':<42} {'images':>9} {'MiB':>9}")
    for k, r in rss.items():
        print(f"{'':<42} {k:>9} {r['peak_rss_mib']:>9.0f}")
    small, large = args.rss
    growth = rss[large]["peak_rss_mib"] / rss[small]["peak_rss_mib"] - 1
    if args.skip_throughput:
        print(f"HEADLINE: peak RSS {large} vs {small} images: {growth:+.1%}")
    return growth


if __name__ == "__main__":
    main()
