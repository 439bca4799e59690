"""Small HTML fragments for the report's sections that show an evaluation (the comparison of
generators, the ST-GAN vs SF-GAN composites).

They render the same macros the report's templates use (templates/parts.html), escaped by Jinja2,
and return Markup, so a fragment built from them can be placed in a section unescaped.
`metrics_section` is the one way such an evaluation's fragment is made: its metrics pair read, its
parts built, its grid copied into the report's assets.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from adgen.pages.render import fmt, macro

__all__ = ["esc", "figure", "fmt", "metrics_section", "para", "read_json_object", "table"]


def esc(value: object) -> Markup:
    return escape(str(value))


def table(
    rows: Sequence[Sequence[object]],
    header: Sequence[str] | None = None,
    marked: Sequence[tuple[int, int]] = (),
) -> Markup:
    """`marked`: (row, column) cells shown in bold (a ranking's best values)."""
    return macro(
        "table", [list(r) for r in rows], list(header) if header else None, [list(m) for m in marked]
    )


def figure(src: str, caption: str, width: int | None = None) -> Markup:
    return macro("figure", src, caption, width)


def para(text: str, cls: str | None = None) -> Markup:
    return macro("para", text, cls)


def read_json_object(path: Path) -> dict[str, Any]:
    """A stage's JSON file as a dict; {} when it is missing, unreadable or not an object (a section
    never fails because a stage has not run)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def metrics_section(
    metrics_dir: Path,
    report_dir: Path,
    assets_dir: Path,
    name: str,
    parts: Callable[[dict[str, Any], dict[str, Any]], list[Markup]],
    grid: tuple[str, str, str] | None = None,
) -> str | None:
    """An evaluation's fragment: `parts(numbers, info)` of `<metrics_dir>/<name>.json` (the DVC
    metric) and `<name>.info.json` (its strings), then `grid` = (image in metrics_dir, its name under
    `assets_dir`, caption) copied and shown when it exists. None before the evaluation has run."""
    metrics_dir = Path(metrics_dir)
    numbers = read_json_object(metrics_dir / f"{name}.json")
    info = read_json_object(metrics_dir / f"{name}.info.json")
    if not numbers and not info:
        return None
    shown = list(parts(numbers, info))
    if grid is not None and (metrics_dir / grid[0]).is_file():
        dest = Path(assets_dir) / grid[1]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(metrics_dir / grid[0], dest)
        shown.append(figure(dest.relative_to(report_dir).as_posix(), grid[2]))
    return "\n".join(shown)
