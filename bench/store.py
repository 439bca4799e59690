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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-file", default="27062", help="comma-separated image counts (per-file store)")
    ap.add_argument("--sharded", default="27062,1000000", help="comma-separated image counts (shards)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tmp", default=None, help="work dir (default: a temp dir, removed after)")
    args = ap.parse_args()
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
