"""Writing into a store: samples are staged, packed into shards, and the index follows.

Promises, whoever kills the writer and whenever:
- a closed shard is whole (written to a temp file, fsynced, then linked into `shards/` under a name
  no other writer can pick) and is never opened for writing again;
- the index never lists a shard that is not there; a shard it does not list yet (a kill between
  the two renames) is added by the next writer or read back by any reader from the tar headers;
- with `durable=True` (filter masks, strip cut-outs), `put` returns only after the sample is appended to this writer's
  staging file (`<staging>/samples.staged`, adgen.store.staging) and fsynced; a writer that dies
  leaves the file there and the next writer to open the store packs its whole records first (a
  record torn by the kill is dropped), skipping any already in a shard: nothing lost, nothing twice;
- with `durable=False` (migrate, benchmarks) samples wait in memory: a kill loses only what the
  caller still has (it re-runs).

Several writers may run at once (one Scrapy process per site): each stages in its own dir, names
shards with its own token, and closes shards under one lock, where samples another writer packed
meanwhile are left out (content-hash dedupe across processes).

A writer with `pack=False` only spools (the crawl's Scrapy processes: no index, no pyarrow, and so
no second of start-up per process): it appends each sample to an open shard in its staging dir,
fsynced per put (adgen.store.spool), and finishes it at `close` or when it is full. The next packing
writer to open the store — the crawl's merge — links each spool into `shards/` as it is (no byte is
written twice) and indexes it; a spool that holds a photo another process stored too is copied
without it, and a dead writer's unfinished spool is cut back to its last whole sample first. Its
dedupe is the `known` keys its caller passes in. Spooled stores are content-addressed.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from adgen.errors import UserError
from adgen.safety import flock, writing
from adgen.store import layout, shards, spool, staging

if TYPE_CHECKING:
    import pyarrow as pa

STAGED = ".staged"  # `samples.staged` (staging.FILE_NAME); `<key>.staged` from writers before it
DEFAULT_MAX_SAMPLES = 10_000
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Stored:
    key: str
    is_new: bool  # False: the store (or this writer) already had the key, nothing was written


def _meta_bytes(meta: Mapping[str, Any] | None) -> bytes:
    return json.dumps(dict(meta or {}), sort_keys=True, default=str).encode("utf-8")


class StoreWriter:
    """Append samples to the store at `root`; use as a context manager (or `open`/`close`)."""

    def __init__(
        self,
        root: str | Path,
        *,
        label: str = "store",
        max_samples: int = DEFAULT_MAX_SAMPLES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        content_addressed: bool = True,
        durable: bool = True,
        pack: bool = True,
        known: Iterable[str] | None = None,
    ):
        self.root = Path(root)
        self.label = layout.label_for(label)
        self.max_samples, self.max_bytes = max_samples, max_bytes
        self.content_addressed, self.durable, self.pack = content_addressed, durable or not pack, pack
        if not pack and not content_addressed:
            raise ValueError("a writer that only spools checks samples by their key: content_addressed=True")
        self.token, self.stamp = layout.new_token(), layout.stamp()
        self.staging = self.root / layout.STAGING / self.token
        self.new_shards: list[str] = []
        self._seq = 0
        self._known: set[str] = set(known or ())
        self._pending: dict[str, shards.Source] = {}
        self._staging_file: staging.StagingFile | None = None
        self._spool: spool.Spool | None = None
        self._pending_bytes = 0
        self._table: pa.Table | None = None
        self._table_stat: tuple[int, int, int] | None = None
        self._lock = threading.Lock()  # the crawl pipeline puts from worker threads
        self._lock_fh: IO[str] | None = None

    @classmethod
    def from_params(cls, root: str | Path, store_params: Any, **kw: Any) -> StoreWriter:
        return cls(
            root, max_samples=store_params.shard_max_samples, max_bytes=store_params.shard_max_bytes, **kw
        )

    # -- life cycle -------------------------------------------------------------------------------
    def __enter__(self) -> StoreWriter:
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abandon()

    def open(self) -> StoreWriter:
        with writing(self.root), self._index_lock():
            (self.root / layout.SHARDS).mkdir(parents=True, exist_ok=True)
            # Created and locked under the index lock, so a recovering writer never sees it unlocked.
            self.staging.mkdir(parents=True)
            self._lock_fh = open(self.staging / "writer.lock", "a")  # noqa: SIM115 - held while open
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX)
            if not self.pack:
                return self
            table = self._load_index()
            table = self._recover(table)
            self._save_index(table)
        return self

    def close(self) -> list[str]:
        """Pack what is pending into a last shard; returns the shards this writer added. A writer
        that does not pack leaves its staged samples for the next one that does."""
        if not self.pack:
            with self._lock:
                self._finish_spool()
            self._release(remove_staging=False)
            return []
        with self._lock:
            self._close_shard()
        self._release(remove_staging=True)
        return self.new_shards

    def abandon(self) -> None:
        """Stop without packing: durable samples stay staged for the next writer; others are dropped."""
        self._release(remove_staging=not self.durable)

    def _release(self, remove_staging: bool) -> None:
        if self._lock_fh is None:
            return
        if self._staging_file is not None:
            self._staging_file.close()
            self._staging_file = None
        if self._spool is not None:  # unfinished: the next packing writer recovers it
            self._spool.close()
            self._spool = None
        if remove_staging:
            shutil.rmtree(self.staging, ignore_errors=True)
        self._lock_fh.close()
        self._lock_fh = None

    # -- writing ----------------------------------------------------------------------------------
    def put(self, data: bytes, ext: str, meta: Mapping[str, Any] | None = None) -> Stored:
        """Store an image under the sha256 of its bytes (content-addressed stores)."""
        return self.put_sample(layout.sha256_hex(data), {ext: data}, meta)

    def put_sample(
        self, key: str, fields: Mapping[str, bytes], meta: Mapping[str, Any] | None = None
    ) -> Stored:
        """Add one sample (`<key>.<field>` members + `<key>.json`); a key already stored is skipped."""
        if self._lock_fh is None:
            raise RuntimeError("StoreWriter used before open() or after close()")
        layout.check_key(key)
        for field in fields:
            layout.check_field(field)
            if field == layout.META_FIELD:
                raise ValueError("the json member is the sample's metadata: pass it as meta")
        if not fields:
            raise ValueError("a sample needs at least one data member")
        members = {**fields, layout.META_FIELD: _meta_bytes(meta)}
        size = sum(len(v) for v in fields.values())
        with self._lock:  # one staging file: appends (and their fsyncs) take turns
            if key in self._known or key in self._pending:
                return Stored(key, False)
            self._pending[key] = self._stage(key, members)
            self._pending_bytes += size
            full = len(self._pending) >= self.max_samples or self._pending_bytes >= self.max_bytes
            if full:
                self._close_shard() if self.pack else self._finish_spool()
        return Stored(key, True)

    def flush(self) -> None:
        """Close the current shard now (even if it is not full)."""
        if not self.pack:
            return
        with self._lock:
            self._close_shard()

    def _stage(self, key: str, fields: dict[str, bytes]) -> shards.Source | None:
        if not self.pack:
            with writing(self.staging):
                if self._spool is None:
                    self._spool = spool.Spool(self.staging / self._next_name())
                self._spool.append(key, fields)
            return None  # the merge reads the spool, not this
        if not self.durable:
            return dict(fields)
        with writing(self.staging):
            if self._staging_file is None:
                self._staging_file = staging.StagingFile(self.staging / staging.FILE_NAME)
            return self._staging_file.append(key, fields)

    # -- shards and the index ---------------------------------------------------------------------
    def _index_lock(self):
        return flock(self.root / layout.INDEX_LOCK, fcntl.LOCK_EX)

    def _index_path(self) -> Path:
        return self.root / layout.INDEX

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self._index_path().stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _load_index(self) -> pa.Table:
        """The index as on disk now (another writer may have added shards), completed from shards."""
        from adgen.store import index

        if self._table is None or self._stat() != self._table_stat:
            table, flagged = index.read(self._index_path())
            if table.num_rows and flagged != self.content_addressed:
                kind = "content-addressed" if flagged else "keyed by image id (not content-addressed)"
                raise UserError(f"{self.root}: this store is {kind}; it cannot be written as the other kind")
            self._table, self._table_stat = table, self._stat()
            self._known = set(table.column("image_id").to_pylist())
        table, added = index.reconcile(self.root, self._table)
        if added:
            self._known = set(table.column("image_id").to_pylist())
        return table

    def _save_index(self, table: pa.Table) -> None:
        """Write `table` unless it is exactly what is on disk already."""
        if table is self._table and self._table_stat is not None:
            return
        from adgen.store import index

        index.write(self._index_path(), table, self.content_addressed)
        self._table, self._table_stat = table, self._stat()

    def _next_name(self) -> str:
        name = layout.shard_name(self.stamp, self.label, self.token, self._seq)
        self._seq += 1
        return name

    def _finish_spool(self) -> None:
        """Close the open spool (caller holds self._lock); its keys stay known to this writer."""
        if self._spool is not None:
            with writing(self.staging):
                self._spool.finish()
            self._spool = None
        self._known.update(self._pending)
        self._pending, self._pending_bytes = {}, 0

    def _write_shard(self, batch: Mapping[str, shards.Source]) -> pa.Table:
        from adgen.store import index

        name = self._next_name()
        tmp = self.staging / f".{name}.tmp"
        members = shards.write(tmp, batch)
        final = self.root / layout.SHARDS / name
        os.link(tmp, final)  # fails if the name exists: a closed shard is never replaced
        tmp.unlink()
        staging.fsync_dir(final.parent)
        self.new_shards.append(name)
        return index.rows(name, members)

    def _close_shard(self) -> None:
        """Pack the pending samples (caller holds self._lock) into one shard and index it."""
        if not self._pending:
            return
        from adgen.store import index

        with writing(self.root / layout.SHARDS), self._index_lock():
            table = self._load_index()
            batch = {k: v for k, v in self._pending.items() if k not in self._known}
            if batch:
                table = index.concat([table, self._write_shard(batch)])
                self._known.update(batch)
            self._save_index(table)
        if self._staging_file is not None:  # every record in it is in a shard now: one unlink
            self._staging_file.close()
            self._staging_file.path.unlink(missing_ok=True)
            self._staging_file = None
        self._pending, self._pending_bytes = {}, 0

    def _recover(self, table: pa.Table) -> pa.Table:
        """Pack the staged samples of writers that died (their staging dir is not locked)."""
        staging_root = self.root / layout.STAGING
        for other in sorted(staging_root.iterdir()) if staging_root.is_dir() else []:
            if other.name == self.token or not other.is_dir():
                continue
            try:
                fh = open(other / "writer.lock", "a")  # noqa: SIM115
            except FileNotFoundError:
                continue
            with fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer
                table = self._pack_staged(other, table)
                shutil.rmtree(other)
        return table

    def _adopt_spool(self, path: Path, table: pa.Table) -> pa.Table:
        """Link a dead staging-only writer's spool into `shards/` and index it; copy it without the
        photos the store already holds (another site's process stored the same bytes) instead."""
        from adgen.store import index

        if (self.root / layout.SHARDS / path.name).exists():
            return table  # linked before its staging dir could be removed: reconcile indexed it
        members = spool.recover(path)
        keys = {m.key for m in members}
        whole = len({(m.key, m.field) for m in members}) == len(members)  # no member twice
        if keys and whole and not keys & self._known:
            final = self.root / layout.SHARDS / path.name
            os.link(path, final)
            staging.fsync_dir(final.parent)
            self.new_shards.append(path.name)
            self._known.update(keys)
            return index.concat([table, index.rows(path.name, members)])
        fresh = {k: s for k, s in spool.samples(path, members).items() if k not in self._known}
        return self._pack_sources(fresh, table)

    def _pack_staged(self, staged: Path, table: pa.Table) -> pa.Table:
        for path in sorted(p for p in staged.iterdir() if layout.SHARD.fullmatch(p.name)):
            table = self._adopt_spool(path, table)
        complete: dict[str, shards.Source] = {}
        for path in sorted(staged.glob(f"*{STAGED}")):
            if path.name == staging.FILE_NAME:  # read front to back once; a torn last record dropped
                found = staging.records(path)
            else:  # a writer from before the staging file: one atomically written tar per sample
                found = iter([(path.name[: -len(STAGED)], path)])
            for key, src in found:
                if layout.KEY.fullmatch(key) and key not in self._known:
                    complete.setdefault(key, src)
        return self._pack_sources(complete, table)

    def _pack_sources(self, complete: Mapping[str, shards.Source], table: pa.Table) -> pa.Table:
        """Write staged samples into shards of at most max_samples / max_bytes each."""
        from adgen.store import index

        batch: dict[str, shards.Source] = {}
        size = 0
        for key in sorted(complete):
            src = batch[key] = complete[key]
            size += src.stat().st_size if isinstance(src, Path) else src.size
            if len(batch) >= self.max_samples or size >= self.max_bytes:
                table = index.concat([table, self._write_shard(batch)])
                self._known.update(batch)
                batch, size = {}, 0
        if batch:
            table = index.concat([table, self._write_shard(batch)])
            self._known.update(batch)
        return table
