"""What every stock-site spider shares: search pages → detail pages → an `ImageLead`.

A site spider only says how to build a search URL and where things are in its markup
(`search_results`, `next_page_url`, `detail`). This base class walks the pages: it skips detail
pages and images the crawl already knows (a refresh asks only for new ones), stops at the page and
image limits, keeps to the site's hosts, and turns every link it will not follow into a `Skip`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from adgen.crawl.failures import OFFSITE, classify_failure
from adgen.crawl.seen import Seen
from crawlers.items import ImageLead, Skip
from crawlers.middlewares import FrontierLost

# request.meta of search pages: the distributed crawl deduplicates them per crawl, not for good
# (a refresh must walk them again), crawlers/frontier.py
SEARCH_PAGE = "adgen_search"


@dataclass(frozen=True)
class Result:
    """One search result: its detail page (where title, licence and the largest preview are)."""

    detail_url: str | None
    image_url: str | None = None  # thumbnail/preview on the search page, used when there is no detail page
    title: str | None = None


@dataclass(frozen=True)
class Detail:
    image_url: str | None
    title: str | None = None
    license: str | None = None


def first(response: Response, *exprs: str) -> str | None:
    """The first non-empty match among CSS (`::attr`/`::text`) or XPath (`/…`, `(…`) expressions."""
    for expr in exprs:
        for value in select(response, expr):
            value = value.strip()
            if value:
                return value
    return None


def select(node: Any, expr: str) -> list[str]:
    sel = node.xpath(expr) if expr.lstrip().startswith(("/", "(", "./")) else node.css(expr)
    return sel.getall()


def real_src(img: Any) -> str | None:
    """An <img>'s image URL: `src`, or `data-src` when `src` is a lazy-load placeholder."""
    for attr in ("src", "data-src", "data-lazy-src"):
        value = (img.attrib.get(attr) or "").strip()
        if value and not value.startswith("data:"):
            return value
    return None


class StockSpider(scrapy.Spider):
    """Base of the site spiders; constructed by crawlers.run with the job written by the stage."""

    default_base_url: ClassVar[str] = ""
    # Crawled by default (crawl.sites unset): a site spider that needs nothing but its name.
    default_site: ClassVar[bool] = True
    default_allowed_domains: ClassVar[list[str]] = []

    def __init__(self, job: dict[str, Any] | str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(job, str):  # `scrapy crawl NAME -a job=data/raw/.crawl/NAME.job.json`
            with open(job, encoding="utf-8") as fh:
                job = json.load(fh)
        self.job: dict[str, Any] = job or {}  # empty: only URL building/parsing (unit tests)
        self.site: str = self.job.get("site", self.name)
        self.base_url: str = (self.job.get("base_url") or self.default_base_url).rstrip("/")
        host = urlsplit(self.base_url).hostname if self.base_url else None
        extra = self.job.get("allowed_domains") or []
        defaults = [] if self.job.get("base_url") else list(self.default_allowed_domains)
        self.allowed_domains = sorted({d for d in [host, *defaults, *extra] if d})
        self.queries: list[str] = list(self.job.get("queries") or [])
        self.max_pages: int = int(self.job.get("max_pages") or 1)
        self.max_images: int = int(self.job.get("max_images") or 1)
        self.stop_when_page_known: bool = bool(self.job.get("stop_when_page_known"))
        seen_file = self.job.get("seen_file")
        self.seen = Seen.load(seen_file) if seen_file else Seen()
        self.leads = 0  # detail pages requested (or leads yielded) in this run: bounded by max_images
        self.requested_details: set[str] = set()

    # -- what a site spider provides ------------------------------------------------------------
    def search_url(self, query: str, page: int) -> str:
        raise NotImplementedError

    def search_results(self, response: Response) -> list[Result]:
        raise NotImplementedError

    def next_page_url(self, response: Response, query: str, page: int) -> str | None:
        raise NotImplementedError

    def detail(self, response: Response) -> Detail:
        raise NotImplementedError

    # -- the walk --------------------------------------------------------------------------------
    def search_requests(self) -> list[tuple[str, str]]:
        """(query, url) of the first search page of each query."""
        return [(q, self.search_url(q, 1)) for q in self.queries]

    async def start(self):
        for query, url in self.search_requests():
            yield self._search_request(url, query, 1)

    def _search_request(self, url: str, query: str, page: int) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_search,
            errback=self.page_failed,
            cb_kwargs={"query": query, "page": page},
            priority=-page,
            meta={SEARCH_PAGE: True},
        )

    def known_elsewhere(self, url: str) -> bool:
        """A detail page known beyond this machine's manifest (a node of the distributed crawl: the
        cluster's seen-set in Redis, set by crawlers/frontier.py)."""
        return False

    def claim_lead(self) -> bool:
        """Count one more detail page for this run; False once `max_images` are claimed. A node of the
        distributed crawl replaces the count by the cluster's (crawlers/frontier.py)."""
        if self.leads >= self.max_images:
            return False
        self.leads += 1
        return True

    def in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        host = parts.hostname.lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def parse_search(self, response: Response, query: str, page: int):
        results = self.search_results(response)
        known = 0
        for result in results:
            target = result.detail_url or result.image_url
            if not target:
                continue
            url = response.urljoin(target)
            if (
                url in self.seen.page_urls
                or url in self.seen.image_urls
                or url in self.requested_details
                or (result.detail_url and self.known_elsewhere(url))
            ):
                known += 1  # stored, rejected for good, or already asked for in this run
                continue
            if not self.in_scope(url):
                self.requested_details.add(url)  # record the skip once per run
                yield Skip(
                    site=self.site,
                    url=url,
                    reason=OFFSITE,
                    detail="link leaves the site",
                    page_url=response.url,
                )
                continue
            if not self.claim_lead():
                return
            self.requested_details.add(url)
            if result.detail_url:
                yield scrapy.Request(
                    url,
                    callback=self.parse_detail,
                    errback=self.page_failed,
                    cb_kwargs={"query": query},
                    priority=10,
                )
            else:
                yield ImageLead(
                    site=self.site, query=query, image_url=url, page_url=response.url, title=result.title
                )
        if not results:
            return
        if self.stop_when_page_known and known == len(results):
            self.logger.info("every result on %s is known: stop paginating %r", response.url, query)
            return
        if page >= self.max_pages or self.leads >= self.max_images:  # (a cluster: this node's share)
            return
        nxt = self.next_page_url(response, query, page)
        if nxt:
            nxt = response.urljoin(nxt)
            if self.in_scope(nxt):
                yield self._search_request(nxt, query, page + 1)

    def parse_detail(self, response: Response, query: str):
        found = self.detail(response)
        if not found.image_url:
            yield Skip(
                site=self.site,
                url=response.url,
                reason="no_image_on_page",
                detail=None,
                page_url=response.url,
            )
            return
        url = response.urljoin(found.image_url)
        if not self.in_scope(url):
            yield Skip(
                site=self.site, url=url, reason=OFFSITE, detail="image on another host", page_url=response.url
            )
            return
        if url in self.seen.image_urls:
            return
        yield ImageLead(
            site=self.site,
            query=query,
            image_url=url,
            page_url=response.url,
            title=found.title,
            license=found.license,
        )

    def page_failed(self, failure):
        if failure.check(FrontierLost):
            return
        reason, detail = classify_failure(failure.value)
        request = failure.request
        yield Skip(site=self.site, url=request.url, reason=reason, detail=detail, page_url=request.url)
