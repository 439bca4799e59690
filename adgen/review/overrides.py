"""The overrides file: reviewers' keep/reject choices over the filter's decisions, one per photo.

One format for the file the report downloads, the body `adgen review serve` accepts and the
project's own file (`review.overrides`, git-tracked, a dependency of the filter stage):

```yaml
version: 1
overrides:
- image_id: 3f5c…(sha256 of the photo)
  decision: reject        # keep | reject | rule (= drop my override, back to the rule's decision)
  note: bag is a shadow   # optional, any text
  by: alice               # optional
  at: 2026-01-05T10:12:00Z  # optional
```

JSON with the same keys is read too (`.json`, and what the browser posts). Every file is hostile
input: read through `adgen.safe_files` (a size limit before parsing, no YAML aliases, a depth limit), ids through `adgen.safety`,
unknown keys and duplicate ids are one-line errors naming them. The project's file never holds
`rule` entries: applying one removes that photo's override.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from adgen import atomic, safe_files, safety
from adgen.config.review import ReviewParams
from adgen.errors import UserError

FORMAT_VERSION = 1
DECISIONS = ("keep", "reject", "rule")
TOP_KEYS = ("version", "overrides")
ENTRY_KEYS = ("image_id", "decision", "note", "by", "at")
MAX_BY_CHARS = 100
MAX_AT_CHARS = 40

HEADER = """\
# Reviewers' overrides of the filter's keep/reject decisions (AdGen, `adgen review apply|serve`).
# The filter stage applies them after its rule: decision = the reviewer's, reason `reviewer`
# (the rule's own reason stays in column rule_reason). Git-tracked; a deps of `filter` in dvc.yaml.
"""


@dataclass(frozen=True)
class Override:
    """One reviewer choice for one photo."""

    image_id: str
    decision: str  # keep | reject | rule
    note: str | None = None
    by: str | None = None
    at: str | None = None

    @property
    def keep(self) -> bool:
        return self.decision == "keep"

    def as_entry(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f"key {twice[0]!r} given twice")
    return dict(pairs)


def _load(data: bytes, source: str, as_json: bool, max_bytes: int) -> Any:
    """The parsed file through the user-file limits (size, depth, no YAML aliases, no NaN)."""
    try:
        if as_json:
            return safe_files.read_json(data, source, max_bytes, object_pairs_hook=_no_duplicate_keys)
        return safe_files.read_yaml(data, source, max_bytes)
    except safe_files.FileFormatError as exc:
        problem = str(exc).removeprefix(f"{source}: ")
        raise UserError(
            f"{source}: not a valid overrides file ({problem}); export it again from the report"
        ) from None


def _unknown(found: dict, allowed: tuple[str, ...], where: str) -> None:
    extra = sorted(str(k)[:41] for k in found if k not in allowed)  # cut before formatting
    if extra:
        more = f" (+{len(extra) - 5} more)" if len(extra) > 5 else ""
        raise UserError(
            f"{where}: unknown key(s) {', '.join(safe_files.shown(k, 40) for k in extra[:5])}{more}; "
            f"allowed: {', '.join(allowed)}"
        )


def _text(value: Any, limit: int, what: str, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime | dt.date):  # YAML reads an unquoted timestamp as a datetime
        value = value.isoformat()
    if not isinstance(value, str):
        raise UserError(f"{where}: {what} must be text (got {type(value).__name__})")
    if len(value) > limit:
        raise UserError(
            f"{where}: {what} is {len(value)} characters; at most {limit} (review.max_note_chars)"
        )
    return value


def _entry(raw: Any, index: int, source: str, limits: ReviewParams) -> Override:
    where = f"{source}: overrides[{index}]"
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected a mapping with image_id and decision")
    _unknown(raw, ENTRY_KEYS, where)
    try:
        image_id = safety.image_id(raw.get("image_id"), where)
    except UserError:
        raise UserError(
            f"{where}: image_id {str(raw.get('image_id'))[:80]!r} is not a sha256 hex digest (a photo's id); "
            "export the file again from the report"
        ) from None
    decision = raw.get("decision")
    if decision not in DECISIONS:
        raise UserError(
            f"{where}: decision {safe_files.shown(decision)} must be one of {', '.join(DECISIONS)}"
        )
    return Override(
        image_id=image_id,
        decision=decision,
        note=_text(raw.get("note"), limits.max_note_chars, "note", where),
        by=_text(raw.get("by"), MAX_BY_CHARS, "by", where),
        at=_text(raw.get("at"), MAX_AT_CHARS, "at", where),
    )


def parse(data: bytes, source: str, limits: ReviewParams, as_json: bool = False) -> dict[str, Override]:
    """image_id → Override from the bytes of an overrides file; any fault is one UserError line."""
    if len(data) > limits.max_file_bytes:
        raise UserError(
            f"{source}: {len(data)} bytes, over review.max_file_bytes ({limits.max_file_bytes}); "
            "split the file or raise the limit in params.yaml"
        )
    doc = _load(data, source, as_json, limits.max_file_bytes)
    if doc is None:  # an empty file: no overrides
        return {}
    if not isinstance(doc, dict):
        raise UserError(f"{source}: expected a mapping with keys version and overrides")
    _unknown(doc, TOP_KEYS, source)
    if doc.get("version") != FORMAT_VERSION:
        raise UserError(
            f"{source}: version {safe_files.shown(doc.get('version'))} is not {FORMAT_VERSION}; export it again from the report"
        )
    entries = doc.get("overrides") or []
    if not isinstance(entries, list):
        raise UserError(f"{source}: overrides must be a list of entries")
    if len(entries) > limits.max_entries:
        raise UserError(
            f"{source}: {len(entries)} overrides, over review.max_entries ({limits.max_entries}); "
            "split the file or raise the limit"
        )
    out: dict[str, Override] = {}
    for index, raw in enumerate(entries):
        entry = _entry(raw, index, source, limits)
        if entry.image_id in out:
            raise UserError(
                f"{source}: overrides[{index}]: image_id {entry.image_id[:12]}… given twice; keep one entry per photo"
            )
        out[entry.image_id] = entry
    return out


def read(path: Path, limits: ReviewParams) -> dict[str, Override]:
    """The overrides in `path` (a missing file holds none). JSON when the name ends in `.json`."""
    path = Path(path)
    if not path.is_file():
        return {}
    size = path.stat().st_size
    if size > limits.max_file_bytes:  # before reading it into memory
        raise UserError(
            f"{path}: {size} bytes, over review.max_file_bytes ({limits.max_file_bytes}); "
            "split the file or raise the limit in params.yaml"
        )
    return parse(path.read_bytes(), str(path), limits, as_json=path.suffix.lower() == ".json")


def dump(overrides: dict[str, Override]) -> str:
    """The project's file: the header, then the entries sorted by image id (stable diffs)."""
    entries = [overrides[k].as_entry() for k in sorted(overrides) if overrides[k].decision != "rule"]
    body = yaml.safe_dump(
        {"version": FORMAT_VERSION, "overrides": entries}, sort_keys=False, allow_unicode=True, width=100
    )
    return HEADER + body


def write(path: Path, overrides: dict[str, Override]) -> None:
    atomic.write_text(path, dump(overrides))


def in_force(overrides: dict[str, Override]) -> dict[str, Override]:
    """Only the entries that set a decision (keep/reject)."""
    return {k: v for k, v in overrides.items() if v.decision in ("keep", "reject")}
