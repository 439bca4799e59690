"""The report's "Generators compared" section: the table, the grid and the approach it favours.

`section_html(metrics_dir, report_dir, assets_dir)` returns an HTML fragment (or None before the
first `adgen evaluate compare`) from what the comparison wrote; the report owns the section and
imports the comparison's data (adgen.compare), never the reverse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adgen.compare.generators import LABELS, ORDER
from adgen.generate.best import best_approach
from adgen.pages import fragments as html

COLUMNS = (
    ("inception_score", "Inception Score ↑"),
    ("fid", "FID ↓"),
    ("pose_mse", "pose MSE ↓"),
    ("full_body_share", "full body ↑"),
    ("images_per_second", "images/s"),
)


def table_rows(numbers: dict[str, Any], info: dict[str, Any]) -> list[list[object]]:
    """One row per generator: label, status, then each score (or "skipped" / "—")."""
    nums = numbers.get("generators", {}) if isinstance(numbers.get("generators"), dict) else {}
    infos = info.get("generators", {}) if isinstance(info.get("generators"), dict) else {}
    rows = []
    for name in [*ORDER, *sorted(set(nums) | set(infos) - set(ORDER))]:
        n, i = nums.get(name, {}), infos.get(name, {})
        if not n and not i:
            continue
        status = str(i.get("status", "scored"))
        if status != "scored":
            use_command = status == "not trained" and i.get("command")
            hint = f": {i['command']}" if use_command else f": {i.get('reason', '')}"
            rows.append([LABELS.get(name, name), status + hint] + ["—"] * len(COLUMNS))
            continue
        row: list[object] = [LABELS.get(name, name), f"scored ({i.get('kind', '')})"]
        for key, _ in COLUMNS:
            value = n.get(key)
            row.append(
                value if isinstance(value, int | float) else ("skipped" if f"{key}_skipped" in i else "—")
            )
        rows.append(row)
    return rows


def skipped_notes(info: dict[str, Any]) -> list[str]:
    infos = info.get("generators", {}) if isinstance(info.get("generators"), dict) else {}
    notes = set()
    for i in infos.values():
        if isinstance(i, dict):
            notes |= {f"{k[: -len('_skipped')]} skipped: {v}" for k, v in i.items() if k.endswith("_skipped")}
    return sorted(notes)


def _parts(numbers: dict[str, Any], info: dict[str, Any]) -> list:
    parts = [
        html.para(
            f"{numbers.get('poses', '?')} target poses from held-out images, "
            f"{numbers.get('seeds_per_pose', '?')} seeds each; every generator scored by the same code."
        ),
        html.table(table_rows(numbers, info), ["generator", "status", *[h for _, h in COLUMNS]]),
    ]
    best = best_approach(numbers)
    if best is not None:
        parts.append(
            html.para(f"adgen generate --approach best uses approach {best} ({LABELS[f'approach{best}']}).")
        )
    return parts + [html.para(note, "note") for note in skipped_notes(info)]


def section_html(metrics_dir: Path, report_dir: Path, assets_dir: Path) -> str | None:
    """The table, the grid (copied into `assets_dir`) and the favoured approach; None if not run."""
    grid = ("compare_grid.png", "compare-grid.png",
            "one row per target pose: the pose, the real photo, then each generator (same seeds)")  # fmt: skip
    return html.metrics_section(metrics_dir, report_dir, assets_dir, "compare", _parts, grid)
