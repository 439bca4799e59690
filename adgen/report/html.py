"""Small HTML fragments for code outside the report that adds to it (the comparison section).

They render the same macros the report's templates use (templates/parts.html), escaped by Jinja2,
and return Markup, so a fragment built from them can be placed in a section unescaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from adgen.report.render import fmt, macro

__all__ = ["esc", "figure", "fmt", "para", "read_json_object", "table"]


def esc(value: object) -> Markup:
    return escape(str(value))


def table(rows: Sequence[Sequence[object]], header: Sequence[str] | None = None) -> Markup:
    return macro("table", [list(r) for r in rows], list(header) if header else None)


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
