"""Names inside a store: which files exist, what a key and a field may be.

A store is one directory:

    <root>/shards/<stamp>-<label>-<token>-<seq>.tar   closed shards, never rewritten
    <root>/index.parquet                              one row per member (adgen.store.index)
    <root>/.staging/<token>/                          a live writer's samples not yet in a shard
    <root>/.index.lock                                writers take turns closing shards

Inside a shard each sample is `<key>.<field>` members plus `<key>.json` (WebDataset's layout:
the key is the name up to the first dot). Keys are sha256 hex digests, so a key never climbs out
of a directory and a member name never needs more than a plain USTAR header.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from adgen.errors import UserError

SHARDS = "shards"
INDEX = "index.parquet"
STAGING = ".staging"
INDEX_LOCK = ".index.lock"
META_FIELD = "json"

KEY = re.compile(r"[0-9a-f]{64}")
FIELD = re.compile(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}")
LABEL = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")
SHARD = re.compile(r"\d{8}T\d{6}Z-[a-z0-9_]{1,32}-[0-9a-f]{8}-\d{6}\.tar")


def sha256_hex(data: bytes) -> str:
    """The key of an image in a content-addressed store: the sha256 of its bytes (its image id)."""
    return hashlib.sha256(data).hexdigest()


def check_key(key: object, where: str = "store") -> str:
    if isinstance(key, str) and KEY.fullmatch(key):
        return key
    raise UserError(f"{where}: {key!r} is not a sha256 hex digest; keys of the image store are image ids")


def check_field(field: object, where: str = "store") -> str:
    if isinstance(field, str) and FIELD.fullmatch(field):
        return field
    raise UserError(f"{where}: {field!r} is not a member extension (e.g. jpg, png, person.png)")


def label_for(text: str) -> str:
    """A writer label for shard names (e.g. a site name) reduced to [a-z0-9_]."""
    label = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")[:32] or "store"
    return label if LABEL.fullmatch(label) else "store"


def member(key: str, field: str) -> str:
    return f"{key}.{field}"


def split_member(name: str) -> tuple[str, str] | None:
    """(key, field) of a member name in the store's layout, else None."""
    key, dot, field = name.partition(".")
    if not dot or not KEY.fullmatch(key) or not FIELD.fullmatch(field):
        return None
    return key, field


def new_token() -> str:
    return secrets.token_hex(4)


def stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def shard_name(session_stamp: str, label: str, token: str, seq: int) -> str:
    """Unique per writer session (its token), sorted by the session's start time."""
    return f"{session_stamp}-{label}-{token}-{seq:06d}.tar"


def shard_files(root: Path) -> list[Path]:
    """The store's closed shards, oldest session first (the order streaming reads them in)."""
    shards = root / SHARDS
    if not shards.is_dir():
        return []
    return sorted(p for p in shards.iterdir() if SHARD.fullmatch(p.name))
