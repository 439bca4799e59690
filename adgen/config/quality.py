"""metrics.*, generate.* and report.* params."""

from pathlib import Path

from pydantic import Field

from adgen.config.base import Section


class MetricsParams(Section):
    pass


class GenerateParams(Section):
    pass


class ReportParams(Section):
    """report/index.html: what the pipeline did, for a human to check at a glance."""

    title: str = "AdGen pipeline report"
    # Ground truth of the fixture stock site (`/ground-truth.json`), written by `make demo`;
    # when the file exists the report scores the filter against it. Unused for real sites.
    ground_truth: Path | None = None
    thumbnails: int = Field(24, ge=0)  # per contact sheet
    thumb_px: int = Field(96, ge=16)
