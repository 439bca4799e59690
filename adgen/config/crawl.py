"""crawl.* params (owned by the crawl stage).

The defaults target the real stock sites with the product's queries. Tests, the demo and the
benchmark point the same spiders at the fixture stock site by setting `crawl.base_url_override`
(each site then lives at `<override>/<site name>`) or a site's own `base_url`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from adgen.config.base import Section


def _known_spider(name: str) -> str:
    """A spider name Scrapy's SpiderLoader finds in the project's SPIDER_MODULES (crawlers/discovery.py)."""
    from crawlers.discovery import settings_module, spiders

    found = spiders()
    if name not in found:
        raise ValueError(
            f"no spider named {name!r} in SPIDER_MODULES of {settings_module()}; available: {', '.join(found)}"
        )
    return name


def _default_sites() -> dict[str, SiteParams]:
    from crawlers.discovery import default_sites

    return {name: SiteParams(spider=name) for name in default_sites()}


class SiteParams(Section):
    """One site to crawl: a built-in spider, or `spider: profile` with selectors (no code needed).

    Selectors are CSS (`a.result::attr(href)`) or XPath (starting with `/` or `(`).
    `start_urls` may hold `{query}` (URL-encoded query) and may be relative to `base_url`.
    """

    spider: str  # a spider's `name` (crawlers/spiders, or any SPIDER_MODULES package)
    enabled: bool = True
    base_url: str | None = None  # None: the spider's real host (built-in) / absolute start_urls (profile)
    queries: list[str] | None = None  # None: crawl.queries
    max_pages: int | None = Field(default=None, ge=1)  # search pages per query; None: crawl.max_pages
    max_images: int | None = Field(default=None, ge=1)  # per site and run; None: crawl.max_images
    allowed_domains: list[str] = Field(default_factory=list)  # extra hosts (image CDNs); base host always
    # Results are listed newest first, so a search page whose every result is already known means the
    # rest are known too: stop paginating (refresh). Leave false where new items may appear anywhere.
    stop_when_page_known: bool = False
    # profile spider only
    start_urls: list[str] = Field(default_factory=list)
    result_links: str | None = None  # on search pages: detail page links
    next_page: str | None = None  # on search pages
    image_url: str | None = None  # on the detail page
    title: str | None = None
    license: str | None = None

    _spider_is_known = field_validator("spider")(_known_spider)

    @model_validator(mode="after")
    def _profile_needs_selectors(self) -> SiteParams:
        if self.spider == "profile":
            missing = [k for k in ("result_links", "image_url") if not getattr(self, k)]
            if not self.start_urls:
                missing.insert(0, "start_urls")
            if missing:
                raise ValueError(f"a profile site needs {', '.join(missing)}")
        return self


class AutoThrottleParams(Section):
    enabled: bool = True
    start_delay: float = Field(default=1.0, ge=0)
    max_delay: float = Field(default=30.0, ge=0)
    target_concurrency: float = Field(default=2.0, gt=0)


class ClusterParams(Section):
    """The distributed crawl (`crawl.frontier` set): knobs of the shared frontier in Redis.

    Politeness holds for the whole cluster, not per node: `crawl.download_delay` is the least time
    between two requests to one site from any node, `crawl.concurrent_requests_per_domain` the most
    requests in flight to one site from all nodes together; `crawl.concurrent_requests` is per node.
    """

    # A request a node took from the frontier goes back to it when the node has not renewed its lease
    # for this long (the node died); live nodes renew every third of it.
    lease_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    poll_seconds: float = Field(default=0.25, ge=0.01, le=10.0)  # an idle node looks for work this often
    # The seen-set that persists between crawls (what a refresh skips): `set` keeps every fingerprint
    # (exact; ~30 B each in Redis), `bloom` a fixed bitmap of bloom_capacity items at bloom_error_rate
    # false positives (a false positive is a new page never fetched).
    seen_filter: Literal["set", "bloom"] = "set"
    bloom_capacity: int = Field(default=10_000_000, ge=1_000, le=1_000_000_000)
    bloom_error_rate: float = Field(default=1e-6, ge=1e-12, le=0.1)

    @model_validator(mode="after")
    def _bloom_fits_one_redis_string(self) -> ClusterParams:
        from math import ceil, log

        bits = ceil(-self.bloom_capacity * log(self.bloom_error_rate) / log(2) ** 2)
        if self.seen_filter == "bloom" and bits > 2**32:
            raise ValueError(
                f"a Bloom filter of {self.bloom_capacity} items at {self.bloom_error_rate} needs {bits} bits;"
                " one Redis string holds 2^32: lower bloom_capacity or raise bloom_error_rate"
            )
        return self


class CrawlParams(Section):
    queries: list[str] = Field(
        default_factory=lambda: [
            "woman with handbag full body",
            "man with backpack",
            "person with suitcase",
        ]
    )
    # Default: every spider that needs no profile, as Scrapy's SpiderLoader finds them.
    sites: dict[str, SiteParams] = Field(default_factory=_default_sites)
    # Set to e.g. http://127.0.0.1:8000 to crawl the fixture stock site: site S lives at <override>/S.
    base_url_override: str | None = None
    max_pages: int = Field(default=20, ge=1)  # search pages per query and site
    max_images: int = Field(default=500, ge=1)  # new images per site and run
    # -- what counts as a usable photo --------------------------------------------------------------
    min_width: int = Field(default=256, ge=1)
    min_height: int = Field(default=256, ge=1)
    max_image_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)  # larger downloads are cancelled
    # Decompression-bomb guard at download. At most adgen.safety.MAX_PIXELS (120 MP): every later
    # stage refuses larger images, so a crawl must not store one.
    max_pixels: int = Field(default=40_000_000, ge=1, le=120_000_000)
    content_types: list[str] = Field(default_factory=lambda: ["image/jpeg", "image/png", "image/webp"])
    phash_threshold: int = Field(default=6, ge=0, le=64)  # hamming distance for near-duplicates
    # A URL that failed transiently (timeout, 5xx) is asked again only by a run this much later.
    retry_transient_after_hours: float = Field(default=24.0, ge=0)
    # -- politeness and robustness (Scrapy settings) -------------------------------------------------
    user_agent: str = "AdGenBot/0.1 (+https://github.com/adgen; research crawler for ad imagery)"
    obey_robots: bool = True
    processes: int | None = Field(default=None, ge=1)  # Scrapy processes; None: one per CPU core
    concurrent_requests: int = Field(default=16, ge=1)
    concurrent_requests_per_domain: int = Field(default=4, ge=1)
    download_delay: float = Field(default=0.5, ge=0)
    download_timeout: float = Field(default=30.0, gt=0)
    retry_times: int = Field(default=3, ge=0)
    retry_backoff: float = Field(default=1.0, ge=0)  # seconds; doubles on each retry
    autothrottle: AutoThrottleParams = Field(default_factory=AutoThrottleParams)
    warn_bytes: int = Field(default=5_000_000, ge=1024)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # -- the distributed crawl -----------------------------------------------------------------------
    # redis://host:port/db: `adgen crawl --node NAME` nodes share one frontier there (docs/crawl.md).
    # None: the single-machine crawl, which needs no Redis.
    frontier: str | None = Field(default=None, pattern=r"^rediss?://[^\s]+$", max_length=500)
    cluster: ClusterParams = Field(default_factory=ClusterParams)
