"""One shard: a plain USTAR tar of `<key>.<field>` members, written once and never again.

Headers are deterministic (mtime 0, uid/gid 0, mode 0644, samples sorted by key, fields sorted),
so the same samples always make the same bytes: a re-packed shard is byte-identical, and DVC sees
nothing new. Member data offsets are recorded at write time for random access by id.

Headers are built here, not by `tarfile` (the bytes `tarfile` writes for the same member, which a
test checks): its TarInfo machinery was a third of the crawl merge's time at 2,000 photos.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from adgen.store import layout

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE  # a tar's length is a whole number of records (tar -b20, as tarfile)
MAX_SIZE = 8**11 - 1  # the largest member a USTAR size field holds (8 GiB)
_IDS = b"0000644\x000000000\x000000000\x00"  # mode 0644, uid 0, gid 0
_MTIME = b"00000000000\x00"


@dataclass(frozen=True)
class Member:
    key: str
    field: str
    offset: int  # of the data, in bytes from the start of the shard
    size: int
    sha256: str


class Staged(Protocol):
    """A sample waiting on disk (a staging-file record, a spooled sample): its members on demand."""

    size: int

    def read(self) -> dict[str, bytes]: ...


# A sample's members; or where a durable writer staged them (a `Staged`), or (a writer from before
# the staging file) one small tar per sample.
Source = Mapping[str, bytes] | Staged | Path


def header(name: str, size: int) -> bytes:
    """The USTAR header block of a regular member `name` of `size` bytes, with the store's fixed
    fields (mode 0644, uid/gid 0, mtime 0, no owner names)."""
    raw = name.encode("ascii")
    if len(raw) > 100 or not 0 <= size <= MAX_SIZE:
        raise ValueError(f"{name!r} ({size} bytes) does not fit a USTAR header")
    block = bytearray(BLOCK)
    block[: len(raw)] = raw
    block[100:124] = _IDS
    block[124:136] = b"%011o\x00" % size
    block[136:148] = _MTIME
    block[148:156] = b"        "  # the checksum is summed with its own field as spaces
    block[156] = ord("0")  # a regular file
    block[257:265] = tarfile.POSIX_MAGIC
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


def padding(size: int) -> bytes:
    """The zeros after `size` bytes of member data, up to the next block."""
    return bytes(-size % BLOCK)


def member_bytes(name: str, data: bytes) -> list[bytes]:
    """Header, data and padding of one member: what a tar holds for it."""
    return [header(name, len(data)), data, padding(len(data))]


def end_of_archive(length: int) -> bytes:
    """What closes a tar of `length` bytes so far: two zero blocks, then zeros to a whole record."""
    length += 2 * BLOCK
    return bytes(2 * BLOCK + (-length % RECORD))


def sample_members(key: str, fields: Mapping[str, bytes], at: int) -> tuple[list[bytes], list[Member]]:
    """A sample's members in shard order (fields sorted) written from offset `at`: (bytes, index rows)."""
    parts: list[bytes] = []
    out: list[Member] = []
    for field in sorted(fields):
        data = fields[field]
        out.append(Member(key, field, at + BLOCK, len(data), hashlib.sha256(data).hexdigest()))
        parts += member_bytes(layout.member(key, field), data)
        at += BLOCK + len(data) + len(parts[-1])
    return parts, out


def unpack_sample(path: Path) -> dict[str, bytes]:
    """The members of a sample staged as one small tar (writers before the staging file did)."""
    out: dict[str, bytes] = {}
    for _, info, data in scan(path):
        parts = layout.split_member(info.name)
        if parts is not None:
            out[parts[1]] = data
    return out


def load(src: Source) -> Mapping[str, bytes]:
    """The members ({field: bytes}) of a sample, wherever they wait."""
    if isinstance(src, Path):
        return unpack_sample(src)
    if isinstance(src, Mapping):
        return src
    return src.read()


def write(path: Path, samples: Mapping[str, Source]) -> list[Member]:
    """Write `samples` ({key: members or where they are staged}) as a tar at `path`, fsynced."""
    members: list[Member] = []
    at = 0
    with open(path, "wb") as fh:
        for key in sorted(samples):
            parts, rows = sample_members(key, load(samples[key]), at)
            fh.writelines(parts)
            at += sum(len(p) for p in parts)
            members += rows
        fh.write(end_of_archive(at))
        fh.flush()
        os.fsync(fh.fileno())
    return members


def scan(path: Path) -> Iterator[tuple[str | None, tarfile.TarInfo, bytes]]:
    """Every regular member of a shard in order: (key or None if the name is not the layout's)."""
    with tarfile.open(path, mode="r:") as tar:
        for info in tar:
            if not info.isreg():
                yield None, info, b""
                continue
            fh = tar.extractfile(info)
            data = fh.read() if fh is not None else b""
            parts = layout.split_member(info.name)
            yield (parts[0] if parts else None), info, data


def members(path: Path) -> list[Member]:
    """Index rows of a closed shard read back from its headers (for a shard the index lacks)."""
    out = []
    for key, info, data in scan(path):
        parts = layout.split_member(info.name)
        if key is None or parts is None:
            continue
        out.append(Member(key, parts[1], info.offset_data, info.size, hashlib.sha256(data).hexdigest()))
    return out


def read_at(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(size)
    if len(data) != size:
        raise OSError(f"{path}: shard is shorter than its index says (member at {offset}+{size})")
    return data


def samples(path: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {field: bytes}) for each sample, in shard order (consecutive members share a key)."""
    current: str | None = None
    fields: dict[str, bytes] = {}
    for key, info, data in scan(path):
        parts = layout.split_member(info.name)
        if key is None or parts is None:
            continue
        if key != current and current is not None:
            yield current, fields
            fields = {}
        current = key
        fields[parts[1]] = data
    if current is not None:
        yield current, fields
