"""What the crawl already knows, so a refresh requests only new detail pages and images.

Known = in the manifest, in the rejects table with a permanent reason (a 404, a decompression bomb:
asking again will not help), or journalled by a crawl that was killed before its merge. Transient
failures (timeouts, 5xx) are tried again by the first run at least `retry_transient_after` after
them, so a refresh right after a crawl does not hammer a URL that just failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from adgen.crawl import journal
from adgen.crawl.failures import is_transient

if TYPE_CHECKING:  # pandas stays out of the Scrapy subprocess, which only loads `Seen`
    import pandas as pd


@dataclass
class Seen:
    image_urls: set[str] = field(default_factory=set)
    page_urls: set[str] = field(default_factory=set)
    image_ids: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, list[str]]:
        return {k: sorted(getattr(self, k)) for k in ("image_urls", "page_urls", "image_ids")}

    @classmethod
    def from_json(cls, data: dict[str, list[str]]) -> Seen:
        return cls(set(data["image_urls"]), set(data["page_urls"]), set(data["image_ids"]))

    def save(self, path: Path) -> None:
        from adgen import atomic

        atomic.write_text(path, json.dumps(self.to_json()))

    @classmethod
    def load(cls, path: str | Path) -> Seen:
        return cls.from_json(json.loads(Path(path).read_text()))


def _strings(col: pd.Series) -> set[str]:
    return {str(v) for v in col.dropna()}


def collect(
    manifest: pd.DataFrame,
    rejects: pd.DataFrame,
    journals: list[Path],
    retry_transient_after: timedelta = timedelta(hours=24),
    now: datetime | None = None,
) -> Seen:
    import pandas as pd

    seen = Seen()
    cutoff = pd.Timestamp(now or datetime.now(UTC)) - retry_transient_after
    if len(manifest):
        seen.image_urls |= _strings(manifest["source_url"])
        seen.page_urls |= _strings(manifest["page_url"])
        seen.image_ids |= _strings(manifest["image_id"])
    if len(rejects):
        transient = rejects["reason"].astype(str).map(is_transient)
        permanent = rejects[~transient | (pd.to_datetime(rejects["at"], utc=True) > cutoff)]
        seen.image_urls |= _strings(permanent["url"])
        # the failing URL, and the detail page it was found on (that page has been dealt with)
        seen.page_urls |= _strings(permanent["url"]) | _strings(permanent["page_url"])
    for path in journals:
        for kind, row in journal.read(path):
            if kind == journal.IMAGE:
                seen.image_urls.add(row["source_url"])
                if row.get("page_url"):
                    seen.page_urls.add(row["page_url"])
            else:  # a killed run's failures, however transient, are recent
                seen.image_urls.add(row["url"])
                seen.page_urls.add(row["url"])
                if row.get("page_url"):
                    seen.page_urls.add(row["page_url"])
    return seen
