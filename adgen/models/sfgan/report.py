"""The report's "Bags composited" section: ST-GAN vs SF-GAN on the same people, bags and seeds.

Built from what `adgen evaluate composites` wrote (`composites.json` numbers, `composites.info.json`
strings, `composites.png` grid) with the report's own escaped helpers, like the comparison's section.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from adgen.report import html

MODELS = (("stgan", "ST-GAN (placed)"), ("sfgan", "SF-GAN (placed and relit)"))
COLUMNS = (
    ("fid", "FID ↓"),
    ("placement_error", "placement error ↓"),
    ("colour_gap", "colour gap"),
    ("colour_consistency", "|gap − real photos' gap| ↓"),
)


def table_rows(numbers: dict[str, Any], info: dict[str, Any]) -> list[list[object]]:
    """One row per compositor: each score, or its skipped reason, or "—"."""
    rows = []
    for key, label in MODELS:
        nums = numbers.get(key) if isinstance(numbers.get(key), dict) else {}
        notes = info.get(key) if isinstance(info.get(key), dict) else {}
        cells: list[object] = [label]
        for column, _ in COLUMNS:
            value = nums.get(column, notes.get(column))
            cells.append("—" if value is None else html.fmt(value))
        rows.append(cells)
    return rows


def section_html(metrics_dir: Path, report_dir: Path, assets_dir: Path) -> str | None:
    """The table and the side-by-side grid (copied into `assets_dir`); None before the first run."""
    metrics_dir = Path(metrics_dir)
    numbers, info = (
        html.read_json_object(metrics_dir / "composites.json"),
        html.read_json_object(metrics_dir / "composites.info.json"),
    )
    if not numbers and not info:
        return None
    parts = [
        html.para(
            f"{numbers.get('count', '?')} person/bag pairs, the same seeds for both compositors; "
            f"real photos' colour gap {html.fmt(numbers.get('real_colour_gap', '—'))}."
        ),
        html.table(table_rows(numbers, info), ["compositor", *[h for _, h in COLUMNS]]),
    ]
    grid = metrics_dir / "composites.png"
    if grid.is_file():
        assets_dir = Path(assets_dir)
        assets_dir.mkdir(parents=True, exist_ok=True)
        dest = assets_dir / "composites.png"
        shutil.copyfile(grid, dest)
        parts.append(
            html.figure(
                dest.relative_to(report_dir).as_posix(), "one row per pair: the person, ST-GAN, SF-GAN"
            )
        )
    return "\n".join(parts)
