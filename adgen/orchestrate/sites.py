"""Which sites a refresh crawls, and whether a site's crawl reached the site at all.

A flow asks two questions the crawl stage's own exit status does not answer: is every requested
site configured (a typo must fail the run at once, before any retry or concurrency limit is made),
and did a finished crawl get any successful answer from its site (a site that is down ends its
Scrapy process normally, with every request rejected as a connection error, which must not count
as a successful crawl).
"""

from __future__ import annotations

import json
from typing import Any

from adgen.config import Params
from adgen.errors import UserError


def requested_sites(params: Params, names: list[str] | None) -> list[str]:
    """The named sites (each must be in `crawl.sites`), else every enabled one."""
    configured = params.crawl.sites
    if names:
        unknown = [n for n in names if n not in configured]
        if unknown:
            known = ", ".join(sorted(configured)) or "none"
            raise UserError(f"site {unknown[0]!r} is not in crawl.sites of params.yaml (configured: {known})")
        return list(dict.fromkeys(names))
    enabled = [name for name, site in configured.items() if site.enabled]
    if not enabled:
        raise UserError("crawl.sites: no enabled site; enable one in params.yaml or name the sites")
    return enabled


def last_crawl(params: Params, site: str) -> dict[str, Any] | None:
    """The site's entry of crawl_stats.json (its last crawl), or None when it has none."""
    path = params.path(params.paths.raw) / "crawl_stats.json"
    try:
        stats = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    entry = (stats.get("sites") or {}).get(site) if isinstance(stats, dict) else None
    return entry if isinstance(entry, dict) else None


def unreachable(params: Params, site: str) -> str | None:
    """Why the site's last crawl counts as failed (no successful response at all), or None."""
    entry = last_crawl(params, site)
    if entry is None:
        return f"site {site!r}: the crawl left no stats for it in {params.paths.raw}/crawl_stats.json"
    ok = entry.get("responses_ok", entry.get("responses", 0))
    if int(ok or 0) > 0:
        return None
    return (
        f"site {site!r} answered no request successfully ({entry.get('requests', 0)} requests, "
        f"{entry.get('rejected', 0)} rejected; reasons in {params.paths.raw}/rejects.parquet)"
    )
