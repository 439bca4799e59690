"""The image store: every stage writes and reads images by id through here.

Images live in append-only WebDataset tar shards (`<id>.<ext>` + `<id>.json` per sample) with a
Parquet index (id → shard, member, offset, size, sha256), as img2dataset writes them: DVC tracks a
few hundred shards instead of millions of files, a refresh adds new shards and leaves old ones
byte-identical, and webdataset / Hugging Face `datasets` read the shards as they are.
See docs/store.md.
"""

from adgen.store.reader import Sample, StoreReader
from adgen.store.writer import Stored, StoreWriter

__all__ = ["Sample", "StoreReader", "Stored", "StoreWriter"]
