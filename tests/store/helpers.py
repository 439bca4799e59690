"""Small real images and per-file stores for the store tests."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from PIL import Image


def jpeg(i: int, size: int = 16) -> bytes:
    """A distinct small JPEG per `i`."""
    img = Image.new("RGB", (size, size), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256))
    img.putpixel((i % size, (i // size) % size), (255 - (i % 256), i % 7, 3))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, comment=f"image {i}".encode())
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_adgen(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adgen.cli", "--params", str(root / "params.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def per_file_store(root: Path, n: int) -> tuple[pd.DataFrame, dict[str, bytes]]:
    """data/raw/images/ab/<id>.jpg + a raw manifest as the crawl wrote them before shards, with
    one near-duplicate row that points at another row's file (as merge writes them)."""
    images: dict[str, bytes] = {}
    rows = []
    for i in range(n):
        data = jpeg(i)
        iid = sha(data)
        path = root / "data/raw/images" / iid[:2] / f"{iid}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        images[iid] = data
        rows.append(
            {
                "image_id": iid,
                "path": path.relative_to(root).as_posix(),
                "site": "123rf",
                "query": "woman with handbag",
                "source_url": f"http://127.0.0.1/img/{i}.jpg",
                "width": 16,
                "height": 16,
                "format": "JPEG",
                "bytes": len(data),
                "crawled_at": pd.Timestamp("2026-12-01T10:00:00Z"),
                "duplicate_of": None,
            }
        )
    near = dict(
        rows[1],
        image_id="f" * 64,
        source_url="http://127.0.0.1/img/near.jpg",
        duplicate_of=rows[1]["image_id"],
    )
    rows.append(near)
    df = pd.DataFrame(rows)
    df.to_parquet(root / "data/raw/manifest.parquet", index=False)
    return df, images


def raw_store_agrees_with_manifest(root: Path) -> None:
    """Every manifest row's member is in the raw store with bytes that hash to its id, every stored
    photo is listed, no writer's staging is left and `adgen store verify` finds nothing."""
    from adgen.store import StoreReader, layout
    from adgen.store.verify import verify

    store = root / "data/raw/store"
    m = pd.read_parquet(root / "data/raw/manifest.parquet")
    reader = StoreReader(store)
    assert set(reader.keys()) == set(m["image_id"])  # no orphan, nothing missing
    for row in m.to_dict("records"):
        key, _, _ = row["member"].partition(".")
        assert key == (row["duplicate_of"] if isinstance(row["duplicate_of"], str) else row["image_id"])
        assert reader.location(key) == (row["shard"], row["member"])
    assert verify(store).problems == []
    staging = store / layout.STAGING
    assert not staging.is_dir() or not list(staging.iterdir())
