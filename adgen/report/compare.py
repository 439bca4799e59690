"""The report's "Generators compared" section: the table (the best of each column in bold), the
grid and the approach it favours.

`section_html(metrics_dir, report_dir, assets_dir)` returns an HTML fragment (or None before the
first `adgen evaluate compare`) from what the comparison wrote; the report owns the section and
imports the comparison's data (adgen.compare), never the reverse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adgen.compare import ranking
from adgen.compare.generators import LABELS, ORDER
from adgen.compare.ranking import COLUMNS
from adgen.generate.best import best_approach
from adgen.models.registry import chains
from adgen.pages import fragments as html


def _generators(data: dict[str, Any]) -> dict[str, Any]:
    return data["generators"] if isinstance(data.get("generators"), dict) else {}


def _names(numbers: dict[str, Any], info: dict[str, Any]) -> list[str]:
    """The table's rows: the comparison's order, then any other generator the files hold."""
    nums, infos = _generators(numbers), _generators(info)
    shown = [*ORDER, *sorted((set(nums) | set(infos)) - set(ORDER))]
    return [n for n in shown if nums.get(n) or infos.get(n)]


def table_rows(numbers: dict[str, Any], info: dict[str, Any]) -> list[list[object]]:
    """One row per generator: label, status, then each score (or "skipped" / "—")."""
    nums, infos = _generators(numbers), _generators(info)
    rows = []
    for name in _names(numbers, info):
        n, i = nums.get(name, {}), infos.get(name, {})
        status = str(i.get("status", "scored"))
        if status != "scored":
            use_command = status == "not trained" and i.get("command")
            hint = f": {i['command']}" if use_command else f": {i.get('reason', '')}"
            rows.append([LABELS.get(name, name), status + hint] + ["—"] * len(COLUMNS))
            continue
        row: list[object] = [LABELS.get(name, name), f"scored ({i.get('kind', '')})"]
        for col in COLUMNS:
            value = n.get(col.key)
            skipped = f"{col.key}_skipped" in i or (col.key.startswith("pair_") and "pairs_skipped" in i)
            row.append(value if isinstance(value, int | float) else ("skipped" if skipped else "—"))
        rows.append(row)
    return rows


def best_cells(numbers: dict[str, Any], info: dict[str, Any]) -> list[tuple[int, int]]:
    """(row, column) of the table's best value in each column (adgen.compare.ranking)."""
    infos = _generators(info)
    scored = {
        name: g
        for name, g in _generators(numbers).items()
        if str(infos.get(name, {}).get("status", "scored")) == "scored"
    }
    winners = ranking.best(scored)
    names = _names(numbers, info)
    return [
        (r, 2 + c)
        for r, name in enumerate(names)
        for c, col in enumerate(COLUMNS)
        if name in winners.get(col.key, ())
    ]


def _table(numbers: dict[str, Any], info: dict[str, Any]):
    """The table with the score columns some generator has a number in (a column that is all "—"
    or "skipped" — the pair columns before any transfer chain was scored, FID without its graph —
    is left out: the notes under the table say why), the best of each column in bold."""
    rows = table_rows(numbers, info)
    header = ["generator", "status", *[c.heading for c in COLUMNS]]
    keep = [0, 1, *[j for j in range(2, len(header)) if any(isinstance(r[j], int | float) for r in rows)]]
    at = {j: k for k, j in enumerate(keep)}
    marked = [(r, at[c]) for r, c in best_cells(numbers, info) if c in at]
    return html.table([[r[j] for j in keep] for r in rows], [header[j] for j in keep], marked)


def skipped_notes(info: dict[str, Any]) -> list[str]:
    infos = _generators(info)
    notes = set()
    for i in infos.values():
        if isinstance(i, dict):
            notes |= {f"{k[: -len('_skipped')]} skipped: {v}" for k, v in i.items() if k.endswith("_skipped")}
    if info.get("pairs_skipped"):
        notes.add(f"pairs skipped: {info['pairs_skipped']}")
    return sorted(notes)


def _pairs_note(numbers: dict[str, Any]) -> str:
    pairs = numbers.get("held_out_pairs")
    if not isinstance(pairs, int) or pairs <= 0:
        return ""
    return (
        f" The pair columns score each chain's pose-transfer step on {pairs} real held-out pairs: the "
        "source photo moved into the target's pose, against the real photo of that person in that pose "
        "(the chain's own people have no real counterpart)."
    )


def _parts(numbers: dict[str, Any], info: dict[str, Any]) -> list:
    parts = [
        html.para(
            f"{numbers.get('poses', '?')} target poses from held-out images, "
            f"{numbers.get('seeds_per_pose', '?')} seeds each; every generator scored by the same code."
            + _pairs_note(numbers)
            + " Bold: the best value of its column."
        ),
        _table(numbers, info),
    ]
    best = best_approach(numbers)
    if best is not None:
        parts.append(
            html.para(f"adgen generate --approach best uses approach {best} ({LABELS[chains()[best].key]}).")
        )
    return parts + [html.para(note, "note") for note in skipped_notes(info)]


def section_html(metrics_dir: Path, report_dir: Path, assets_dir: Path) -> str | None:
    """The table, the grid (copied into `assets_dir`) and the favoured approach; None if not run."""
    grid = ("compare_grid.png", "compare-grid.png",
            "one row per target pose: the pose, the real photo, then each generator (same seeds)")  # fmt: skip
    return html.metrics_section(metrics_dir, report_dir, assets_dir, "compare", _parts, grid)
