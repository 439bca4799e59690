"""Issue 27: `adgen store verify --repair` puts good bytes back, from a real DVC cache and remote.

A git + DVC project whose raw store's shards are DVC-tracked and pushed to a local-directory remote;
a shard gets a flipped byte. With the cache, the repair copies the cached shard back; without it,
it fetches the shard from the remote first; with neither it restores nothing and lists the lost
photo with its source URL (exit 1). An index of another schema is rebuilt from the shards.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from adgen import manifest
from adgen.store import index, layout
from adgen.store.photos import store_photos
from adgen.store.verify import verify

from .conftest import adgen

RAW = "data/raw/store"
ENV = {"DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip


def _run(root: Path, *cmd: str) -> None:
    subprocess.run(cmd, cwd=root, env={**os.environ, **ENV}, check=True, capture_output=True)


def _jpeg(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (80 * i, 100, 200)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw store (3 photos, one shard) with manifest; shards tracked by DVC and pushed to a remote."""
    tmp_path = tmp_path_factory.mktemp("repair")
    root = tmp_path / "project"
    root.mkdir()
    rows = store_photos(root / RAW, [(_jpeg(i), "jpg") for i in range(3)], label="test")
    df = pd.DataFrame(
        [
            {"image_id": k, "shard": s, "member": m, "source_url": f"http://site/{i}.jpg"}
            for i, (k, s, m) in enumerate(rows)
        ]
    ).assign(width=8, height=8, bytes=1)
    manifest.write(manifest.coerce(df, manifest.RAW_COLUMNS), root / "data/raw/manifest.parquet")
    (root / "params.yaml").write_text("{}\n")
    _run(root, "git", "init", "-q")
    dvc = (sys.executable, "-m", "dvc")
    _run(root, *dvc, "init", "-q")
    _run(root, *dvc, "remote", "add", "-d", "local", str(tmp_path / "remote"))
    _run(root, *dvc, "add", "-q", f"{RAW}/shards")
    _run(root, *dvc, "push", "-q")
    return root


@pytest.fixture
def project(pushed: Path, tmp_path: Path) -> Path:
    """A copy of the pushed project (its remote is the one they share, only read)."""
    root = tmp_path / "project"
    shutil.copytree(pushed, root, symlinks=True)
    return root


def _flip(root: Path) -> tuple[Path, bytes, str]:
    (row,) = [r for r in pq.read_table(root / RAW / layout.INDEX).to_pylist() if r["field"] == "jpg"][:1]
    shard = root / RAW / layout.SHARDS / row["shard"]
    good = shard.read_bytes()
    data = bytearray(good)
    data[row["offset"] + row["size"] // 2] ^= 0x01
    shard.unlink()  # as a bad copy would: a new file (the cache keeps its own)
    shard.write_bytes(bytes(data))
    return shard, good, row["member"]


def _repair(root: Path) -> subprocess.CompletedProcess:
    return adgen("store", "verify", "--repair", "--store", RAW, cwd=root, env=ENV)


@pytest.mark.parametrize("where", ["cache", "remote"])
def test_repair_restores_a_damaged_shard_from_dvc(project: Path, where: str) -> None:
    shard, good, member = _flip(project)
    assert any(member in p for p in verify(project / RAW).problems)
    if where == "remote":
        shutil.rmtree(project / ".dvc/cache")
    proc = _repair(project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"restored {shard.name} (from the DVC {where})" in proc.stderr, proc.stderr
    assert shard.read_bytes() == good and verify(project / RAW).problems == []


def test_repair_without_a_good_copy_lists_what_to_crawl_again(project: Path, tmp_path: Path) -> None:
    shard, _, member = _flip(project)
    shutil.rmtree(project / ".dvc/cache")
    config = project / ".dvc/config"  # a remote that lost the shard too
    (tmp_path / "empty-remote").mkdir()
    lines = [f"    url = {tmp_path / 'empty-remote'}" if ln.strip().startswith("url") else ln
             for ln in config.read_text().splitlines()]  # fmt: skip
    config.write_text("\n".join(lines) + "\n")
    proc = _repair(project)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lost = [line for line in proc.stdout.splitlines() if "lost:" in line]
    assert len(lost) == 1 and f"{shard.name}/{member}" in lost[0] and "http://site/" in lost[0], proc.stdout


def test_repair_rebuilds_an_index_of_another_schema(project: Path) -> None:
    before = index.read(project / RAW / layout.INDEX)
    pq.write_table(pa.table({"a": [1]}), project / RAW / layout.INDEX)
    proc = _repair(project)
    assert proc.returncode == 0 and "index rebuilt" in proc.stderr, proc.stdout + proc.stderr
    after = index.read(project / RAW / layout.INDEX)
    assert after[0].to_pylist() == before[0].to_pylist() and after[1] == before[1] is True
    assert verify(project / RAW).problems == []
