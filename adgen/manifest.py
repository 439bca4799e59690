"""Parquet manifests: one row per image, keyed by `image_id` (sha256 of the bytes).

Every stage reads one manifest and writes another; writes are atomic so a killed stage leaves the
last good manifest behind.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adgen import atomic

RAW_COLUMNS: dict[str, str] = {
    "image_id": "string",
    "shard": "string",  # the image store's shard holding the photo (adgen.store)
    "member": "string",  # its member there, `<image id>.<ext>` (a near duplicate's: the kept photo's)
    "site": "string",
    "query": "string",
    "source_url": "string",
    "page_url": "string",
    "title": "string",
    "license": "string",
    "width": "int64",
    "height": "int64",
    "format": "string",
    "bytes": "int64",
    "crawled_at": "datetime64[ns, UTC]",
}


def empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def read(path: str | Path, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Read a manifest; a missing file is an empty manifest with `columns`."""
    path = Path(path)
    if not path.exists():
        if columns is None:
            raise FileNotFoundError(path)
        return empty(columns)
    return pd.read_parquet(path)


def write(df: pd.DataFrame, path: str | Path) -> None:
    with atomic.atomic_path(path) as tmp:
        df.reset_index(drop=True).to_parquet(tmp, index=False)


def coerce(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Order and type the known columns; extra columns are kept after them."""
    out = df.copy()
    for name, dtype in columns.items():
        if name not in out.columns:
            out[name] = pd.Series(dtype=dtype, index=out.index)
        out[name] = out[name].astype(dtype)
    rest = [c for c in out.columns if c not in columns]
    return out[list(columns) + rest]
