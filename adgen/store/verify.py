"""`adgen store verify`: every member's bytes against the index, and against its id.

Reads each shard front to back once. A problem is one line naming the shard and member, so a
damaged shard (a flipped bit on a disk, a bad copy from a remote) is found before a stage trains on
it; `dvc pull`/`dvc checkout` of that shard is the fix.
"""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from adgen.progress import track
from adgen.store import index, layout, shards
from adgen.store.integrity import StoreError


@dataclass
class VerifyResult:
    shards: int = 0
    members: int = 0
    problems: list[str] = field(default_factory=list)
    unindexed: list[str] = field(default_factory=list)  # shards a killed writer left unlisted (harmless)
    damaged: set[str] = field(default_factory=set)  # shards to restore (`adgen store verify --repair`)
    index_unreadable: bool = False


def verify(root: Path) -> VerifyResult:
    result = VerifyResult()
    try:
        table, content_addressed = index.read(root / layout.INDEX)
    except StoreError as exc:  # not Parquet, or Parquet of another schema: one line, nothing else to check
        result.problems.append(str(exc))
        result.index_unreadable = True
        return result
    on_disk = {p.name for p in layout.shard_files(root)}
    listed = table.column("shard").to_pylist()
    for name in sorted(set(listed) - on_disk):
        result.problems.append(f"{name}: in the index but missing from {root / layout.SHARDS}")
        result.damaged.add(name)
    table = table.filter(pa.array([s in on_disk for s in listed], pa.bool_()))
    try:
        table, result.unindexed = index.reconcile(root, table)
    except StoreError:  # an unlisted shard that cannot be read: the scan below names it
        pass
    cols = [table.column(c).to_pylist() for c in ("shard", "member", "offset", "size", "sha256")]
    expected = {(s, m): (o, n, h) for s, m, o, n, h in zip(*cols, strict=True)}
    indexed_in = dict(zip(table.column("member").to_pylist(), cols[0], strict=True))
    files = layout.shard_files(root)
    for path in track(files, "verify shards", total=len(files)):
        result.shards += 1
        try:
            for key, info, data in shards.scan(path):
                result.members += 1
                where = f"{path.name}/{info.name}"
                if key is None:
                    result.problems.append(f"{where}: not a member name of the store's layout")
                    continue
                row = expected.pop((path.name, info.name), None)
                digest = hashlib.sha256(data).hexdigest()
                issues = []
                if row is None and info.name in indexed_in:
                    issues.append(f"repeats a member of {indexed_in[info.name]} (readers ignore this copy)")
                elif row is None:
                    issues.append("not in the index")
                else:
                    offset, size, sha = row
                    if digest != sha:
                        issues.append(f"bytes hash to {digest[:16]}…, the index says {sha[:16]}…")
                    if (info.offset_data, info.size) != (offset, size):
                        issues.append(f"at {info.offset_data}+{info.size}, the index says {offset}+{size}")
                field_name = info.name.partition(".")[2]
                if content_addressed and field_name != layout.META_FIELD and digest != key:
                    issues.append(f"bytes hash to {digest[:16]}…, not to its id")
                if issues:
                    result.problems.append(f"{where}: {'; '.join(issues)}")
                    result.damaged.add(path.name)
        except (tarfile.TarError, OSError) as exc:
            result.problems.append(f"{path.name}: shard unreadable ({exc})")
            result.damaged.add(path.name)
    for shard, member in sorted(expected):
        result.problems.append(f"{shard}/{member}: in the index but not in the shard")
        result.damaged.add(shard)
    return result
