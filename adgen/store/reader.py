"""Reading a store: one image by id (a seek into its shard), or all of them shard by shard.

Random access is for the few (a contact sheet's thumbnails, a dataset's picks); stages that walk
every image stream the shards in order, so a store of millions never needs millions of opens.
A shard that the index does not list yet (a writer killed between its two renames) is read from
its tar headers, so readers and shards always agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adgen.errors import UserError
from adgen.store import index, integrity, layout, shards


@dataclass(frozen=True)
class Sample:
    key: str
    shard: str
    fields: dict[str, bytes]

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads(self.fields.get(layout.META_FIELD, b"{}") or b"{}")

    def data(self, field: str | None = None) -> bytes:
        """The member `field`, or the sample's only data member when None."""
        if field is None:
            data_fields = [f for f in self.fields if f != layout.META_FIELD]
            if len(data_fields) != 1:
                raise KeyError(f"{self.key}: sample has members {sorted(data_fields)}; name one")
            field = data_fields[0]
        return self.fields[field]


class StoreReader:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        table, self.content_addressed = index.read(self.root / layout.INDEX)
        self.table, self.unindexed = index.reconcile(self.root, table)
        self._where: dict[tuple[str, str], tuple[str, int, int]] | None = None
        self._fields: dict[str, list[str]] | None = None
        self._digests: dict[tuple[str, str], str] = {}

    def _lookup(self) -> dict[tuple[str, str], tuple[str, int, int]]:
        if self._where is None:
            t = self.table
            cols = [
                t.column(c).to_pylist() for c in ("image_id", "field", "shard", "offset", "size", "sha256")
            ]
            where: dict[tuple[str, str], tuple[str, int, int]] = {}
            digests: dict[tuple[str, str], str] = {}
            fields: dict[str, list[str]] = {}
            for k, f, s, o, n, h in zip(*cols, strict=True):
                if (k, f) in where:
                    continue  # one key, one row: the first (an index never holds two; see reconcile)
                where[(k, f)] = (s, o, n)
                # an image's key is its sha256; other members are checked against the index
                digests[(k, f)] = k if self.content_addressed and f != layout.META_FIELD else h
                fields.setdefault(k, []).append(f)
            self._where, self._digests, self._fields = where, digests, fields
        return self._where

    def keys(self) -> list[str]:
        self._lookup()
        assert self._fields is not None
        return list(self._fields)

    def __contains__(self, key: object) -> bool:
        self._lookup()
        assert self._fields is not None
        return key in self._fields

    def __len__(self) -> int:
        self._lookup()
        assert self._fields is not None
        return len(self._fields)

    def fields(self, key: str) -> list[str]:
        """The data members of `key` (not its json)."""
        self._lookup()
        assert self._fields is not None
        return sorted(f for f in self._fields.get(key, []) if f != layout.META_FIELD)

    def _main_field(self, key: str) -> str:
        data_fields = self.fields(key)
        if len(data_fields) != 1:
            if not data_fields:
                raise KeyError(f"{key} is not in the store at {self.root}")
            raise KeyError(f"{key}: sample has members {data_fields}; name one")
        return data_fields[0]

    def where(self, key: str, field: str) -> tuple[str, int, int]:
        """(shard, offset, size) of one member; KeyError when the store does not hold it."""
        return self._lookup()[(key, field)]

    def location(self, key: str, field: str | None = None) -> tuple[str, str]:
        """(shard, member) of `key`'s data member: what manifests record instead of a path."""
        field = field or self._main_field(key)
        shard, _, _ = self._lookup()[(key, field)]
        return shard, layout.member(key, field)

    def get(self, key: str, field: str | None = None) -> bytes:
        """The bytes of one member, read with one seek and checked (KeyError when absent,
        `StoreError` when the shard does not hold what the index says)."""
        field = field or self._main_field(key)
        try:
            shard, offset, size = self._lookup()[(key, field)]
        except KeyError:
            raise KeyError(f"{layout.member(key, field)} is not in the store at {self.root}") from None
        return self.read(key, field, shard, offset, size)

    def read(self, key: str, field: str, shard: str, offset: int, size: int) -> bytes:
        """The member at (shard, offset, size), as `where` gave it, checked against its digest."""
        return integrity.read(
            self.root, shard, layout.member(key, field), offset, size, self.digest(key, field)
        )

    def digest(self, key: str, field: str) -> str:
        """The sha256 a member's bytes must have."""
        self._lookup()
        return self._digests[(key, field)]

    def meta(self, key: str) -> dict[str, Any]:
        return json.loads(self.get(key, layout.META_FIELD))

    def shards(self) -> list[str]:
        return [p.name for p in layout.shard_files(self.root)]

    def stream(self, keys: Iterable[str] | None = None) -> Iterator[Sample]:
        """Samples shard by shard in order (oldest first), only `keys` when given; each shard read
        front to back once."""
        wanted = None if keys is None else set(keys)
        if wanted is not None:
            missing = wanted - set(self.keys())
            if missing:
                raise UserError(
                    f"{self.root}: {len(missing)} image(s) are not in the store, e.g. {sorted(missing)[0]}; "
                    "re-run the stage that writes them"
                )
            by_shard = set(
                s
                for k, s in zip(
                    *(self.table.column(c).to_pylist() for c in ("image_id", "shard")), strict=True
                )
                if k in wanted
            )
        lookup = self._lookup()
        for path in layout.shard_files(self.root):
            if wanted is not None and path.name not in by_shard:
                continue
            for key, fields in shards.samples(path):
                if wanted is not None and key not in wanted:
                    continue
                # a sample the index places in another shard (an extra shard repeating a key) is not read
                if any(lookup.get((key, f), ("",))[0] != path.name for f in fields):
                    continue
                for f, data in fields.items():
                    size, member = lookup[(key, f)][2], layout.member(key, f)
                    integrity.check(data, size, self._digests[(key, f)], self.root, path.name, member)
                yield Sample(key, path.name, fields)
