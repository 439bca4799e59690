"""One shard: a plain USTAR tar of `<key>.<field>` members, written once and never again.

Headers are deterministic (mtime 0, uid/gid 0, mode 0644, samples sorted by key, fields sorted),
so the same samples always make the same bytes: a re-packed shard is byte-identical, and DVC sees
nothing new. Member data offsets are recorded at write time for random access by id.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from adgen.store import layout, staging

BLOCK = tarfile.BLOCKSIZE


@dataclass(frozen=True)
class Member:
    key: str
    field: str
    offset: int  # of the data, in bytes from the start of the shard
    size: int
    sha256: str


# A sample's members; or where a durable writer staged them: a record of its staging file, or (a
# writer from before the staging file) one small tar per sample.
Source = Mapping[str, bytes] | staging.Record | Path


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> int:
    """Append one member with deterministic headers; returns its data offset."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    header_at = tar.offset
    tar.addfile(info, io.BytesIO(data))
    return header_at + BLOCK


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
    if isinstance(src, staging.Record):
        return src.read()
    return unpack_sample(src) if isinstance(src, Path) else src


def write(path: Path, samples: Mapping[str, Source]) -> list[Member]:
    """Write `samples` ({key: members or where they are staged}) as a tar at `path`, fsynced."""
    members: list[Member] = []
    with open(path, "wb") as fh:
        with tarfile.open(fileobj=fh, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for key in sorted(samples):
                src = samples[key]
                fields = load(src)
                for field in sorted(fields):
                    data = fields[field]
                    offset = _add(tar, layout.member(key, field), data)
                    members.append(Member(key, field, offset, len(data), hashlib.sha256(data).hexdigest()))
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
