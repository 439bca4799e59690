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

from adgen.progress import track
from adgen.store import index, layout, shards


@dataclass
class VerifyResult:
    shards: int = 0
    members: int = 0
    problems: list[str] = field(default_factory=list)
    unindexed: list[str] = field(default_factory=list)  # shards a killed writer left unlisted (harmless)


def verify(root: Path) -> VerifyResult:
    table, content_addressed = index.read(root / layout.INDEX)
    table, unindexed = index.reconcile(root, table)
    cols = [table.column(c).to_pylist() for c in ("shard", "member", "offset", "size", "sha256")]
    expected = {(s, m): (o, n, h) for s, m, o, n, h in zip(*cols, strict=True)}
    result = VerifyResult(unindexed=unindexed)
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
                if row is None:
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
        except (tarfile.TarError, OSError) as exc:
            result.problems.append(f"{path.name}: shard unreadable ({exc})")
    for shard, member in sorted(expected):
        result.problems.append(f"{shard}/{member}: in the index but not in the shard")
    return result
