"""Every read of a store member is checked: a damaged store is an error, never a bad photo.

An image's key is the sha256 of its bytes, and the index records every member's sha256 when it is
written; each read hashes what it got (a few hundred microseconds for a photo, next to the
milliseconds its decode takes: bench/store.py measures it against filter and strip) and a short
read, a mismatch or a missing shard raises `StoreError`. Stages let it through: it stops the stage
with one line naming the shard and member and pointing at `adgen store verify`, where a flipped bit
on a disk or a bad copy would otherwise be recorded as an `unreadable` photo and silently shrink the
dataset. Bytes that are what was stored but are not an image are still the photo's fault.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from adgen.errors import UserError
from adgen.store import layout

# Off only in bench/store.py, to measure what the check costs: never a setting.
VERIFY_READS = True
HINT = "run `adgen store verify --repair` (it restores good bytes from the DVC cache or remote: dvc checkout / dvc pull)"


class StoreError(UserError):
    """The store does not hold what its index says: a flipped byte, a truncated or missing shard."""


def damaged(root: Path, shard: str, member: str, problem: str) -> StoreError:
    return StoreError(f"{root}/shards/{shard}: member {member} {problem}; the store is damaged, {HINT}")


def check(data: bytes, size: int, sha256: str, root: Path, shard: str, member: str) -> bytes:
    """`data` if it is the member's `size` bytes hashing to `sha256`; else a `StoreError`."""
    if len(data) != size:
        raise damaged(
            root, shard, member, f"is cut short ({len(data)} of {size} bytes: the shard is truncated)"
        )
    if VERIFY_READS and hashlib.sha256(data).hexdigest() != sha256:
        raise damaged(root, shard, member, "does not hash to the sha256 it was stored with")
    return data


def open_shard(root: Path, shard: str, member: str) -> BinaryIO:
    """The shard holding `member`, open for reading; a missing or unreadable one is a `StoreError`."""
    try:
        return open(root / layout.SHARDS / shard, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise damaged(root, shard, member, "is in a shard that is missing") from None
    except OSError as exc:  # a disk error is the store's, not the photo's
        raise damaged(root, shard, member, f"cannot be read ({exc.strerror or exc})") from None


def read(root: Path, shard: str, member: str, offset: int, size: int, sha256: str) -> bytes:
    """One member's bytes, read with one seek and checked."""
    with open_shard(root, shard, member) as fh:
        try:
            fh.seek(offset)
            data = fh.read(size)
        except OSError as exc:
            raise damaged(root, shard, member, f"cannot be read ({exc.strerror or exc})") from None
    return check(data, size, sha256, root, shard, member)
