"""Local weight files named in params: set, and present, or one line saying which file to get."""

from __future__ import annotations

from pathlib import Path

from adgen.errors import UserError


def require_file(path: str | Path | None, param: str, what: str, hint: str) -> Path:
    if path is None:
        raise UserError(f"{param} is not set: {hint}")
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {what} not found: {hint}")
    return path
