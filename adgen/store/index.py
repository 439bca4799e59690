"""The store's Parquet index: one row per shard member, so any image is one seek away.

Columns: image_id (the sample key), field (`jpg`, `json`, `person.png`, …), shard (file name under
`shards/`), member (`<image_id>.<field>`), offset and size (of the data inside the tar) and sha256
(of the data). The file's schema metadata says whether the store is content-addressed (the image
member's sha256 is its key), which `adgen store verify` checks.

The index is derived data: shards are renamed into place before the index that lists them is
written, so after any crash the shards are the truth and `reconcile` adds what the index lacks.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from adgen import atomic
from adgen.store import integrity, layout, shards
from adgen.store.integrity import StoreError

SCHEMA = pa.schema(
    [
        ("image_id", pa.string()),
        ("field", pa.string()),
        ("shard", pa.string()),
        ("member", pa.string()),
        ("offset", pa.int64()),
        ("size", pa.int64()),
        ("sha256", pa.string()),
    ]
)
META_KEY = b"adgen.store"


def empty() -> pa.Table:
    return SCHEMA.empty_table()


def read(path: Path) -> tuple[pa.Table, bool]:
    """(rows, content_addressed); a missing index is an empty one."""
    if not path.exists():
        return empty(), False
    try:
        table = pq.ParquetFile(path).read()  # not pq.read_table: that imports pandas (~1 s per process)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: store index unreadable ({_cut(exc)}); {REBUILD}") from None
    try:
        meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
        flagged = bool(meta.get("content_addressed", False)) if isinstance(meta, dict) else False
        return table.select(SCHEMA.names).cast(SCHEMA), flagged
    except (KeyError, ValueError, pa.ArrowException) as exc:  # valid Parquet, not the index's schema
        have = ", ".join(table.schema.names[:8])
        raise StoreError(
            f"{path}: not a store index (columns {have}; want {', '.join(SCHEMA.names)}: {_cut(exc)}); {REBUILD}"
        ) from None


REBUILD = "`adgen store verify --repair` rebuilds it from the shards"


def _cut(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def write(path: Path, table: pa.Table, content_addressed: bool) -> None:
    meta = {META_KEY: json.dumps({"content_addressed": content_addressed, "version": 1}).encode()}
    table = table.cast(SCHEMA).replace_schema_metadata(meta)
    with atomic.atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def rows(shard: str, members: Iterable[shards.Member]) -> pa.Table:
    ms = list(members)
    return pa.table(
        {
            "image_id": [m.key for m in ms],
            "field": [m.field for m in ms],
            "shard": [shard] * len(ms),
            "member": [layout.member(m.key, m.field) for m in ms],
            "offset": [m.offset for m in ms],
            "size": [m.size for m in ms],
            "sha256": [m.sha256 for m in ms],
        },
        schema=SCHEMA,
    )


def concat(tables: list[pa.Table]) -> pa.Table:
    tables = [t.cast(SCHEMA).replace_schema_metadata(None) for t in tables if t.num_rows]
    return pa.concat_tables(tables) if tables else empty()


def reconcile(root: Path, table: pa.Table) -> tuple[pa.Table, list[str]]:
    """Add rows for closed shards the index lacks (a writer killed between rename and index write).

    Returns the completed table and the shard names added. An index naming a shard that is gone
    means someone deleted data: that is refused with one line.
    """
    on_disk = {p.name: p for p in layout.shard_files(root)}
    listed = set(table.column("shard").to_pylist()) if table.num_rows else set()
    gone = sorted(listed - set(on_disk))
    if gone:
        raise StoreError(
            f"{root}: the index lists shard {gone[0]} (+{len(gone) - 1} more) that is not in "
            f"{root / layout.SHARDS}; the store is damaged, {integrity.HINT}"
        )
    added = sorted(set(on_disk) - listed)
    if not added:
        return table, []
    # One key, one row: a member the index (or an older unlisted shard) already holds is never
    # shadowed by a later copy (no sample is added for a key it holds); `adgen store verify` still names the extra one.
    seen = set(table.column("image_id").to_pylist())
    found = []
    for name in added:
        try:
            members = shards.members(on_disk[name])
        except (tarfile.TarError, OSError) as exc:
            raise StoreError(f"{on_disk[name]}: shard unreadable ({_cut(exc)}); {integrity.HINT}") from None
        fresh = [m for m in members if m.key not in seen]
        seen.update(m.key for m in members)
        found.append(rows(name, fresh))
    return concat([table, *found]), added
