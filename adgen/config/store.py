"""store.* params: how images are packed into shards (adgen.store).

A shard closes when it holds `shard_max_samples` samples or `shard_max_bytes` bytes, whichever
comes first. Larger shards mean fewer files for DVC to check and upload; smaller shards mean a
refresh adds less per upload. img2dataset's default is 10,000 samples per shard.
"""

from __future__ import annotations

from pydantic import Field

from adgen.config.base import Section


class StoreParams(Section):
    shard_max_samples: int = Field(default=10_000, ge=1)
    shard_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
