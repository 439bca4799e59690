"""What the training tests of every model read and build the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adgen.models.registry import TrainJob

TIMING = ("sec_per_step", "timestamp")  # the columns that differ between two identical runs


def stats_rows(run_dir: Path, timing: bool = True) -> list[dict[str, Any]]:
    """The run's stats.jsonl records; without the timing columns when `timing` is False (to compare
    a resumed run's records with an uninterrupted one's)."""
    rows = [json.loads(x) for x in (Path(run_dir) / "stats.jsonl").read_text().splitlines()]
    return rows if timing else [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def options_job(options: Any, run_dir: Path, metrics_dir: Path | None = None) -> TrainJob:
    """What `adgen train <model>` hands a model's `train`: its options alone, no project params."""
    return TrainJob(params=None, options=options, run_dir=Path(run_dir), metrics_dir=metrics_dir)
