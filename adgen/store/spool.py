"""A crawl process's open shard: each photo appended to a tar as it arrives, fsynced, and later
linked into `shards/` whole by the next packing writer.

The crawl's Scrapy processes used to append photos to a staging file that the stage's merge read
back and wrote again as shards: every byte written twice, and the merge (a serial step after all
sites finish) cost 0.9-1.4 s per 2,000 photos against 0.2 s before the store. A spool is already the
shard: the merge only links the file into `shards/` and adds the index rows the process recorded.

In a staging-only writer's staging dir:

    <shard name>            the tar, in arrival order; end-of-archive written once finished
    <shard name>.members    written atomically after the finished tar is fsynced: its length and
                            index rows. Its presence means the tar is whole and checked.

A spool without `.members` belongs to a writer that died. `recover` reads it front to back and
keeps each sample whose members are all whole, whose json member parses and whose one image member
hashes to its key (spools are content-addressed); at the first sample that is not, it cuts the
file there and finishes it. A put returns only after its sample is fsynced, so every acknowledged
photo is kept and nothing torn is packed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adgen import atomic
from adgen.store import layout, shards
from adgen.store.staging import AppendFile

MEMBERS = ".members"


def members_file(path: Path) -> Path:
    return path.with_name(path.name + MEMBERS)


class Spool(AppendFile):
    """The append side: one open tar per staging-only writer, used under the writer's lock."""

    def __init__(self, path: Path):
        super().__init__(path, exclusive=True)
        self.members: list[shards.Member] = []

    def append(self, key: str, fields: Mapping[str, bytes]) -> None:
        """Append and fsync one sample (its image member must hash to `key`); on any error the file
        is cut back to its last whole sample."""
        parts, rows = shards.sample_members(key, fields, self.size)
        _check_content(key, {m.field: m.sha256 for m in rows})
        self.append_bytes(b"".join(parts))
        self.members += rows

    def finish(self) -> None:
        """Close the tar (end-of-archive, fsync) and record its index rows beside it."""
        if self._fd < 0:
            return
        self.append_bytes(shards.end_of_archive(self.size))
        self.close()
        _write_members(self.path, self.size, self.members)


@dataclass(frozen=True)
class Spooled:
    """One sample of a spool, read back on demand (when the merge must leave others out)."""

    path: Path
    members: tuple[shards.Member, ...]

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)

    def read(self) -> dict[str, bytes]:
        return {m.field: shards.read_at(self.path, m.offset, m.size) for m in self.members}


def samples(path: Path, members: list[shards.Member]) -> dict[str, Spooled]:
    """{key: its spooled sample} of a recovered spool."""
    grouped: dict[str, list[shards.Member]] = {}
    for m in members:
        grouped.setdefault(m.key, []).append(m)
    return {key: Spooled(path, tuple(ms)) for key, ms in grouped.items()}


def recover(path: Path) -> list[shards.Member]:
    """The index rows of a spool, finishing it first if its writer died before it could.

    A finished spool is hashed again against the rows it recorded before it is linked into the
    store: bytes that changed since (a flipped bit on the disk) are cut off with everything after
    them, as a dead writer's torn tail is; the crawl's merge leaves their photos out and the next
    crawl fetches them again."""
    recorded = _read_members(path)
    if recorded is not None:
        rows = _still_whole(path, recorded)
        if len(rows) == len(recorded):
            return recorded
        last = rows[-1] if rows else None
        end = last.offset + last.size + len(shards.padding(last.size)) if last else 0
    else:
        rows, end = _scan(path)
    tail = shards.end_of_archive(end)
    with open(path, "r+b") as fh:
        fh.truncate(end)
        fh.seek(end)
        fh.write(tail)
        fh.flush()
        os.fsync(fh.fileno())
    _write_members(path, end + len(tail), rows)
    return rows


def _check_content(key: str, digests: Mapping[str, str]) -> None:
    data = [field for field in digests if field != layout.META_FIELD]
    if len(data) != 1 or digests[data[0]] != key:
        raise ValueError(f"{key}: a spooled sample needs one image member whose sha256 is its key")


