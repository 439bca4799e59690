"""Turn crawl params into one job per site: what the Scrapy subprocess needs, as a JSON file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adgen.config.crawl import CrawlParams, SiteParams
from adgen.errors import UserError


@dataclass(frozen=True)
class SiteJob:
    site: str
    spec: dict[str, Any]  # written to <state>/<site>.job.json
    job_file: Path
    journal: Path
    stats_file: Path
    log_file: Path
    jobdir: Path


def pick_sites(crawl: CrawlParams, names: list[str] | None) -> list[str]:
    """The sites to crawl: the named ones (enabled or not), else every enabled site."""
    if names:
        unknown = [n for n in names if n not in crawl.sites]
        if unknown:
            known = ", ".join(sorted(crawl.sites)) or "none"
            raise UserError(f"--site {unknown[0]}: no such site in crawl.sites (known: {known})")
        return list(dict.fromkeys(names))
    enabled = [n for n, s in crawl.sites.items() if s.enabled]
    if not enabled:
        raise UserError("crawl.sites: no enabled site; enable one or pass --site NAME")
    return enabled


def base_url(crawl: CrawlParams, site: SiteParams) -> str | None:
    if site.base_url:
        return site.base_url.rstrip("/")
    if crawl.base_url_override:
        return f"{crawl.base_url_override.rstrip('/')}/{site.spider}"
    return None


def politeness_settings(crawl: CrawlParams) -> dict[str, Any]:
    """crawl.* as Scrapy settings; also the defaults of a `scrapy crawl` run by hand (crawlers/settings.py)."""
    at = crawl.autothrottle
    return {
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "CONCURRENT_REQUESTS": crawl.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_requests_per_domain,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_image_bytes,
        "DOWNLOAD_WARNSIZE": min(crawl.warn_bytes, crawl.max_image_bytes),
        "RETRY_TIMES": crawl.retry_times,
        "RETRY_BACKOFF": crawl.retry_backoff,
        "AUTOTHROTTLE_ENABLED": at.enabled,
        "AUTOTHROTTLE_START_DELAY": at.start_delay,
        "AUTOTHROTTLE_MAX_DELAY": at.max_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": at.target_concurrency,
        "LOG_LEVEL": crawl.log_level,
    }


def scrapy_settings(crawl: CrawlParams, jobdir: Path, log_file: Path) -> dict[str, Any]:
    return {**politeness_settings(crawl), "JOBDIR": str(jobdir), "LOG_FILE": str(log_file)}


def build(
    crawl: CrawlParams,
    name: str,
    *,
    root: Path,
    raw_dir: Path,
    state: Path,
    seen_file: Path,
    max_images: int | None = None,
    store: dict[str, Any] | None = None,
) -> SiteJob:
    site = crawl.sites[name]
    url = base_url(crawl, site)
    if site.spider == "profile" and url is None:
        relative = [u for u in site.start_urls if not urlsplit(u).scheme]
        if relative:
            raise UserError(
                f"crawl.sites.{name}.start_urls: {relative[0]!r} is relative; set crawl.sites.{name}.base_url"
                " or crawl.base_url_override"
            )
    jobdir = state / "jobs" / name
    job = SiteJob(
        site=name,
        spec={},
        job_file=state / f"{name}.job.json",
        journal=state / "journals" / f"{name}.jsonl",
        stats_file=state / f"{name}.stats.json",
        log_file=state / f"{name}.log",
        jobdir=jobdir,
    )
    job.spec.update(
        {
            "site": name,
            "spider": site.spider,
            "base_url": url,
            "queries": site.queries if site.queries is not None else crawl.queries,
            "max_pages": site.max_pages or crawl.max_pages,
            "max_images": max_images or site.max_images or crawl.max_images,
            "allowed_domains": site.allowed_domains,
            "stop_when_page_known": site.stop_when_page_known,
            "start_urls": site.start_urls,
            "result_links": site.result_links,
            "next_page": site.next_page,
            "image_url": site.image_url,
            "title": site.title,
            "license": site.license,
            "root": str(root),
            "raw_dir": str(raw_dir),
            "store": store or {},  # dir, max_samples, max_bytes: where the pipeline packs images
            "journal": str(job.journal),
            "seen_file": str(seen_file),
            "stats_file": str(job.stats_file),
            "limits": {
                "content_types": list(crawl.content_types),
                "max_bytes": crawl.max_image_bytes,
                "max_pixels": crawl.max_pixels,
                "min_width": crawl.min_width,
                "min_height": crawl.min_height,
            },
            "settings": scrapy_settings(crawl, jobdir, job.log_file),
        }
    )
    return job
