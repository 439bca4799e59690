"""Where each stage's store lives (under the stage's own data dir, so DVC tracks it with the stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adgen.config import Params
from adgen.store.writer import StoreWriter

STORE_DIR = "store"


def raw_store(params: Params) -> Path:
    return params.path(params.paths.raw) / STORE_DIR


def all_stores(params: Params) -> list[Path]:
    """Every stage store that exists, in pipeline order."""
    dirs = [params.paths.raw, params.paths.filtered, params.paths.stripped, params.paths.pose]
    return [params.path(d) / STORE_DIR for d in dirs if (params.path(d) / STORE_DIR).is_dir()]


def writer(params: Params, root: Path, **kw: Any) -> StoreWriter:
    """A writer with the shard limits from params (`store:`)."""
    return StoreWriter.from_params(root, params.store, **kw)
