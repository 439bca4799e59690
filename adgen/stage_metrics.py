"""What a finished stage leaves for DVC: numbers to compare, strings apart, and a loss log to plot.

Every stage that reports metrics writes them here (crawl, filter, datasets, the trainings, generate,
compare, the evaluators), which is why this sits at the core and not in `adgen.training`.
`dvc exp show` and `dvc metrics diff` compare numbers only; a metrics file that mixes in paths,
licence notes or "skipped" reasons makes every table wide and unreadable. So each stage writes
up to three small files into `paths.metrics` (tracked by git, `cache: false`):

- `<name>.json`       — numbers only (nested dicts of numbers allowed); the DVC metric.
- `<name>.info.json`  — everything else a reader may want (run dir, checkpoint, skipped reasons).
- `<name>_loss.csv`   — `step` + the model's declared loss columns (trainings only); the DVC plot.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from adgen import atomic


def split_numbers(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(numbers, rest): finite ints/floats (bools as 0/1) go left, nested dicts split recursively."""
    numbers: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            n, r = split_numbers(value)
            if n:
                numbers[key] = n
            if r:
                rest[key] = r
        elif isinstance(value, bool):
            numbers[key] = int(value)
        elif isinstance(value, int | float) and math.isfinite(value):
            numbers[key] = value
        elif value is not None:
            rest[key] = value if isinstance(value, int | float | str | list) else str(value)
    return numbers, rest


def loss_csv_text(
    records: Iterable[Mapping[str, Any]], columns: Sequence[str], step_key: str = "step"
) -> str:
    """`step,<columns…>`, one row per record that has at least one of the columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", *columns])
    for rec in records:
        if step_key not in rec or not any(c in rec for c in columns):
            continue
        row = [rec[step_key]]
        for c in columns:
            v = rec.get(c)
            row.append("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v))
        writer.writerow(row)
    return out.getvalue()


def write_training_outputs(
    metrics_dir: str | Path,
    name: str,
    values: Mapping[str, Any],
    records: Iterable[Mapping[str, Any]] = (),
    loss_columns: Sequence[str] = (),
    step_key: str = "step",
) -> dict[str, Path]:
    """Write `<name>.json` (numbers), `<name>.info.json` (the rest) and `<name>_loss.csv`."""
    metrics_dir = Path(metrics_dir)
    numbers, info = split_numbers(values)
    paths = {"metrics": metrics_dir / f"{name}.json", "info": metrics_dir / f"{name}.info.json"}
    atomic.write_json(paths["metrics"], numbers)
    atomic.write_json(paths["info"], info)
    if loss_columns:
        paths["loss"] = metrics_dir / f"{name}_loss.csv"
        atomic.write_text(paths["loss"], loss_csv_text(records, loss_columns, step_key))
    return paths
