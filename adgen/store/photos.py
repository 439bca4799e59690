"""A manifest's photos, read through the image store: never through a path built by hand.

Manifest rows name their photo by `shard` and `member` (`<image id>.<ext>`, WebDataset's member
name); a near-duplicate's row names the kept photo's member, as its `path` used to. Stages that
walk many photos sort the rows into store order first (`in_store_order`), so every shard is read
front to back once; a contact sheet or a single cut-out reads one member with one seek.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from adgen.errors import UserError
from adgen.store import integrity, layout
from adgen.store.reader import StoreReader
from adgen.store.writer import StoreWriter

LOCATION_COLUMNS = ("shard", "member")


class Photos:
    """The photos of one store (e.g. the raw store), looked up by a manifest row's `member`."""

    def __init__(self, root: str | Path, where: str = "manifest"):
        self.root = Path(root)
        self.where = where
        self._reader: StoreReader | None = None

    @property
    def reader(self) -> StoreReader:
        if self._reader is None:
            self._reader = StoreReader(self.root)
        return self._reader

    def check(self, rows: pd.DataFrame, column: str = "member", required: bool = True) -> None:
        """One line for a manifest from before the store, or one whose members are not the layout's."""
        if column not in rows.columns:
            if not required:
                return
            if "path" in rows.columns:
                raise UserError(
                    f"{self.where}: names per-file images (a `path` column); run `adgen store migrate` once"
                )
            raise UserError(f"{self.where}: no `{column}` column; re-run the stage that wrote it")
        for value in rows[column]:
            if not isinstance(value, str) and pd.isna(value):
                continue
            self.key_field(value, column)

    def key_field(self, member: object, column: str = "member") -> tuple[str, str]:
        parts = layout.split_member(member) if isinstance(member, str) else None
        if parts is None:
            raise UserError(
                f"{self.where}: {column} {member!r} is not `<sha256>.<ext>`; the manifest was edited or "
                "damaged, re-run the stage that wrote it"
            )
        return parts

    def _where(self, member: object) -> tuple[str, int, int]:
        key, field = self.key_field(member)
        reader = self.reader  # an unreadable index is its own error, not a missing photo
        try:
            return reader.where(key, field)
        except KeyError:
            raise UserError(
                f"{self.where}: {member} is not in the image store at {self.root}; "
                "restore it (dvc pull / dvc checkout) or re-run the stage that writes it"
            ) from None

    def read(self, row: Mapping[str, Any]) -> bytes:
        """The bytes of a row's photo."""
        return self.get(row["member"])

    def get(self, member: object) -> bytes:
        """The bytes of one member (`<key>.<field>`), read with one seek."""
        key, field = self.key_field(member)
        shard, offset, size = self._where(member)
        return self.reader.read(key, field, shard, offset, size)

    def image(self, member: object) -> StoredImage:
        """A handle on one member that dataset builders open when they need its pixels."""
        self.key_field(member)
        return StoredImage(self, str(member))

    def in_store_order(self, rows: pd.DataFrame) -> pd.DataFrame:
        """`rows` sorted by (shard, offset) of their photo: the order `stream` reads fastest."""
        where = [self._where(m) for m in rows["member"]]
        order = sorted(range(len(rows)), key=lambda i: (where[i][0], where[i][1], i))
        return rows.iloc[order]

    def stream(self, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> Iterator[bytes]:
        """The bytes of each row's photo, in the rows' order, keeping one shard open at a time;
        each checked against its key (a `StoreError` when the store is damaged)."""
        records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
        current: tuple[str, Any] | None = None
        try:
            for row in records:
                key, field = self.key_field(row["member"])
                shard, offset, size = self._where(row["member"])
                if current is None or current[0] != shard:
                    if current is not None:
                        current[1].close()
                    current = (shard, integrity.open_shard(self.root, shard, row["member"]))
                fh = current[1]
                try:
                    fh.seek(offset)
                    data = fh.read(size)
                except OSError as exc:
                    raise integrity.damaged(
                        self.root, shard, row["member"], f"cannot be read ({exc})"
                    ) from None
                yield integrity.check(
                    data, size, self.reader.digest(key, field), self.root, shard, row["member"]
                )
        finally:
            if current is not None:
                current[1].close()


@dataclass(frozen=True)
class StoredImage:
    """One image in a store, read on demand: what readers hold instead of a path."""

    photos: Photos
    member: str

    def read(self) -> bytes:
        return self.photos.get(self.member)

    def __str__(self) -> str:
        return f"{self.photos.root}/{self.member}"


ImageSource = Path | StoredImage  # a file (DeepFashion, a user's pose photo) or a stored image


def openable(source: ImageSource) -> Path | IO[bytes]:
    """What `PIL.Image.open` / `adgen.safety.open_image` takes, for a file or a stored image."""
    return io.BytesIO(source.read()) if isinstance(source, StoredImage) else source


def store_photos(
    root: str | Path, photos: Sequence[tuple[bytes, str]], *, label: str = "store", **limits: Any
) -> list[tuple[str, str, str]]:
    """Add photos ((bytes, ext) each) to the store at `root`; (image_id, shard, member) for each.

    For tools and tests that build a raw store without crawling (fixtures, benchmarks).
    """
    with StoreWriter(root, label=label, durable=False, **limits) as w:
        keys = [w.put(data, ext).key for data, ext in photos]
    reader = StoreReader(root)
    return [(k, *reader.location(k)) for k in keys]
