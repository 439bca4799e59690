"""The image store: every stage writes and reads images by id through here.

Images live in append-only WebDataset tar shards (`<id>.<ext>` + `<id>.json` per sample) with a
Parquet index (id → shard, member, offset, size, sha256), as img2dataset writes them: DVC tracks a
few hundred shards instead of millions of files, a refresh adds new shards and leaves old ones
byte-identical, and webdataset / Hugging Face `datasets` read the shards as they are.
See docs/store.md.

Names are imported on first use: a Scrapy process that only stages samples never loads pyarrow.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Sample": "adgen.store.reader",
    "StoreReader": "adgen.store.reader",
    "Stored": "adgen.store.writer",
    "StoreWriter": "adgen.store.writer",
}
__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'adgen.store' has no attribute {name!r}")
