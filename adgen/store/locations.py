"""Where each stage's store lives (under the stage's own data dir, so DVC tracks it with the stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adgen.config import Params
from adgen.store.writer import StoreWriter

STORE_DIR = "store"


def raw_store(params: Params) -> Path:
    """Crawled photos (key: sha256 of the bytes)."""
    return params.path(params.paths.raw) / STORE_DIR


def masks_store(params: Params) -> Path:
    """The filter's person/bag masks (key: sha256 of `<decision key>/<image id>`)."""
    return params.path(params.paths.filtered) / STORE_DIR


def cutouts_store(params: Params) -> Path:
    """Strip's cut-outs (key: sha256 of `<strip input key>/<image id>`)."""
    return params.path(params.paths.stripped) / STORE_DIR


def user_bags_store(params: Params) -> Path:
    """`adgen bags import`'s bag cut-outs (key: sha256 of the PNG's bytes)."""
    return params.path(params.datasets.user_bags) / STORE_DIR


def user_bags_table(params: Params) -> Path:
    """`adgen bags import`'s table of bags (rows point into `user_bags_store`)."""
    return params.path(params.datasets.user_bags) / "bags.parquet"


def all_stores(params: Params) -> list[Path]:
    """Every store that exists, in pipeline order."""
    roots = [raw_store(params), masks_store(params), cutouts_store(params), user_bags_store(params)]
    return [root for root in roots if root.is_dir()]


def writer(params: Params, root: Path, **kw: Any) -> StoreWriter:
    """A writer with the shard limits from params (`store:`)."""
    return StoreWriter.from_params(root, params.store, **kw)
