"""`adgen store verify --repair`: put good bytes back where the store lost them, or say what is lost.

A shard is written once and never changed, so any good copy of it is byte-identical: the DVC cache
(or, after `dvc fetch`, the DVC remote) holds the copy the last `dvc repro`/`dvc add` recorded, and a
crawl process's spool that was not linked yet holds its own. A candidate is used only when every
member the index places in that shard hashes to what it must (its key, for an image), and it
replaces the damaged file by rename: the damaged file is never written into (with DVC's hardlink
cache type it may be the cache's own copy). An index that is not the store's is rebuilt from the
shards. Members no copy holds are listed: for the raw store with their source URLs, to crawl again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import yaml

from adgen.store import index, integrity, layout, shards, staging
from adgen.store.integrity import StoreError


@dataclass
class RepairResult:
    restored: list[str] = field(default_factory=list)  # "<shard> (from <where>)"
    rebuilt_index: bool = False
    lost: list[str] = field(default_factory=list)  # members no copy holds


def rebuild_index(root: Path) -> None:
    """A new index from the shards' own headers: the first copy of a key wins (oldest shard first);
    content-addressed when every image member hashes to its key."""
    tables, seen, addressed = [], set(), None
    for path in layout.shard_files(root):
        try:
            members = shards.members(path)
        except (OSError, tarfile.TarError) as exc:
            raise StoreError(
                f"{path}: shard unreadable ({exc}); restore it before rebuilding the index"
            ) from None
        fresh = [m for m in members if m.key not in seen]
        seen.update(m.key for m in fresh)
        for m in fresh:
            if m.field != layout.META_FIELD:
                addressed = (addressed is not False) and m.sha256 == m.key
        tables.append(index.rows(path.name, fresh))
    index.write(root / layout.INDEX, index.concat(tables), bool(addressed))


def _rows_of(root: Path, shard: str) -> list[dict]:
    table, addressed = index.read(root / layout.INDEX)
    mask = pa.array([s == shard for s in table.column("shard").to_pylist()], pa.bool_())
    rows = table.filter(mask).to_pylist()
    for r in rows:
        if addressed and r["field"] != layout.META_FIELD:
            r["sha256"] = r["image_id"]
    return rows


def bad_members(path: Path, rows: list[dict]) -> list[str]:
    """The members of `rows` that `path` does not hold as they were written."""
    bad = []
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except OSError:
        return [r["member"] for r in rows]
    with fh:
        for r in rows:
            fh.seek(r["offset"])
            data = fh.read(r["size"])
            try:
                integrity.check(data, r["size"], r["sha256"], path.parent.parent, path.name, r["member"])
            except StoreError:
                bad.append(r["member"])
    return bad


def _put_back(good: Path, final: Path) -> None:
    """Copy `good` over `final` by rename (never writing into the damaged file), fsynced."""
    tmp = final.with_name(f".{final.name}.repair")
    with open(good, "rb") as src, open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, final)
    staging.fsync_dir(final.parent)


class DvcCopies:
    """Good copies of a store's shards in the DVC cache, fetched from the remote when missing."""

    def __init__(self, project: Path):
        self.project = project
        self._cache: Path | None = None
        self.fetched: set[str] = set()
        self.notes: list[str] = []

    def cache(self) -> Path:
        if self._cache is None:
            out = self._dvc("cache", "dir")
            self._cache = (
                Path(out.stdout.strip())
                if out.returncode == 0 and out.stdout.strip()
                else (self.project / ".dvc" / "cache")
            )
        return self._cache

    def _dvc(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
        return subprocess.run(
            [sys.executable, "-m", "dvc", *args], cwd=self.project, env=env, capture_output=True, text=True
        )

    def _file(self, md5: str) -> Path | None:
        for path in (self.cache() / "files" / "md5" / md5[:2] / md5[2:], self.cache() / md5[:2] / md5[2:]):
            if path.is_file():
                return path
        return None

    def records(self, shard: Path) -> Iterator[tuple[Path, str]]:
        """(tracked dir, its `.dir` md5) of every DVC record (dvc.lock, a .dvc file) of a dir
        holding `shard`."""
        shard = shard.resolve()
        outs: list[tuple[Path, dict]] = []
        lock = self.project / "dvc.lock"
        if lock.is_file():
            stages = (yaml.safe_load(lock.read_text()) or {}).get("stages") or {}
            for stage in stages.values():
                outs += [(self.project, o) for o in (stage or {}).get("outs") or []]
        for parent in [p for p in shard.parents if p.is_relative_to(self.project.resolve())]:
            dvc_file = parent.parent / f"{parent.name}.dvc"
            if dvc_file.is_file():
                outs += [
                    (dvc_file.parent, o)
                    for o in (yaml.safe_load(dvc_file.read_text()) or {}).get("outs") or []
                ]
        for base, out in outs:
            md5, path = str(out.get("md5") or ""), out.get("path")
            if not md5.endswith(".dir") or not isinstance(path, str):
                continue
            tracked = (base / path).resolve()
            if shard.is_relative_to(tracked):
                yield tracked, md5

    def copy_of(self, shard: Path) -> Iterator[tuple[Path, str]]:
        """Cached copies of `shard` (fetching the record's files from the remote once if needed)."""
        for tracked, dir_md5 in self.records(shard):
            rel = shard.resolve().relative_to(tracked).as_posix()
            for attempt in (0, 1):
                found = self._lookup(dir_md5, rel)
                if found is not None:
                    yield found, f"the DVC {'remote' if attempt else 'cache'}"
                    break
                if attempt or tracked in self.fetched:
                    break
                self.fetched.add(tracked)
                target = os.path.relpath(tracked, self.project.resolve())
                out = self._dvc("fetch", "-q", target)
                if out.returncode != 0:
                    self.notes.append(
                        f"dvc fetch {target}: {(out.stderr.strip().splitlines() or ['failed'])[-1][:200]}"
                    )

    def _lookup(self, dir_md5: str, rel: str) -> Path | None:
        listing = self._file(dir_md5)
        if listing is None:
            return None
        try:
            entries = json.loads(listing.read_text())
        except (OSError, ValueError):
            return None
        for e in entries if isinstance(entries, list) else []:
            if isinstance(e, dict) and e.get("relpath") == rel and isinstance(e.get("md5"), str):
                return self._file(e["md5"])
        return None


def _spool_copies(root: Path, name: str) -> Iterator[tuple[Path, str]]:
    staging_root = root / layout.STAGING
    for path in sorted(staging_root.glob(f"*/{name}")) if staging_root.is_dir() else []:
        yield path, "a crawl spool"


def repair(root: Path, damaged: set[str], dvc: DvcCopies | None, sources: dict[str, str]) -> RepairResult:
    """Restore each damaged shard of the store at `root` from the first good copy; list the rest.
    `sources`: image id → source URL (the raw manifest's), for what must be crawled again."""
    result = RepairResult()
    for name in sorted(damaged):
        final = root / layout.SHARDS / name
        rows = _rows_of(root, name)
        if not rows:  # a shard only repeating indexed keys: readers ignore it; nothing to restore
            continue
        candidates = list(_spool_copies(root, name))
        restored = False
        for path, where in [*candidates, *(dvc.copy_of(final) if dvc is not None else [])]:
            if not bad_members(path, rows):
                _put_back(path, final)
                result.restored.append(f"{name} (from {where})")
                restored = True
                break
        if not restored:
            for member in bad_members(final, rows):
                key = member.partition(".")[0]
                url = sources.get(key)
                result.lost.append(f"{name}/{member}" + (f" {url}" if url else ""))
    return result
