"""The report's "Bags composited" section: the compositors on the same people, bags and seeds.

Built from what `adgen evaluate composites` wrote (`composites.json` numbers, `composites.info.json`
strings, `composites.png` grid) by the report's `metrics_section`, like the comparison's section.
A row per compositor the evaluation scored, found by role (adgen.models.registry), never by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adgen.models.registry import with_role
from adgen.models.roles import Compositor
from adgen.pages import fragments as html

COLUMNS = (
    ("fid", "FID ↓"),
    ("placement_error", "placement error ↓"),
    ("colour_gap", "colour gap"),
    ("colour_consistency", "|gap − real photos' gap| ↓"),
)


def table_rows(numbers: dict[str, Any], info: dict[str, Any]) -> list[list[object]]:
    """One row per compositor the evaluation scored, in its order: each score, or its skipped reason,
    or "—"."""
    compositors = with_role(Compositor)
    rows = []
    for key in [k for k in dict.fromkeys([*numbers, *info]) if k in compositors]:
        nums = numbers.get(key) if isinstance(numbers.get(key), dict) else {}
        notes = info.get(key) if isinstance(info.get(key), dict) else {}
        cells: list[object] = [compositors[key].label]
        for column, _ in COLUMNS:
            value = nums.get(column, notes.get(column))
            cells.append("—" if value is None else html.fmt(value))
        rows.append(cells)
    return rows


def _parts(numbers: dict[str, Any], info: dict[str, Any]) -> list:
    return [
        html.para(
            f"{numbers.get('count', '?')} person/bag pairs, the same seeds for every compositor; "
            f"real photos' colour gap {html.fmt(numbers.get('real_colour_gap', '—'))}."
        ),
        html.table(table_rows(numbers, info), ["compositor", *[h for _, h in COLUMNS]]),
    ]


def section_html(metrics_dir: Path, report_dir: Path, assets_dir: Path) -> str | None:
    """The table and the side-by-side grid (copied into `assets_dir`); None before the first run."""
    grid = ("composites.png", "composites.png", "one row per pair: the person, then each compositor")
    return html.metrics_section(metrics_dir, report_dir, assets_dir, "composites", _parts, grid)
