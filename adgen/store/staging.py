"""A durable writer's staging file: one append-only file of records, one record per put.

    record  := MAGIC (4 bytes) | payload length (8, big-endian) | sha256 of the payload (32) | payload
    payload := key (64 ascii hex) | field count (1) | per field: name length (1) | data length (8) |
               name | data

`append` writes one record and fsyncs the file before it returns, so a caller may acknowledge the
sample (the crawl writes its journal line) only after its bytes are on disk. One process appends
to a file, one record after another: a kill mid-append (kill -9, a full disk) can tear only the
last record, which is then short, or its bytes do not hash to its checksum. `records` reads the
file front to back and stops at the first record that is not whole, dropping it and anything after
it: never packed, and nothing that was acknowledged is lost. A failed append is cut off again
(`ftruncate`), so the next append starts on a record boundary.

The packing writer reads a dead writer's file once, sequentially, and deletes one file — instead of
one small file per photo, whose unlinks were most of the crawl merge's cost.
"""

from __future__ import annotations

import errno
import hashlib
import os
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from adgen.store import layout

MAGIC = b"AGS1"
HEADER = struct.Struct(">4sQ32s")
FIELD = struct.Struct(">BQ")
KEY_BYTES = 64
FILE_NAME = "samples.staged"


@dataclass(frozen=True)
class Record:
    """Where one staged sample's payload lies (read back with `read`)."""

    path: Path
    offset: int  # of the payload
    size: int

    def read(self) -> dict[str, bytes]:
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            payload = fh.read(self.size)
        if len(payload) != self.size:
            raise OSError(f"{self.path}: staged record at {self.offset} is shorter than its header says")
        return decode(payload)[1]


def encode(key: str, fields: Mapping[str, bytes]) -> bytes:
    """One record (header + payload) for the sample `key` with `fields`."""
    parts = [key.encode("ascii"), bytes([len(fields)])]
    for name in sorted(fields):
        raw = name.encode("ascii")
        parts += [FIELD.pack(len(raw), len(fields[name])), raw, fields[name]]
    payload = b"".join(parts)
    return HEADER.pack(MAGIC, len(payload), hashlib.sha256(payload).digest()) + payload


def decode(payload: bytes) -> tuple[str, dict[str, bytes]]:
    """(key, {field: bytes}) of a payload whose checksum matched; ValueError if it is not the layout's."""
    key = payload[:KEY_BYTES].decode("ascii", "replace")
    if len(payload) < KEY_BYTES + 1 or not layout.KEY.fullmatch(key):
        raise ValueError("staged record without a key")
    count, at, fields = payload[KEY_BYTES], KEY_BYTES + 1, {}
    for _ in range(count):
        name_len, size = FIELD.unpack_from(payload, at)
        at += FIELD.size
        name = payload[at : at + name_len].decode("ascii", "replace")
        data = payload[at + name_len : at + name_len + size]
        at += name_len + size
        if not layout.FIELD.fullmatch(name) or len(data) != size:
            raise ValueError("staged record with a bad member")
        fields[name] = data
    if at != len(payload):
        raise ValueError("staged record longer than its members")
    return key, fields


def records(path: Path) -> Iterator[tuple[str, Record]]:
    """(key, record) of every whole record, in order; stops at the first torn or damaged one."""
    with open(path, "rb") as fh:
        offset = 0
        while True:
            head = fh.read(HEADER.size)
            if len(head) < HEADER.size:
                return  # end of file, or a header torn by a kill
            magic, size, digest = HEADER.unpack(head)
            payload = fh.read(size) if magic == MAGIC else b""
            if magic != MAGIC or len(payload) != size or hashlib.sha256(payload).digest() != digest:
                return  # a torn last record: dropped, with anything after it
            try:
                key, _ = decode(payload)
            except (ValueError, struct.error):
                return
            yield key, Record(path, offset + HEADER.size, size)
            offset += HEADER.size + size


class AppendFile:
    """A file written only by whole appends, each fsynced before it returns (a staging file, a
    crawl process's spool). A failed append is cut off again (`ftruncate`), so the next one starts
    where the last whole one ended; if it cannot be cut off, later appends are refused."""

    def __init__(self, path: Path, exclusive: bool = False):
        self.path = path
        created = exclusive or not path.exists()
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_EXCL if exclusive else 0)
        self._fd = os.open(path, flags, 0o644)
        self.size = os.fstat(self._fd).st_size
        self._broken = False
        if created:
            fsync_dir(path.parent)

    def append_bytes(self, data: bytes) -> int:
        """Append and fsync `data`; returns the offset it starts at."""
        if self._broken:
            raise OSError(errno.EIO, "a failed append could not be cut off; appends stopped", str(self.path))
        start = self.size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except BaseException:
            try:
                os.ftruncate(self._fd, start)  # O_APPEND: the next write starts here
            except OSError:
                self._broken = True  # later appends would follow a torn one: refuse them
            raise
        self.size = start + len(data)
        return start

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class StagingFile(AppendFile):
    """The append side: one per durable writer session, used under the writer's lock."""

    def append(self, key: str, fields: Mapping[str, bytes]) -> Record:
        """Append and fsync one record; on any error the file is cut back to its last whole record."""
        data = encode(key, fields)
        start = self.append_bytes(data)
        return Record(self.path, start + HEADER.size, len(data) - HEADER.size)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