def _write_members(path: Path, length: int, rows: list[shards.Member]) -> None:
    body = {"length": length, "members": [[m.key, m.field, m.offset, m.size, m.sha256] for m in rows]}
    with atomic.atomic_path(members_file(path)) as tmp:
        tmp.write_text(json.dumps(body))


def _read_members(path: Path) -> list[shards.Member] | None:
    """The recorded rows, when the record is whole, in the layout and inside the tar; else None
    (the tar is then read instead)."""
    try:
        body = json.loads(members_file(path).read_text())
        length = body["length"]
        if length != path.stat().st_size:
            return None
        rows = [shards.Member(k, f, int(o), int(n), s) for k, f, o, n, s in body["members"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    at = 0  # the rows must be the tar's members, one after another, and then its end
    for m in rows:
        if layout.split_member(layout.member(m.key, m.field)) != (m.key, m.field):
            return None
        if m.offset != at + shards.BLOCK or m.size < 0 or not layout.KEY.fullmatch(m.sha256):
            return None
        at = m.offset + m.size + len(shards.padding(m.size))
    if at + len(shards.end_of_archive(at)) != length:
        return None
    with open(path, "rb") as fh:
        fh.seek(at)
        if fh.read(shards.BLOCK) != bytes(shards.BLOCK):
            return None
    return rows


def _still_whole(path: Path, rows: list[shards.Member]) -> list[shards.Member]:
    """The recorded rows of the samples, from the start, whose bytes still hash to what was
    recorded (and whose image still hashes to its key)."""
    good: list[shards.Member] = []
    with open(path, "rb") as fh:
        for _, group in itertools.groupby(rows, key=lambda m: m.key):
            sample = list(group)
            digests = {}
            for m in sample:
                fh.seek(m.offset)
                digests[m.field] = hashlib.sha256(fh.read(m.size)).hexdigest()
            try:
                _check_content(sample[0].key, digests)
            except ValueError:
                return good
            if any(digests[m.field] != m.sha256 for m in sample):
                return good
            good += sample
    return good


def _scan(path: Path) -> tuple[list[shards.Member], int]:
    """(rows of the whole, checked samples from the start, the offset where they end)."""
    good: list[shards.Member] = []
    end = 0
    group: list[tuple[shards.Member, bytes]] = []
    with open(path, "rb") as fh:
        at = 0
        while True:
            block = fh.read(shards.BLOCK)
            if len(block) < shards.BLOCK or block.count(0) == shards.BLOCK:
                break  # the end, a torn header, or the end-of-archive of a finished tar
            try:
                info = tarfile.TarInfo.frombuf(block, "ascii", "strict")
            except (tarfile.HeaderError, UnicodeDecodeError):
                break
            parts = layout.split_member(info.name)
            if parts is None or not info.isreg():
                break
            if group and group[0][0].key != parts[0]:  # the sample before this member is complete
                rows = _whole(group)
                group = []
                if rows is None:
                    break
                good += rows
                end = at
            data = fh.read(info.size)
            pad = fh.read(-info.size % shards.BLOCK)
            if len(data) != info.size or len(pad) != -info.size % shards.BLOCK:
                group = []  # a member torn by the kill: its sample is dropped
                break
            member = shards.Member(parts[0], parts[1], at + shards.BLOCK, info.size, "")
            group.append((member, data))
            at += shards.BLOCK + info.size + len(pad)
        rows = _whole(group) if group else None
        if rows is not None:
            good += rows
            end = at
    return good, end


def _whole(group: list[tuple[shards.Member, bytes]]) -> list[shards.Member] | None:
    """A spooled sample's index rows (with their digests) when it is whole: its json parses and
    its image hashes to its key; else None."""
    key = group[0][0].key
    digests = {m.field: hashlib.sha256(data).hexdigest() for m, data in group}
    if len(digests) != len(group) or layout.META_FIELD not in digests:
        return None
    try:
        _check_content(key, digests)
        meta = json.loads(dict((m.field, d) for m, d in group)[layout.META_FIELD])
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    return [shards.Member(m.key, m.field, m.offset, m.size, digests[m.field]) for m, _ in group]
