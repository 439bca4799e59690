"""review.*: where reviewers' keep/reject overrides of filter decisions live, and how big a file may be."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from adgen.config.base import Section


class ReviewParams(Section):
    # Git-tracked (small, written by people, diffable): a `deps:` of the filter stage in dvc.yaml,
    # which names the same path; move both together.
    overrides: Path = Path("review/overrides.yaml")
    max_file_bytes: int = Field(
        16 * 2**20, ge=1024, le=2**30, description="largest overrides file read (applied or posted)"
    )
    max_entries: int = Field(200_000, ge=1, le=10_000_000, description="most overrides in one file")
    max_note_chars: int = Field(2000, ge=0, le=100_000, description="longest reviewer note kept")
    serve_port: int = Field(8765, ge=0, le=65535, description="`adgen review serve` port (0: any free one)")
