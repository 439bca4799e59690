"""How the comparison ranks: its columns, which way each is better, and the best value of each.

One definition for the report's table (adgen/report/compare.py) and the terminal table of
`adgen evaluate compare`, so both mark the same winners. Rows are whatever generators compare.json
holds (the declared chains, in the comparison's order), never a fixed list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    key: str  # the number's name in compare.json's generators.<name>
    heading: str
    higher_is_better: bool


COLUMNS = (
    Column("inception_score", "IS ↑", True),
    Column("fid", "FID ↓", False),
    Column("pose_mse", "pose MSE ↓", False),
    Column("full_body_share", "full body ↑", True),
    Column("images_per_second", "images/s ↑", True),
    # the chain's transfer step on real held-out pairs (adgen.compare.pairs)
    Column("pair_ssim", "pair SSIM ↑", True),
    Column("pair_lpips", "pair LPIPS ↓", False),
    Column("pair_fid", "pair FID ↓", False),
    Column("transfers_per_second", "transfers/s ↑", True),
)


def number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def best(generators: dict[str, Any]) -> dict[str, set[str]]:
    """Column key -> the generators holding its best value (ties share it); a column is ranked only
    where at least two generators have a value."""
    out: dict[str, set[str]] = {}
    for col in COLUMNS:
        values = {
            name: v
            for name, g in generators.items()
            if isinstance(g, dict) and (v := number(g.get(col.key))) is not None
        }
        if len(values) < 2:
            continue
        top = max(values.values()) if col.higher_is_better else min(values.values())
        out[col.key] = {name for name, v in values.items() if v == top}
    return out


def text_table(generators: dict[str, Any], labels: dict[str, str]) -> str:
    """The scored generators as a plain-text table, the best of each column marked with `*`;
    only the columns where some generator has a value."""
    rows = {
        n: g for n, g in generators.items() if isinstance(g, dict) and g.get("status", "scored") == "scored"
    }
    cols = [c for c in COLUMNS if any(number(g.get(c.key)) is not None for g in rows.values())]
    if not rows or not cols:
        return ""
    winners = best(rows)
    table = [["generator", *[c.heading for c in cols]]]
    for name, g in rows.items():
        cells = [labels.get(name, name)]
        for c in cols:
            v = number(g.get(c.key))
            mark = "*" if name in winners.get(c.key, ()) else " "
            cells.append("—" if v is None else f"{v:.4g}{mark}")
        table.append(cells)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in table
    ]
    return "\n".join(lines) + "\n(* the best of its column)"
