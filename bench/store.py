"""Benchmark: DVC on a per-file image store vs the sharded store (adgen.store), at 27k and 1M images.

For each case a temp git + DVC repo holds a two-stage pipeline (`crawl` → `filter`) whose crawl
output is the raw image store: per-file (`data/raw/images/ab/<sha256>.jpg`, one DVC-tracked file per
image, as before) or sharded (`data/raw/store/shards/*.tar` + `index.parquet`). After one real
`dvc repro` (which hashes and caches everything) it times what every day costs:
- a no-op `dvc repro` and `dvc status` (median of `--repeats` runs),
- `dvc push` of the store to an empty local-directory remote (the stand-in for S3/GCS) vs `cp -r`
  of the same bytes into an empty dir, alternated `--repeats` times (push/cp is the median of the
  pairs' ratios: the machine's drift hits both of a pair alike), and a refresh: 1 % new images
  appended, then `dvc push` of what changed.

Images are small real JPEGs (one 16x16 photo with a unique JPEG comment each, ~0.8 KB), so hashing
is not the cost, as in the issue's 27k-image demo workspace. A per-file store of 1M images is
slow to build and check here (about 0.2-0.3 ms per file per DVC command); it runs only with
`--per-file 1000000`. Not a test: prints a table; the last line is the headline.

    .venv/bin/python bench/store.py [--per-file 27062] [--sharded 27062,1000000] [--repeats 3]

`--reads N` measures instead what checked reads cost (adgen.store.integrity: every member read is
hashed against its key): the filter and strip stages over N photos, each with the check on and off,
alternated `--repeats` times in the same process, and the same reads alone (every photo, and for
strip its two masks, streamed in store order) on and off. The cost is the reads' checked-minus-
unchecked time over the stage's time; the whole-stage pairs are printed too, but on a shared
machine their difference is noise. Photos are the fixture site's renders (JPEGs of ~20-40 KB),
the detector the fixture SavedModel.

    .venv/bin/python bench/store.py --reads 400 [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adgen.store import StoreWriter  # noqa: E402

ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@x",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@x"}  # fmt: skip
DVC = [sys.executable, "-m", "dvc"]


def _base_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (180, 120, 60)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


BASE = _base_jpeg()


def image(i: int) -> bytes:
    """A valid JPEG, unique per i: a COM segment right after SOI."""
    payload = f"synthetic image {i:09d}".encode()
    return BASE[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + BASE[2:]


def run(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def build_per_file(out: Path, start: int, n: int) -> None:
    for i in range(start, start + n):
        data = image(i)
        iid = hashlib.sha256(data).hexdigest()
        d = out / iid[:2]
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{iid}.jpg").write_bytes(data)


def build_sharded(store: Path, start: int, n: int) -> float:
    t0 = time.perf_counter()
    with StoreWriter(store, label="bench", durable=False) as w:
        for i in range(start, start + n):
            w.put(image(i), "jpg", {"n": i})
    return n / (time.perf_counter() - t0)


def dvc_yaml(outs: list[str]) -> str:
    listed = "\n".join(f"      - {o}:\n          persist: true" for o in outs)
    deps = "\n".join(f"      - {o}" for o in outs)
    return (
        "stages:\n  crawl:\n    cmd: python -c pass\n    outs:\n" + listed + "\n"
        "  filter:\n    cmd: python -c \"open('filtered.txt','w').write('x')\"\n    deps:\n" + deps + "\n"
        "    outs:\n      - filtered.txt\n"
    )


def case(layout: str, n: int, repeats: int, tmp: Path) -> dict[str, object]:
    repo = tmp / f"{layout}-{n}"
    repo.mkdir()
    run(["git", "init", "-q"], repo)
    run([*DVC, "init", "-q"], repo)
    run([*DVC, "remote", "add", "-d", "local", str(tmp / f"remote-{layout}-{n}")], repo)
    t0 = time.perf_counter()
    if layout == "per-file":
        outs, data_dir = ["data/raw/images"], repo / "data/raw/images"
        build_per_file(data_dir, 0, n)
        files = n
    else:
        outs, data_dir = ["data/raw/store/shards", "data/raw/store/index.parquet"], repo / "data/raw/store"
        build_sharded(data_dir, 0, n)
        files = len(list((data_dir / "shards").iterdir())) + 1
    build_s = time.perf_counter() - t0
    (repo / "dvc.yaml").write_text(dvc_yaml(outs))
    first = run([*DVC, "repro", "-q"], repo)
    noop = statistics.median(run([*DVC, "repro", "-q"], repo) for _ in range(repeats))
    status = statistics.median(run([*DVC, "status", "-q"], repo) for _ in range(repeats))
    remote, copy_dir = tmp / f"remote-{layout}-{n}", tmp / f"copy-{layout}-{n}"
    pairs = []
    for _ in range(repeats):
        shutil.rmtree(remote, ignore_errors=True)  # each push uploads everything again
        shutil.rmtree(copy_dir, ignore_errors=True)
        pushed = run([*DVC, "push", "-q"], repo)
        uploaded = sum(1 for p in remote.rglob("*") if p.is_file())
        if uploaded < files:
            raise SystemExit(f"dvc push uploaded {uploaded} files of {files}: the timing would be wrong")
        pairs.append((pushed, run(["cp", "-r", str(data_dir), str(copy_dir)], repo)))
    push = statistics.median(p for p, _ in pairs)
    copy = statistics.median(c for _, c in pairs)
    ratio = statistics.median(p / max(c, 1e-9) for p, c in pairs)
    size = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
    # A 1 % refresh: new images appended, the pipeline re-run, what changed pushed.
    extra = max(1, n // 100)
    if layout == "per-file":
        build_per_file(data_dir, n, extra)
    else:
        build_sharded(data_dir, n, extra)
    run([*DVC, "commit", "-f", "-q", "crawl"], repo)
    refresh_push = run([*DVC, "push", "-q"], repo)
    shutil.rmtree(tmp / f"copy-{layout}-{n}", ignore_errors=True)
    return {
        "layout": layout,
        "images": n,
        "files": files,
        "mb": size / 1e6,
        "build": build_s,
        "first": first,
        "noop": noop,
        "status": status,
        "push": push,
        "cp": copy,
        "ratio": ratio,
        "refresh_push": refresh_push,
    }


def _bench_module(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reads(n: int, repeats: int, tmp: Path) -> None:
    """Filter, strip and a plain read of n photos with and without the read check; prints a table."""
    import pandas as pd

    from adgen import config
    from adgen.detect.stage import run_filter
    from adgen.fixtures import detector
    from adgen.matting.strip import strip
    from adgen.store import integrity
    from adgen.store.photos import Photos

    bench_filter, bench_strip = _bench_module("filter"), _bench_module("strip")
    model = detector.build(tmp / "detector")
    data = tmp / "data"
    bench_filter.make_dataset(data, n)
    strip_root = tmp / "strip"
    bench_strip.build_project(strip_root, n, seed=7)
    strip_params = config.from_dict({"strip": {"backend": "detector"}}, root=strip_root)

    def filter_once() -> float:
        p = bench_filter.project(tmp / "filter", data, model, n)
        t0 = time.perf_counter()
        assert run_filter(p).processed == n
        return time.perf_counter() - t0

    def strip_once() -> float:
        shutil.rmtree(strip_root / "data/stripped", ignore_errors=True)
        t0 = time.perf_counter()
        strip(strip_params, force=True)
        return time.perf_counter() - t0

    raw = pd.read_parquet(data / "data/raw/manifest.parquet")
    filtered = pd.read_parquet(strip_root / "data/filtered/manifest.parquet")
    filter_reads = [(Photos(data / "data/raw/store"), raw)]
    masks = Photos(strip_root / "data/filtered/store")
    strip_reads = [  # what strip reads: each photo and its two detector masks
        (Photos(strip_root / "data/raw/store"), filtered),
        (masks, filtered[["person_mask"]].rename(columns={"person_mask": "member"})),
        (masks, filtered[["bag_mask"]].dropna().rename(columns={"bag_mask": "member"})),
    ]

    def reading(reads: list) -> Callable[[], float]:
        """Stream exactly what a stage reads (store order), as it does: the check's own cost."""
        ordered = [(photos, photos.in_store_order(rows)) for photos, rows in reads]

        def once() -> float:
            t0 = time.perf_counter()
            assert sum(len(b) for photos, rows in ordered for b in photos.stream(rows)) > 0
            return time.perf_counter() - t0

        return once

    def alternate(fn: Callable[[], float]) -> tuple[float, float, float]:
        """(median checked, median unchecked, median of the pairs' differences)."""
        fn()  # warm-up: model load, page cache
        on, off = [], []
        for _ in range(repeats):
            for verify, times in ((True, on), (False, off)):
                integrity.VERIFY_READS = verify
                times.append(fn())
        integrity.VERIFY_READS = True
        return (
            statistics.median(on),
            statistics.median(off),
            statistics.median(a - b for a, b in zip(on, off, strict=True)),
        )

    results = []
    for name, count, stage_fn, reads_fn in [
        ("filter", n, filter_once, reading(filter_reads)),
        ("strip", len(filtered), strip_once, reading(strip_reads)),
    ]:
        r_on, r_off, r_diff = alternate(reads_fn)
        s_on, s_off, s_diff = alternate(stage_fn)
        results.append((name, count, s_on, s_off, s_diff, r_on, r_off, r_diff))
        print(f"    {results[-1]}", file=sys.stderr, flush=True)
    print(
        f"{'stage':<7} {'photos':>6} {'checked s':>10} {'unchecked s':>12} {'pair diff':>10} "
        f"{'read chk s':>11} {'read s':>7} {'hashing s':>10} {'hashing/stage':>14}"
    )
    share = {}
    for name, count, s_on, s_off, s_diff, r_on, r_off, r_diff in results:
        share[name] = r_diff / s_off
        print(
            f"{name:<7} {count:>6} {s_on:>10.2f} {s_off:>12.2f} {s_diff / s_off:>+10.1%} {r_on:>11.3f} "
            f"{r_off:>7.3f} {r_diff:>10.3f} {share[name]:>14.2%}"
        )
    print(
        "  pair diff: whole stage checked minus unchecked, median of alternated pairs (this machine's noise);"
        " hashing: the same reads streamed alone, checked minus unchecked"
    )
    print(
        f"headline: checked reads cost {share['filter']:.2%} of the filter and {share['strip']:.2%} of strip "
        f"(sha256 of every member read; whole-stage pairs differ by {results[0][4] / results[0][3]:+.1%} and "
        f"{results[1][4] / results[1][3]:+.1%}, within noise)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-file", default="27062", help="comma-separated image counts (per-file store)")
    ap.add_argument("--sharded", default="27062,1000000", help="comma-separated image counts (shards)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tmp", default=None, help="work dir (default: a temp dir, removed after)")
    ap.add_argument(
        "--reads", type=int, default=0, help="measure checked reads over this many photos instead"
    )
    args = ap.parse_args()
    if args.reads:
        with tempfile.TemporaryDirectory(prefix="adgen-bench-reads-", dir=args.tmp) as tmp:
            reads(args.reads, args.repeats, Path(tmp))
        return
    plan = [("per-file", int(n)) for n in args.per_file.split(",") if n] + [
        ("sharded", int(n)) for n in args.sharded.split(",") if n
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="adgen-bench-store-", dir=args.tmp) as tmp:
        empty = Path(tmp) / "empty"
        empty.mkdir()
        run(["git", "init", "-q"], empty)
        run([*DVC, "init", "-q"], empty)
        floor = statistics.median(run([*DVC, "status", "-q"], empty) for _ in range(args.repeats))
        for layout, n in plan:
            print(f"... {layout} {n:,} images", file=sys.stderr, flush=True)
            rows.append(case(layout, n, args.repeats, Path(tmp)))
            print(f"    {rows[-1]}", file=sys.stderr, flush=True)  # kept if a later case runs out of time
            shutil.rmtree(Path(tmp) / f"{layout}-{n}", ignore_errors=True)
            shutil.rmtree(Path(tmp) / f"remote-{layout}-{n}", ignore_errors=True)
    head = (
        f"{'layout':<9} {'images':>9} {'files':>7} {'MB':>7} {'build s':>8} {'1st repro':>9} "
        f"{'no-op repro':>11} {'status':>7} {'push':>7} {'cp -r':>7} {'push/cp':>7} {'(push-s)/cp':>11} "
        f"{'1% push':>8}"
    )
    print(
        f"DVC's own start-up here: `dvc status` in an empty repo takes {floor:.2f} s (in every figure below)"
    )
    print(head)
    print("  (push-s)/cp: the push less DVC's start-up s, which no layout of the data can remove")
    for r in rows:
        print(
            f"{r['layout']:<9} {r['images']:>9,} {r['files']:>7,} {r['mb']:>7.1f} {r['build']:>8.1f} "
            f"{r['first']:>9.1f} {r['noop']:>11.2f} {r['status']:>7.2f} {r['push']:>7.2f} {r['cp']:>7.2f} "
            f"{r['ratio']:>7.1f} {(r['push'] - floor) / max(r['cp'], 1e-9):>11.1f} {r['refresh_push']:>8.2f}"
        )
    per_file = [r for r in rows if r["layout"] == "per-file"]
    sharded = [r for r in rows if r["layout"] == "sharded"]
    if per_file and sharded:
        pf, big = per_file[0], max(sharded, key=lambda r: r["images"])
        print(
            f"headline: no-op dvc repro {big['noop']:.1f} s at {big['images']:,} images in shards "
            f"vs {pf['noop']:.1f} s at {pf['images']:,} per-file images; dvc push "
            f"{big['ratio']:.1f}x cp -r (per-file: {pf['ratio']:.1f}x)"
        )


if __name__ == "__main__":
    main()
