"""Merge reviewers' choices into the project's overrides file, and say what that changes.

A choice is compared with the photo's decision as it stands (the project's override if it has one,
else the rule's): `flipped` choices change it, `unchanged` ones confirm it (a note or a `rule` entry
for a photo without an override), `unknown` ones name a photo the filter never decided (they are
not stored: the file was exported from another project or another dataset version).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from adgen.config import Params
from adgen.errors import UserError
from adgen.review.overrides import Override, in_force, read, write


@dataclass
class Applied:
    flipped: int = 0
    unchanged: int = 0
    unknown: list[str] = field(default_factory=list)
    kept: int = 0  # flipped to keep
    rejected: int = 0  # flipped to reject
    in_force: int = 0  # overrides in the project's file afterwards

    def summary(self, path: Path) -> str:
        line = (
            f"review: {self.flipped} flipped ({self.kept} to keep, {self.rejected} to reject), "
            f"{self.unchanged} unchanged, {len(self.unknown)} unknown id(s) skipped; "
            f"{self.in_force} override(s) in {path}"
        )
        if self.unknown:
            shown = ", ".join(i[:12] + "…" for i in self.unknown[:3])
            line += f" (unknown: {shown}{' …' if len(self.unknown) > 3 else ''})"
        if self.flipped:
            line += "; run `dvc repro` (or `adgen filter`) to apply them"
        return line


def overrides_path(params: Params) -> Path:
    return params.path(params.review.overrides)


def rule_keeps(params: Params) -> dict[str, bool]:
    """image_id → the rule's keep, from the filtered manifest (its `rule_keep` column when the
    filter applied overrides, else `keep`)."""
    path = params.path(params.paths.filtered) / "manifest.parquet"
    if not path.is_file():
        raise UserError(f"{path}: no filtered manifest; run `adgen filter` first (overrides name its photos)")
    import pyarrow.parquet as pq

    columns = set(pq.read_schema(path).names)
    column = "rule_keep" if "rule_keep" in columns else "keep"
    df = pd.read_parquet(path, columns=["image_id", column])
    return {str(i): bool(k) for i, k in zip(df["image_id"], df[column].fillna(False), strict=True)}


def merge(
    current: dict[str, Override], incoming: dict[str, Override], rule: dict[str, bool]
) -> tuple[dict[str, Override], Applied]:
    """The project's overrides after `incoming`, and the counts."""
    merged = dict(in_force(current))
    result = Applied()
    for image_id, choice in incoming.items():
        if image_id not in rule:
            result.unknown.append(image_id)
            continue
        before = merged[image_id].keep if image_id in merged else rule[image_id]
        if choice.decision == "rule":
            merged.pop(image_id, None)
            after = rule[image_id]
        else:
            merged[image_id] = choice
            after = choice.keep
        if before == after:
            result.unchanged += 1
        else:
            result.flipped += 1
            result.kept += after
            result.rejected += not after
    result.in_force = len(merged)
    return merged, result


def apply_choices(params: Params, incoming: dict[str, Override]) -> Applied:
    """Merge `incoming` into the project's overrides file (written atomically)."""
    path = overrides_path(params)
    current = read(path, params.review)
    merged, result = merge(current, incoming, rule_keeps(params))
    if merged != in_force(current) or not path.is_file():
        write(path, merged)
    return result


def apply_file(params: Params, file: Path) -> Applied:
    """`adgen review apply FILE`: a file downloaded from the report (or written by hand)."""
    file = Path(file)
    if not file.is_file():
        raise UserError(f"{file}: no such file; give the overrides file the report downloaded")
    if file.resolve() == overrides_path(params).resolve():
        raise UserError(f"{file} is the project's overrides file itself; give the downloaded file")
    return apply_choices(params, read(file, params.review))
